import { type Backend, backend, invalidOption } from '@switchyard/core';

/** What `switchyard simulate` runs; every field has a CLI flag of the same name in kebab-case. */
export interface SimulateOptions {
  /** Selector names to run side by side (`--selector` gives one, `--compare` several). */
  readonly selectors: readonly string[];
  /** Number of backends. @defaultValue 100 */
  readonly backends: number;
  /** Distinct keys for the share and movement analysis. @defaultValue 1000000 */
  readonly keys: number;
  /** Backend weights, cycled over the backends (`[1]` = all equal). @defaultValue [1] */
  readonly weights: readonly number[];
  /** Backends removed for the movement analysis. @defaultValue 1 */
  readonly remove: number;
  /** Backends added for the movement analysis. @defaultValue 0 */
  readonly add: number;
  /** The heterogeneous backend model of the load simulation. @defaultValue {@link DEFAULT_LATENCY_MODEL} */
  readonly latencyModel: LatencyModel;
  /** Requests replayed through the load simulation; 0 skips it. @defaultValue 200000 */
  readonly requests: number;
  /** Offered load as a fraction of the pool's total capacity. @defaultValue 0.7 */
  readonly utilization: number;
  /** Workers per unit of weight on each backend (a busy backend queues). @defaultValue 4 */
  readonly concurrency: number;
  /** Zipf exponent of key popularity in the load simulation; 0 is uniform. @defaultValue 0 */
  readonly zipf: number;
  /** Seed of every random choice (workload and selectors). @defaultValue 1 */
  readonly seed: number;
}

/**
 * Per-backend mean service times: `mean` ms for most backends and `slowMean` ms for
 * a `slowFraction` of them (the first ⌈fraction × n⌉ in id order). Service times are
 * exponential; each backend has `concurrency × weight` workers and queues beyond that.
 */
export interface LatencyModel {
  readonly mean: number;
  readonly slowFraction: number;
  readonly slowMean: number;
}

/** 10 ms backends with one in ten five times slower. */
export const DEFAULT_LATENCY_MODEL: LatencyModel = Object.freeze({ mean: 10, slowFraction: 0.1, slowMean: 50 });

/** Defaults for {@link SimulateOptions}. */
export const SIMULATE_DEFAULTS: Readonly<SimulateOptions> = Object.freeze({
  selectors: Object.freeze(['maglev']),
  backends: 100,
  keys: 1_000_000,
  weights: Object.freeze([1]),
  remove: 1,
  add: 0,
  latencyModel: DEFAULT_LATENCY_MODEL,
  requests: 200_000,
  utilization: 0.7,
  concurrency: 4,
  zipf: 0,
  seed: 1,
});

/**
 * Parses `--latency-model MEAN[,FRACTION:SLOWMEAN]`, e.g. `10` (all 10 ms) or
 * `10,0.1:50` (10 ms, one in ten at 50 ms). Throws `LB_ERR_INVALID_OPTION`.
 */
export function parseLatencyModel(text: string): LatencyModel {
  const match = /^\s*(\d+(?:\.\d+)?)(?:ms)?\s*(?:,\s*(\d*(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)(?:ms)?\s*)?$/.exec(text);
  if (match === null) invalidOption('--latency-model', 'MEAN[,FRACTION:SLOWMEAN] in ms, e.g. "10,0.1:50"', text);
  const mean = Number(match[1]);
  const slowFraction = match[2] === undefined ? 0 : Number(match[2]);
  const slowMean = match[3] === undefined ? mean : Number(match[3]);
  if (!(mean > 0) || !(slowMean > 0)) invalidOption('--latency-model', 'means > 0 ms', text);
  if (!(slowFraction >= 0 && slowFraction <= 1)) invalidOption('--latency-model', 'a slow fraction from 0 to 1', text);
  return Object.freeze({ mean, slowFraction, slowMean });
}

/** Parses `--weights 1,1,2` (cycled over the backends). */
export function parseWeights(text: string): number[] {
  const weights = text.split(',').map((w) => Number(w.trim()));
  if (weights.length === 0 || weights.some((w) => !Number.isSafeInteger(w) || w < 1)) {
    invalidOption('--weights', 'a comma-separated list of integers >= 1, e.g. "1,1,2"', text);
  }
  return weights;
}

/** Backend number `i` of the simulated pool: `10.a.b.c:8080` with the cycled weight. */
export function simulatedBackend(i: number, weights: readonly number[]): Backend {
  const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`;
  return backend(address, weights[i % weights.length]!);
}
