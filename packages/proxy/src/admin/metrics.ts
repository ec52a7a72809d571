import type { HttpPeer } from '@switchyard/core';
import { resolveOptions } from '@switchyard/core';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Balancer } from '../balancer.js';
import type { AccessRecord } from '../internal/server/access-log.js';
import type { UpstreamObserver, UpstreamOutcome } from '../proxy-app.js';
import { BackendSeries, UpstreamSeries } from './backend-series.js';
import { registerFamilies } from './metric-families.js';
import { METRICS_DEFAULTS, type MetricsOptions, validateMetricsOptions } from './metrics-defaults.js';
import { exactClock, RollingWindow, sampledClock } from './rolling-window.js';
import type { RawBackend, StatusRaw, StatusRoute } from './status-model.js';

/** prom-client default metrics that are gauges with a `_total` suffix. */
const NOT_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Where requests of a backend no registered upstream holds are counted (label `upstream=""`). */
const UNREGISTERED = '';

/** Prometheus metrics and status-page data of one proxy process. */
export interface Metrics {
  /** The prom-client registry holding every metric (serve it, or merge it into yours). */
  readonly registry: Registry;
  /** Pass in `createProxyServer`'s `observers`: counts every attempt and request. */
  readonly observer: UpstreamObserver;
  /**
   * Labels the backends of `balancer` with upstream `name` and exports their health, ejection and
   * in-flight gauges and health-check counts. Replaces an upstream of the same name (a reload). A
   * backend id in several upstreams is counted under the first one added.
   */
  addUpstream(name: string, balancer: Balancer): void;
  /** Forgets upstream `name`; its series are removed at the next scrape. */
  removeUpstream(name: string): void;
  /** Makes the registered upstreams exactly `upstreams` (added, replaced, removed). */
  setUpstreams(upstreams: ReadonlyMap<string, Balancer>): void;
  /** The registered upstreams. */
  upstreams(): ReadonlyMap<string, Balancer>;
  /** The routes the status page lists. */
  setRoutes(routes: readonly StatusRoute[]): void;
  /** The Prometheus text exposition of {@link Metrics.registry}. */
  text(): Promise<string>;
  /** This process's status data; `listening`/`draining` come from the proxy server. */
  statusRaw(proxy: { readonly listening: boolean; readonly draining: boolean }): StatusRaw;
  /** Stops listening to the balancers' health checks and stops the window clock. */
  close(): void;
}

/**
 * Metrics for a proxy: `switchyard_*` counters, gauges and a histogram in a prom-client registry
 * (names and labels in the package README), fed by {@link Metrics.observer}. Per request it
 * writes plain numbers only (one map lookup by backend id, cached per backend); label sets are
 * built when scraped. Labels never come from request data: backends come from the balancers (or
 * the peers the app returns), codes from the status or the error code. Series of a backend that
 * left its upstream are removed at the next scrape once it has nothing in flight.
 *
 * @throws LbError `LB_ERR_INVALID_OPTION` for invalid options.
 */
export function createMetrics(options: Partial<MetricsOptions> = {}): Metrics {
  const o = resolveOptions('metrics', METRICS_DEFAULTS, options, validateMetricsOptions);
  const registry = new Registry();
  const startedAt = o.now();
  const balancers = new Map<string, Balancer>();
  const unsubscribe = new Map<string, () => void>();
  const series = new Map<string, UpstreamSeries>();
  /** The hot-path cache: backend id → the series its attempts count in. */
  const byBackend = new Map<string, BackendSeries>();
  const downstream = new Float64Array(1000);
  // The default clock is sampled (cheap per request); an injected one is read exactly.
  const clock = o.now === METRICS_DEFAULTS.now ? sampledClock(o.now) : exactClock(o.now);
  const downstreamWindow = new RollingWindow(o.windowSeconds, clock.second);
  let routes: readonly StatusRoute[] = [];

  function upstreamSeries(name: string): UpstreamSeries {
    let u = series.get(name);
    if (u === undefined) {
      u = new UpstreamSeries(name, o.durationBuckets);
      series.set(name, u);
    }
    return u;
  }

  function backendIn(upstream: string, id: string): BackendSeries {
    const u = upstreamSeries(upstream);
    let b = u.backends.get(id);
    if (b === undefined) {
      b = new BackendSeries(u, id, o.windowSeconds, clock.second);
      u.backends.set(id, b);
    }
    return b;
  }

  /** A cache miss only: the first registered upstream that has `id` as a member. */
  function backendSeries(id: string): BackendSeries {
    let b = byBackend.get(id);
    if (b !== undefined) return b;
    let owner = UNREGISTERED;
    for (const [name, balancer] of balancers) {
      if (balancer.backends().some((x) => x.id === id)) {
        owner = name;
        break;
      }
    }
    b = backendIn(owner, id);
    byBackend.set(id, b);
    return b;
  }

  /** Drops the series of backends that left their upstream (and of removed upstreams), once idle. */
  function prune(): void {
    for (const [name, u] of series) {
      const balancer = balancers.get(name);
      const members = balancer === undefined ? undefined : new Set(balancer.backends().map((b) => b.id));
      for (const [id, b] of u.backends) {
        const gone = name === UNREGISTERED ? balancers.size > 0 : members === undefined || !members.has(id);
        if (!gone || b.inflight > 0) continue;
        u.backends.delete(id);
        if (byBackend.get(id) === b) byBackend.delete(id);
      }
      if (u.backends.size === 0 && (name === UNREGISTERED || balancer === undefined)) series.delete(name);
    }
  }

  const observer: UpstreamObserver = {
    onStart(peer: HttpPeer) {
      backendSeries(peer.id).inflight++;
    },
    onHeaders(peer: HttpPeer, status: number, ms: number) {
      backendSeries(peer.id).answered(status, ms);
    },
    onFinish(peer: HttpPeer, _outcome: UpstreamOutcome, _ms: number, error?: string) {
      const b = backendSeries(peer.id);
      b.inflight--;
      if (error !== undefined) b.failed(error);
    },
    onRequestEnd(record: AccessRecord) {
      const status = record.status;
      const i = status >= 0 && status < 1000 ? status : 0;
      downstream[i] = (downstream[i] as number) + 1;
      if (status === 0 || status === 499) downstreamWindow.failed();
      else downstreamWindow.answered(record.durationMs, status >= 500);
      if (record.attempts > 1 || record.retryRefused === true) {
        const upstream =
          record.backend === undefined ? upstreamSeries(UNREGISTERED) : backendSeries(record.backend).upstream;
        upstream.retries += record.attempts - 1;
        if (record.retryRefused === true) upstream.retriesRefused++;
      }
    },
  };

  function addUpstream(name: string, balancer: Balancer): void {
    removeUpstream(name);
    balancers.set(name, balancer);
    upstreamSeries(name);
    unsubscribe.set(
      name,
      balancer.onCheck((backend, ok) => {
        const b = backendIn(name, backend.id);
        if (ok) b.checksPassed++;
        else b.checksFailed++;
      }),
    );
    // Ids cached under another (or no) upstream may belong here now.
    byBackend.clear();
  }

  function removeUpstream(name: string): void {
    unsubscribe.get(name)?.();
    unsubscribe.delete(name);
    if (balancers.delete(name)) byBackend.clear();
  }

  registerFamilies(registry, {
    prune,
    downstream: () => downstream,
    series: () => series.values(),
    balancers: () => balancers,
    inflight: (upstream, id) => series.get(upstream)?.backends.get(id)?.inflight ?? 0,
  });
  if (o.defaultMetrics) {
    collectDefaultMetrics({ register: registry, labels: { ...o.processLabels } });
    // Gauges named like counters, which `promtool check metrics` rejects; the per-type
    // `nodejs_active_handles` / `_requests` / `_resources` gauges carry the same counts.
    for (const name of NOT_COUNTERS) registry.removeSingleMetric(name);
  }

  return {
    registry,
    observer,
    addUpstream,
    removeUpstream,
    setUpstreams(next) {
      for (const name of [...balancers.keys()]) if (!next.has(name)) removeUpstream(name);
      for (const [name, balancer] of next) if (balancers.get(name) !== balancer) addUpstream(name, balancer);
    },
    upstreams: () => balancers,
    setRoutes(next) {
      routes = next.map((r) => ({ prefix: r.prefix, upstream: r.upstream, failover: [...r.failover] }));
    },
    text: () => registry.metrics(),
    statusRaw(proxy) {
      prune();
      const totals = downstreamWindow.totals();
      const idle = { seconds: totals.seconds, requests: 0, errors: 0, latency: [] };
      return {
        startedAt,
        listening: proxy.listening,
        draining: proxy.draining,
        routes,
        downstream: totals,
        upstreams: [...balancers].map(([name, balancer]) => ({
          name,
          backends: balancer.backends().map((backend): RawBackend => {
            const b = series.get(name)?.backends.get(backend.id);
            return {
              id: backend.id,
              healthy: balancer.health?.isHealthy(backend.id) ?? true,
              ejected: balancer.outlier?.isEjected(backend.id) ?? false,
              ready: balancer.isReady(backend.id),
              inflight: b?.inflight ?? 0,
              window: b === undefined ? idle : b.window.totals(),
            };
          }),
        })),
      };
    },
    close() {
      clock.stop();
      for (const name of [...balancers.keys()]) removeUpstream(name);
    },
  };
}
