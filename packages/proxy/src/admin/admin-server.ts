import { invalidOption, resolveOptions } from '@switchyard/core';
import type { ProxyServer } from '../proxy-app.js';
import { ADMIN_LISTEN_DEFAULTS, type AdminListenOptions, validateAdminListen } from './admin-defaults.js';
import { type AdminServer, serveAdmin } from './admin-http.js';
import type { Metrics } from './metrics.js';
import { type StatusRaw, statusDocument } from './status-model.js';

/** Options of {@link createAdminServer}: what to serve, and where ({@link AdminListenOptions}). */
export interface AdminServerOptions extends Partial<AdminListenOptions> {
  /** The metrics to serve (from `createMetrics`), whose observer the proxy server has. */
  readonly metrics: Metrics;
  /**
   * The proxy server: `/readyz` is 503 until it listens and once it closes (drains).
   * @defaultValue undefined (readiness from the upstreams alone)
   */
  readonly proxy?: ProxyServer;
}

/** The status data of one process: `metrics` plus the proxy server's listening and draining state. */
export function processStatus(metrics: Metrics, proxy: ProxyServer | undefined): StatusRaw {
  return metrics.statusRaw({
    listening: proxy === undefined || proxy.server.listening,
    draining: proxy?.draining === true,
  });
}

/**
 * An admin listener, separate from traffic, serving `GET /metrics` (Prometheus text),
 * `/status` (a self-refreshing HTML page), `/status.json`, `/healthz` (200 while the process runs)
 * and `/readyz` (200 when the proxy listens, is not draining and every upstream has a ready
 * backend; else 503). With a `token`, every request without it gets 401; a non-loopback `host`
 * requires one. It never proxies. Call `listen()` to start it.
 *
 * @throws LbError `LB_ERR_INVALID_OPTION` for invalid options (a non-loopback host without a token included).
 */
export function createAdminServer(options: AdminServerOptions): AdminServer {
  if (typeof options !== 'object' || options === null) invalidOption('createAdminServer options', 'an object', options);
  const { metrics, proxy, ...listen } = options;
  if (typeof metrics?.statusRaw !== 'function' || typeof metrics.text !== 'function') {
    invalidOption('admin server metrics', 'a Metrics object from createMetrics()', metrics);
  }
  if (proxy !== undefined && typeof proxy?.server?.listening !== 'boolean') {
    invalidOption('admin server proxy', 'a ProxyServer from createProxyServer()', proxy);
  }
  const o = resolveOptions('admin server', ADMIN_LISTEN_DEFAULTS, listen, validateAdminListen);
  return serveAdmin(o, {
    metrics: () => metrics.text(),
    status: async () => statusDocument(processStatus(metrics, proxy), 1),
  });
}
