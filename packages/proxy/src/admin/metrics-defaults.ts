import { checkInteger, invalidOption } from '@switchyard/core';

/** Options of `createMetrics`. */
export interface MetricsOptions {
  /** Also export prom-client's default process and Node.js metrics. @defaultValue true */
  readonly defaultMetrics: boolean;
  /** Labels added to the default process metrics only (e.g. `{ worker: '2' }`). @defaultValue {} */
  readonly processLabels: Readonly<Record<string, string>>;
  /** Upper bounds of `switchyard_upstream_request_duration_seconds`, seconds, ascending. @defaultValue Prometheus' default buckets */
  readonly durationBuckets: readonly number[];
  /** Span of the status page's rates, seconds. @defaultValue 60 */
  readonly windowSeconds: number;
  /**
   * Clock, ms since the epoch. The default is sampled every 100 ms (the status windows only need
   * the second); an injected clock is read on every request. @defaultValue Date.now
   */
  readonly now: () => number;
}

/** The defaults of {@link MetricsOptions}. */
export const METRICS_DEFAULTS: MetricsOptions = Object.freeze({
  defaultMetrics: true,
  processLabels: Object.freeze({}),
  // Prometheus' client libraries' default histogram buckets.
  durationBuckets: Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  windowSeconds: 60,
  now: Date.now,
});

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws `LB_ERR_INVALID_OPTION` naming the first bad option. */
export function validateMetricsOptions(o: MetricsOptions): void {
  if (typeof o.defaultMetrics !== 'boolean') invalidOption('metrics defaultMetrics', 'true or false', o.defaultMetrics);
  if (typeof o.processLabels !== 'object' || o.processLabels === null) {
    invalidOption('metrics processLabels', 'an object of label names to strings', o.processLabels);
  }
  for (const [name, value] of Object.entries(o.processLabels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__') || typeof value !== 'string') {
      invalidOption(`metrics processLabels.${name}`, 'a Prometheus label name with a string value', value);
    }
  }
  const b = o.durationBuckets;
  if (
    !Array.isArray(b) ||
    b.length === 0 ||
    !b.every((x, i) => typeof x === 'number' && Number.isFinite(x) && x > 0 && (i === 0 || x > (b[i - 1] as number)))
  ) {
    invalidOption('metrics durationBuckets', 'a non-empty ascending array of finite numbers > 0', b);
  }
  checkInteger('metrics windowSeconds', o.windowSeconds, 1, 3600);
  if (typeof o.now !== 'function') invalidOption('metrics now', 'a function returning ms since the epoch', o.now);
}
