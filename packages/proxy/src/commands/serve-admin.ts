import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { ADMIN_LISTEN_DEFAULTS } from '../admin/admin-defaults.js';
import type { AdminServer } from '../admin/admin-http.js';
import { createAdminServer, processStatus } from '../admin/admin-server.js';
import { answerPrimary, serveClusterAdmin } from '../admin/cluster-admin.js';
import { createMetrics, type Metrics } from '../admin/metrics.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { ConfiguredApp } from '../config/runtime.js';
import type { ProxyServer, UpstreamObserver } from '../proxy-app.js';
import { errorText } from './command.js';

/** The admin side of one `serve` process: metrics always (when `admin` is configured), a listener unless a worker. */
export interface ServeAdmin {
  /** Observers to add to the proxy server. */
  readonly observers: readonly UpstreamObserver[];
  /** Starts the listener (or, in a worker, answering the primary); resolves with its URL, if it listens. */
  start(configured: ConfiguredApp, proxy: ProxyServer): Promise<string | undefined>;
  /** After a reload: the new balancers and routes. */
  sync(configured: ConfiguredApp, config: ResolvedConfig): void;
  close(): Promise<void>;
}

function urlOf(address: { host: string; port: number }): string {
  return `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/** What `serve` runs for `config.admin` in this process (nothing when it is off). */
export function serveAdmin(config: ResolvedConfig): ServeAdmin {
  const a = config.admin;
  if (a === undefined) {
    return { observers: [], start: async () => undefined, sync() {}, close: async () => {} };
  }
  const worker = cluster.isWorker ? cluster.worker : undefined;
  const metrics: Metrics = createMetrics(worker === undefined ? {} : { processLabels: { worker: String(worker.id) } });
  let server: AdminServer | undefined;
  let stopAnswering: (() => void) | undefined;
  const sync = (configured: ConfiguredApp, c: ResolvedConfig) => {
    metrics.setUpstreams(configured.balancers());
    metrics.setRoutes(c.routes);
  };
  return {
    observers: [metrics.observer],
    async start(configured, proxy) {
      sync(configured, config);
      if (worker !== undefined) {
        stopAnswering = answerPrimary(metrics, () => processStatus(metrics, proxy));
        return undefined;
      }
      server = createAdminServer({ metrics, proxy, host: a.host, port: a.port, token: a.token });
      return urlOf(await server.listen());
    },
    sync,
    async close() {
      stopAnswering?.();
      await server?.close();
      metrics.close();
    },
  };
}

/** The cluster primary's admin listener for `config.admin`; logs its URL (or why it could not listen). */
export function servePrimaryAdmin(config: ResolvedConfig, logger: Logger): AdminServer | undefined {
  const a = config.admin;
  if (a === undefined) return undefined;
  const server = serveClusterAdmin({ ...ADMIN_LISTEN_DEFAULTS, host: a.host, port: a.port, token: a.token });
  server.listen().then(
    (address) => logAdmin(logger, urlOf(address)),
    (err: unknown) => logger.error({ err: errorText(err) }, `admin cannot listen on ${a.host}:${a.port}`),
  );
  return server;
}

/** Logged once the admin listener is up. */
export function logAdmin(logger: Logger, url: string | undefined): void {
  if (url !== undefined)
    logger.info({ admin: url, status: `${url}/status`, metrics: `${url}/metrics` }, 'admin listening');
}
