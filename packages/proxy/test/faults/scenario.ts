import type { LoadCounts, ServeProcess } from '@switchyard/testkit';
import { expect } from 'vitest';

/**
 * Health-check timing every fault scenario uses. Short, so a scenario takes seconds, and
 * with thresholds above 1 so "within the thresholds" is a real bound, not one check.
 */
export const HEALTH = Object.freeze({
  type: 'http',
  path: '/healthz',
  intervalMs: 200,
  timeoutMs: 200,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
});

/** The health monitor's default jitter (±10 % of the interval), from the health contract. */
export const JITTER = 0.1;

/**
 * Slack for process scheduling on a loaded two-core CI box: the test process, the proxy
 * and up to three backends share the CPUs while the load runs. Bounds below are the
 * configured figure plus this, never a multiple of it.
 */
export const SCHEDULING_SLACK_MS = 250;

/** Longest time from a backend's death to its being marked unhealthy: N failed checks, each one interval (+jitter) apart, the last one taking up to its timeout. */
export const UNHEALTHY_BOUND_MS =
  HEALTH.unhealthyThreshold * HEALTH.intervalMs * (1 + JITTER) + HEALTH.timeoutMs + SCHEDULING_SLACK_MS;

/** Longest time from a backend's return to its first request: N passing checks one interval (+jitter) apart. */
export const HEALTHY_BOUND_MS = HEALTH.healthyThreshold * HEALTH.intervalMs * (1 + JITTER) + SCHEDULING_SLACK_MS;

export interface UpstreamConfig {
  readonly backends: readonly string[];
  readonly health?: boolean;
  readonly outlier?: Readonly<Record<string, number>>;
  readonly peer?: Readonly<Record<string, unknown>>;
}

/** A `switchyard serve` config with one round-robin upstream `web`. */
export function serveConfig(
  port: number,
  upstream: UpstreamConfig,
  extra: Readonly<Record<string, unknown>> = {},
): unknown {
  return {
    listen: `127.0.0.1:${port}`,
    upstreams: {
      web: {
        backends: upstream.backends,
        selector: { type: 'round-robin' },
        ...(upstream.health === false ? {} : { health: HEALTH }),
        ...(upstream.outlier === undefined ? {} : { outlier: upstream.outlier }),
        peer: { connectionTimeout: 500, readTimeout: 2000, ...upstream.peer },
      },
    },
    retries: { maxAttempts: 3 },
    accessLog: true,
    logLevel: 'info',
    ...extra,
  };
}

/** A pino line's `time` in epoch ms (pino's default timestamp), or NaN. */
export function logTime(line: Record<string, unknown>): number {
  return typeof line.time === 'number' ? line.time : Number.NaN;
}

/** The access-log lines of a run: those carrying a numeric `attempts` field. */
export function accessLines(serve: ServeProcess): Record<string, unknown>[] {
  return serve.logs().filter((line) => typeof line.attempts === 'number');
}

/** Requests the proxy had to retry (more than one upstream attempt), from its access log. */
export function retriedFromLog(serve: ServeProcess): number {
  return accessLines(serve).filter((line) => (line.attempts as number) > 1).length;
}

/** Fills `counts.retried` from the proxy's access log and returns a one-line summary for failure messages. */
export function summarize(counts: LoadCounts, serve: ServeProcess): string {
  counts.retried = retriedFromLog(serve);
  const json = JSON.stringify(counts);
  // The figures docs/reliability.md quotes.
  console.info(`[${expect.getState().currentTestName ?? 'scenario'}] ${json}`);
  return json;
}

/** Log lines (health transitions) that mention `address` becoming unhealthy or healthy. */
export function transitions(serve: ServeProcess, address: string, healthy: boolean): Record<string, unknown>[] {
  return serve.logs().filter((line) => {
    const text = JSON.stringify(line);
    if (!text.includes(address) || typeof line.attempts === 'number') return false;
    if (typeof line.healthy === 'boolean') return line.healthy === healthy;
    return healthy ? /\bhealthy\b/i.test(text) && !/unhealthy/i.test(text) : /unhealthy/i.test(text);
  });
}
