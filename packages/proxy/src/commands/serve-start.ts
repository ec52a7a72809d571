import type { Logger } from 'pino';
import type { ConfigIssue } from '../config/issues.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { type ConfiguredApp, createConfiguredApp, type HealthSource } from '../config/runtime.js';
import { proxyServerOptions, serverIssue } from '../config/server-options.js';
import type { ProxyServer, UpstreamObserver } from '../proxy-app.js';
import { createProxyServer } from '../proxy-server.js';
import { errorText } from './command.js';

/** A proxy that `serve` started: its balancers, its server and the address it listens on. */
export interface Serving {
  readonly configured: ConfiguredApp;
  readonly proxy: ProxyServer;
  readonly address: { host: string; port: number };
}

/**
 * Builds and starts what `config` describes: balancers (waiting for their first discovery and
 * health checks), the proxy server, then the listening socket. A failure at any step is returned
 * as config problems named by the path they come from (`upstreams.web.discovery`,
 * `server.headersTimeout`, `listen`), after what was built is closed again. With `fallbackPort`
 * a taken listen port falls back to any free port (the embedded default). With `healthSource`
 * (a `--workers` worker) health and outlier state come from the primary's shared view. `observers` are added
 * to the server's (metrics). With `accessLines`, the access log (when `config.accessLog` is on) is
 * written by that observer instead of the server's pino logger.
 */
export async function startServing(
  config: ResolvedConfig,
  logger: Logger,
  fallbackPort: boolean,
  healthSource?: HealthSource,
  observers: readonly UpstreamObserver[] = [],
  accessLines?: UpstreamObserver,
): Promise<Serving | { issues: ConfigIssue[] }> {
  let configured: ConfiguredApp;
  try {
    configured = createConfiguredApp(config, { logger, ...(healthSource === undefined ? {} : { healthSource }) });
  } catch (err) {
    return { issues: [await whichUpstream(config, err)] };
  }
  const issues = await notReady(configured, config);
  if (issues.length > 0) {
    await configured.close();
    return { issues };
  }
  let proxy: ProxyServer;
  try {
    const options = proxyServerOptions(config, configured.observer, logger);
    const all = [...(options.observers ?? []), ...observers];
    const direct = accessLines !== undefined && config.accessLog;
    proxy = createProxyServer(configured.app, {
      ...options,
      ...(direct ? { accessLog: false } : {}),
      observers: direct ? [...all, accessLines] : all,
    });
  } catch (err) {
    await configured.close();
    return { issues: [serverIssue(errorText(err))] };
  }
  const { host, port } = config.listen;
  try {
    return { configured, proxy, address: await proxy.listen(port, host) };
  } catch (err) {
    if (fallbackPort && (err as { code?: unknown }).code === 'EADDRINUSE') {
      return { configured, proxy, address: await proxy.listen(0, host) };
    }
    await Promise.all([proxy.close({ deadlineMs: 0 }), configured.close()]);
    return { issues: [{ path: 'listen', message: `cannot listen on ${host}:${port} (${errorText(err)})` }] };
  }
}

/** Every upstream whose first discovery failed, at `upstreams.<name>.discovery` (or `upstreams.<name>`). */
export async function notReady(configured: ConfiguredApp, config: ResolvedConfig): Promise<ConfigIssue[]> {
  const entries = [...configured.balancers()];
  const settled = await Promise.allSettled(entries.map(([, balancer]) => balancer.ready()));
  const issues: ConfigIssue[] = [];
  settled.forEach((result, i) => {
    const name = entries[i]?.[0] ?? '';
    if (result.status === 'fulfilled') return;
    const where = config.upstreams[name]?.discovery === undefined ? `upstreams.${name}` : `upstreams.${name}.discovery`;
    issues.push({ path: where, message: errorText(result.reason) });
  });
  return issues;
}

/** Names the upstream whose balancer cannot be built, by building each one alone. */
async function whichUpstream(config: ResolvedConfig, err: unknown): Promise<ConfigIssue> {
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    try {
      await createConfiguredApp({ ...config, upstreams: { [name]: upstream }, routes: [] }).close();
    } catch (alone) {
      return { path: `upstreams.${name}`, message: errorText(alone) };
    }
  }
  return { path: 'upstreams', message: errorText(err) };
}
