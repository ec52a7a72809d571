import type { SelectorFactory } from '@switchyard/core';
import fc from 'fast-check';
import { arbBackends } from './arbitraries.js';
import { build, type CommonLawOptions, check, DEFAULT_SEED, runLaw } from './run.js';

/** Options of {@link checkBalance}. */
export interface BalanceOptions<O> extends CommonLawOptions<O> {
  /**
   * Largest allowed relative deviation of a backend's first-pick count from its
   * weight share, `|count / expected − 1|`. See {@link checkBalance} for how to derive it.
   */
  readonly tolerance: number;
  /** Distinct keys selected per run. @defaultValue 20000 */
  readonly keysPerRun?: number;
}

// The default backend lists of checkBalance and checkFailoverSpread: 2–16 backends of weight
// 1–4, so the smallest share is 1 / (1 + 15·4) = 1/61 and the smallest weight is 1 (what
// balanceTolerance assumes). Not exported from the testing entry point.
export const BALANCE_BACKENDS = Object.freeze({ min: 2, max: 16, weights: Object.freeze({ min: 1, max: 4 }) });

/** Inputs of {@link balanceTolerance}; each defaults to what {@link checkBalance} uses by default. */
export interface ToleranceInputs {
  /** Ring points per unit of weight; `Infinity` for selectors with no ring (exact or hash-per-key). @defaultValue Infinity */
  readonly pointsPerWeight?: number;
  /** Keys per run, K. @defaultValue 20000 */
  readonly keysPerRun?: number;
  /** Smallest weight share among the backends, p_min. @defaultValue 1/61 (2–16 backends of weight 1–4) */
  readonly minShare?: number;
  /** Smallest backend weight, w_min. @defaultValue 1 */
  readonly minWeight?: number;
  /** Standard deviations allowed. @defaultValue 4.5 (under 1% false alarms over ~2,000 backend-runs) */
  readonly z?: number;
}

/**
 * The `tolerance` for {@link checkBalance} derived as its doc explains:
 * `z · √(1/(P·w_min) + 1/(K·p_min))`. With the defaults: 0.25 with no ring (sampling noise
 * alone), 0.43 for the nginx ring (P = 160), 0.75 for a 40-point ring.
 */
export function balanceTolerance(inputs: ToleranceInputs = {}): number {
  const { pointsPerWeight = Number.POSITIVE_INFINITY, keysPerRun = 20_000, minShare = 1 / 61 } = inputs;
  const { minWeight = 1, z = 4.5 } = inputs;
  return z * Math.sqrt(1 / (pointsPerWeight * minWeight) + 1 / (keysPerRun * minShare));
}

/** What {@link checkBalance} measured. */
export interface BalanceReport {
  readonly seed: number;
  readonly numRuns: number;
  readonly keysPerRun: number;
  /** Over all runs and backends, the largest `count / expected` (for equal weights: max/mean). */
  readonly worstMaxOverMean: number;
  /** Over all runs and backends, the smallest `count / expected`. */
  readonly worstMinOverMean: number;
}

/**
 * Balance: over `keysPerRun` distinct keys (`b<run>/<i>`), each backend's count of
 * first picks is within `tolerance` (relative) of `keysPerRun × weight / total weight`.
 * Throws on a violation; returns the worst max/mean and min/mean seen.
 *
 * Deriving `tolerance`: two independent errors add in variance. Sampling K keys gives
 * a backend of share p a relative standard deviation of √((1 − p) / (K·p)). A hash ring
 * with P points per weight gives a backend of weight w a share whose relative standard
 * deviation is about 1/√(P·w) (a sum of P·w exponential arcs). With the smallest share
 * p_min and weight w_min, σ = √(1/(P·w_min) + 1/(K·p_min)), and `tolerance = z·σ` with
 * z ≈ 4.5 keeps the chance of a false alarm over ~2,000 backend-runs below 1%.
 * Exact schedulers (smooth round-robin) have no ring term and need ~1/(K·p_min).
 *
 * @defaultValue backends `arbBackends({ min: 2, max: 16, weights: { min: 1, max: 4 } })`, 20 runs
 */
export function checkBalance<O>(factory: SelectorFactory<O>, options: BalanceOptions<O>): BalanceReport {
  const seed = options.seed ?? DEFAULT_SEED;
  const numRuns = options.numRuns ?? 20;
  const keysPerRun = options.keysPerRun ?? 20_000;
  const tolerance = options.tolerance;
  if (typeof tolerance !== 'number' || !(tolerance >= 0)) {
    throw new RangeError(`checkBalance tolerance: expected a number >= 0, got ${String(tolerance)}`);
  }
  const backends = options.backends ?? arbBackends(BALANCE_BACKENDS);
  let worstMax = 0;
  let worstMin = Number.POSITIVE_INFINITY;
  let run = 0;
  runLaw(
    'checkBalance',
    `within ${tolerance} of weight shares`,
    fc.property(backends, (bs) => {
      run++;
      const selector = build(factory, bs, options);
      const counts = new Map<string, number>(bs.map((b) => [b.id, 0]));
      for (let i = 0; i < keysPerRun; i++) {
        const id = selector.select(`b${run}/${i}`, options.request).next().value?.id;
        if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      const total = bs.reduce((sum, b) => sum + b.weight, 0);
      for (const b of bs) {
        const expected = (keysPerRun * b.weight) / total;
        const ratio = (counts.get(b.id) ?? 0) / expected;
        worstMax = Math.max(worstMax, ratio);
        worstMin = Math.min(worstMin, ratio);
        check(
          Math.abs(ratio - 1) <= tolerance,
          () =>
            `${b.id} (weight ${b.weight} of ${total}) got ${counts.get(b.id)} of ${keysPerRun}, expected ${expected.toFixed(1)} (ratio ${ratio.toFixed(3)})`,
        );
      }
    }),
    seed,
    numRuns,
  );
  return { seed, numRuns, keysPerRun, worstMaxOverMean: worstMax, worstMinOverMean: worstMin };
}
