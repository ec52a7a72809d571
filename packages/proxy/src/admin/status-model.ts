import { quantileMs, sumTotals, type WindowTotals } from './rolling-window.js';

/** A route as the status page lists it. */
export interface StatusRoute {
  readonly prefix: string;
  readonly upstream: string;
  readonly failover: readonly string[];
}

/** One backend's state and last-minute totals in one process; plain data, so workers can send it. */
export interface RawBackend {
  readonly id: string;
  readonly healthy: boolean;
  readonly ejected: boolean;
  readonly ready: boolean;
  readonly inflight: number;
  readonly window: WindowTotals;
}

/** What one process knows for the status page, before rates and quantiles are computed. */
export interface StatusRaw {
  /** Process start, ms since the epoch. */
  readonly startedAt: number;
  readonly listening: boolean;
  readonly draining: boolean;
  readonly routes: readonly StatusRoute[];
  readonly downstream: WindowTotals;
  readonly upstreams: readonly { readonly name: string; readonly backends: readonly RawBackend[] }[];
}

/** Rates over the last minute; `p99Ms` is null without samples. */
export interface StatusRates {
  /** Requests per second, averaged over `windowSeconds`. */
  readonly rps: number;
  /** Failed share of the requests (5xx or no response), 0–1; 0 without requests. */
  readonly errorRate: number;
  /** 99th percentile of the time to response headers, ms (upper bound of its histogram bucket). */
  readonly p99Ms: number | null;
}

/** One backend in `/status.json`. */
export interface StatusBackend extends StatusRates {
  readonly id: string;
  /** Passes its active health checks (true without checks). With workers: in every worker. */
  readonly healthy: boolean;
  /** Ejected by outlier detection (in any worker). */
  readonly ejected: boolean;
  /** Healthy, enabled and not ejected: it gets traffic. */
  readonly ready: boolean;
  /** Attempts in flight now (summed over workers). */
  readonly inflight: number;
}

/** The document `GET /status.json` returns (schema `version` 1). */
export interface StatusDocument {
  readonly version: 1;
  /** When it was made, ISO 8601. */
  readonly generatedAt: string;
  readonly uptimeSeconds: number;
  /** Processes it covers: 1, or the workers that answered. */
  readonly workers: number;
  /** Listening, not draining, and every upstream has a ready backend (as `/readyz`). */
  readonly ready: boolean;
  readonly draining: boolean;
  /** Span of the rates, s: a minute, or less right after start. */
  readonly windowSeconds: number;
  readonly downstream: StatusRates;
  readonly routes: readonly StatusRoute[];
  readonly upstreams: readonly {
    readonly name: string;
    readonly readyBackends: number;
    readonly backends: readonly StatusBackend[];
  }[];
}

/** True when `raw` is listening, not draining, and every upstream has at least one ready backend. */
export function isReady(raw: StatusRaw): boolean {
  return raw.listening && !raw.draining && raw.upstreams.every((u) => u.backends.some((b) => b.ready));
}

/**
 * The processes' raw states as one: counts and in-flight summed, a backend healthy only when
 * every process sees it healthy, ejected (or unready) when any does; the routes of the first.
 */
export function mergeRaw(raws: readonly StatusRaw[]): StatusRaw {
  const first = raws[0];
  if (first === undefined) {
    return {
      startedAt: Date.now(),
      listening: false,
      draining: false,
      routes: [],
      downstream: sumTotals([]),
      upstreams: [],
    };
  }
  const upstreams = new Map<string, Map<string, RawBackend[]>>();
  for (const raw of raws) {
    for (const u of raw.upstreams) {
      let backends = upstreams.get(u.name);
      if (backends === undefined) {
        backends = new Map();
        upstreams.set(u.name, backends);
      }
      for (const b of u.backends) {
        const seen = backends.get(b.id);
        if (seen === undefined) backends.set(b.id, [b]);
        else seen.push(b);
      }
    }
  }
  return {
    startedAt: Math.min(...raws.map((r) => r.startedAt)),
    listening: raws.every((r) => r.listening),
    draining: raws.some((r) => r.draining),
    routes: first.routes,
    downstream: sumTotals(raws.map((r) => r.downstream)),
    upstreams: [...upstreams].map(([name, backends]) => ({
      name,
      backends: [...backends].map(([id, all]) => ({
        id,
        healthy: all.every((b) => b.healthy),
        ejected: all.some((b) => b.ejected),
        ready: all.every((b) => b.ready),
        inflight: all.reduce((n, b) => n + b.inflight, 0),
        window: sumTotals(all.map((b) => b.window)),
      })),
    })),
  };
}

function rates(t: WindowTotals): StatusRates {
  return {
    rps: Math.round((t.requests / t.seconds) * 100) / 100,
    errorRate: t.requests === 0 ? 0 : Math.round((t.errors / t.requests) * 10000) / 10000,
    p99Ms: quantileMs(t.latency, 0.99),
  };
}

/** The `/status.json` document of `raw` (one process's, or {@link mergeRaw}'s of several). */
export function statusDocument(raw: StatusRaw, workers: number, now = Date.now()): StatusDocument {
  return {
    version: 1,
    generatedAt: new Date(now).toISOString(),
    uptimeSeconds: Math.max(0, Math.round((now - raw.startedAt) / 1000)),
    workers,
    ready: isReady(raw),
    draining: raw.draining,
    windowSeconds: raw.downstream.seconds,
    downstream: rates(raw.downstream),
    routes: raw.routes,
    upstreams: raw.upstreams.map((u) => ({
      name: u.name,
      readyBackends: u.backends.filter((b) => b.ready).length,
      backends: u.backends.map((b) => ({
        id: b.id,
        healthy: b.healthy,
        ejected: b.ejected,
        ready: b.ready,
        inflight: b.inflight,
        ...rates(b.window),
      })),
    })),
  };
}
