import type { Registry } from 'prom-client';
import type { Balancer } from '../balancer.js';
import type { UpstreamSeries } from './backend-series.js';

/** One sample as prom-client's registry takes it. */
interface Sample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

/** How workers' values are combined by prom-client's cluster aggregator. */
type Aggregator = 'sum' | 'min' | 'max';

/** What the families read when scraped. */
export interface FamilySource {
  /** Drops the series of backends that left (called once per scrape). */
  prune(): void;
  /** Responses to clients by status (index). */
  downstream(): Float64Array;
  series(): Iterable<UpstreamSeries>;
  balancers(): ReadonlyMap<string, Balancer>;
  inflight(upstream: string, backend: string): number;
}

/**
 * A metric prom-client's registry serves like its own (it calls `get()` when scraped, also for the
 * cluster aggregator): the values come from the plain counters of the series, so nothing on the
 * request path goes through prom-client's label hashing.
 */
function family(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'gauge' | 'histogram',
  aggregator: Aggregator,
  values: () => Sample[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator,
    get: async () => ({ name, help, type, aggregator, values: values() }),
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

/** Registers every `switchyard_*` metric (names, types and labels as the package README lists them). */
export function registerFamilies(registry: Registry, source: FamilySource): void {
  family(
    registry,
    'switchyard_downstream_requests_total',
    'Responses to clients, by status code (499: the client went away first).',
    'counter',
    'sum',
    () => {
      source.prune();
      const out: Sample[] = [];
      const counts = source.downstream();
      for (let code = 0; code < counts.length; code++) {
        const n = counts[code] as number;
        if (n > 0) out.push({ value: n, labels: { code: String(code) } });
      }
      return out;
    },
  );
  family(
    registry,
    'switchyard_upstream_requests_total',
    'Attempts sent to each backend, by the status it answered.',
    'counter',
    'sum',
    () => {
      const out: Sample[] = [];
      for (const u of source.series()) {
        for (const b of u.backends.values()) {
          const counts = b.byStatus;
          for (let code = 0; code < counts.length; code++) {
            const n = counts[code] as number;
            if (n > 0) out.push({ value: n, labels: { upstream: u.name, backend: b.id, code: String(code) } });
          }
        }
      }
      return out;
    },
  );
  family(
    registry,
    'switchyard_upstream_errors_total',
    'Attempts that got no response, by LB_ERR_* code.',
    'counter',
    'sum',
    () => {
      const out: Sample[] = [];
      for (const u of source.series()) {
        for (const b of u.backends.values()) {
          for (const [error, n] of b.errors) out.push({ value: n, labels: { upstream: u.name, backend: b.id, error } });
        }
      }
      return out;
    },
  );
  const duration = 'switchyard_upstream_request_duration_seconds';
  family(
    registry,
    duration,
    'Time from sending an attempt to its response headers, seconds.',
    'histogram',
    'sum',
    () => {
      const out: Sample[] = [];
      for (const u of source.series()) {
        let cumulative = 0;
        for (let i = 0; i < u.bounds.length; i++) {
          cumulative += u.bucketCounts[i] as number;
          out.push({
            value: cumulative,
            labels: { le: u.bounds[i] as number, upstream: u.name },
            metricName: `${duration}_bucket`,
          });
        }
        out.push({
          value: u.durationCount,
          labels: { le: '+Inf', upstream: u.name },
          metricName: `${duration}_bucket`,
        });
        out.push({ value: u.durationSum, labels: { upstream: u.name }, metricName: `${duration}_sum` });
        out.push({ value: u.durationCount, labels: { upstream: u.name }, metricName: `${duration}_count` });
      }
      return out;
    },
  );
  family(
    registry,
    'switchyard_retries_total',
    'Attempts after the first, per request, by the upstream of its last attempt.',
    'counter',
    'sum',
    () => [...source.series()].map((u) => ({ value: u.retries, labels: { upstream: u.name } })),
  );
  family(
    registry,
    'switchyard_retries_refused_total',
    'Retries the retry budget refused (the request ended with the failure it would have retried).',
    'counter',
    'sum',
    () => [...source.series()].map((u) => ({ value: u.retriesRefused, labels: { upstream: u.name } })),
  );
  const perMember = (read: (b: Balancer, upstream: string, id: string) => number): Sample[] => {
    const out: Sample[] = [];
    for (const [upstream, balancer] of source.balancers()) {
      for (const b of balancer.backends())
        out.push({ value: read(balancer, upstream, b.id), labels: { upstream, backend: b.id } });
    }
    return out;
  };
  family(
    registry,
    'switchyard_backend_healthy',
    '1 when the backend passes its active health checks (1 without checks), else 0.',
    'gauge',
    'min',
    () => perMember((b, _u, id) => (b.health === undefined || b.health.isHealthy(id) ? 1 : 0)),
  );
  family(
    registry,
    'switchyard_backend_ejected',
    '1 while outlier detection ejects the backend, else 0.',
    'gauge',
    'max',
    () => perMember((b, _u, id) => (b.outlier?.isEjected(id) === true ? 1 : 0)),
  );
  family(registry, 'switchyard_backend_inflight', 'Attempts to the backend in flight now.', 'gauge', 'sum', () =>
    perMember((_b, u, id) => source.inflight(u, id)),
  );
  family(
    registry,
    'switchyard_health_checks_total',
    'Active health checks of the backend, by result (pass or fail).',
    'counter',
    'sum',
    () => {
      const out: Sample[] = [];
      for (const u of source.series()) {
        for (const b of u.backends.values()) {
          if (b.checksPassed + b.checksFailed === 0) continue;
          out.push({ value: b.checksPassed, labels: { upstream: u.name, backend: b.id, result: 'pass' } });
          out.push({ value: b.checksFailed, labels: { upstream: u.name, backend: b.id, result: 'fail' } });
        }
      }
      return out;
    },
  );
}
