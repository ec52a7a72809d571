import { candidates, type SelectorFactory } from '@switchyard/core';
import fc from 'fast-check';
import { arbBackends } from './arbitraries.js';
import { BALANCE_BACKENDS } from './balance.js';
import { build, type CommonLawOptions, check, DEFAULT_SEED, runLaw } from './run.js';

/** Options of {@link checkFailoverSpread}. */
export interface FailoverSpreadOptions<O> extends CommonLawOptions<O> {
  /**
   * Largest allowed relative excess of a survivor's first-pick count over its fair share
   * of the ready set, `count / fair − 1`. Derive it as for `checkBalance` (see
   * `balanceTolerance`), with the survivors' smallest share.
   */
  readonly tolerance: number;
  /** Selections per run. @defaultValue 20000 */
  readonly keysPerRun?: number;
}

/** What {@link checkFailoverSpread} measured. */
export interface FailoverSpreadReport {
  readonly seed: number;
  readonly numRuns: number;
  readonly keysPerRun: number;
  /** Over all runs and survivors, the largest `count / fair share`. */
  readonly worstOverFair: number;
}

/**
 * Failover spreads: with any one backend out (down or ejected), the traffic it would have
 * had goes to the survivors in proportion to their weights, instead of piling onto one
 * neighbour. Each run takes one backend out, selects `keysPerRun` distinct keys
 * (`f<run>/<i>`), takes the first candidate that is not the one out — as a balancer walking
 * `candidates()` does, or asks `selector.without()` when the selector has it — and checks
 * that every survivor's count is at most
 * `(1 + tolerance) × keysPerRun × weight / (survivors' total weight)`.
 *
 * @defaultValue backends `arbBackends({ min: 2, max: 16, weights: { min: 1, max: 4 } })`, 20 runs
 */
export function checkFailoverSpread<O>(
  factory: SelectorFactory<O>,
  options: FailoverSpreadOptions<O>,
): FailoverSpreadReport {
  const seed = options.seed ?? DEFAULT_SEED;
  const numRuns = options.numRuns ?? 20;
  const keysPerRun = options.keysPerRun ?? 20_000;
  const tolerance = options.tolerance;
  if (typeof tolerance !== 'number' || !(tolerance >= 0)) {
    throw new RangeError(`checkFailoverSpread tolerance: expected a number >= 0, got ${String(tolerance)}`);
  }
  const backends = options.backends ?? arbBackends(BALANCE_BACKENDS);
  let worst = 0;
  let run = 0;
  runLaw(
    'checkFailoverSpread',
    `survivors within ${tolerance} of their fair share`,
    fc.property(backends, fc.nat(), (bs, pick) => {
      fc.pre(bs.length >= 2);
      run++;
      const out = bs[pick % bs.length]!;
      const built = build(factory, bs, options);
      // A selector that recomputes itself without the backends that are out (`without`) is
      // asked to, as the balancer does; the rest are walked past the one out.
      const selector = built.without === undefined ? built : built.without(new Set([out.id]));
      const counts = new Map<string, number>(bs.map((b) => [b.id, 0]));
      // Every backend appears within a walk of this many pulls (the laws' reach bound).
      const bound = 256 * bs.reduce((sum, b) => sum + b.weight, 0) + 256;
      for (let i = 0; i < keysPerRun; i++) {
        for (const b of candidates(selector.select(`f${run}/${i}`, options.request), bound)) {
          if (b.id === out.id) {
            check(selector === built, () => `${out.id} is out, yet without() still yielded it`);
            continue;
          }
          counts.set(b.id, (counts.get(b.id) ?? 0) + 1);
          break;
        }
      }
      const total = bs.reduce((sum, b) => (b === out ? sum : sum + b.weight), 0);
      for (const b of bs) {
        if (b === out) continue;
        const fair = (keysPerRun * b.weight) / total;
        const ratio = (counts.get(b.id) ?? 0) / fair;
        worst = Math.max(worst, ratio);
        check(
          ratio - 1 <= tolerance,
          () =>
            `with ${out.id} out, ${b.id} (weight ${b.weight} of ${total}) got ${counts.get(b.id)} of ${keysPerRun}, fair ${fair.toFixed(1)} (ratio ${ratio.toFixed(3)})`,
        );
      }
    }),
    seed,
    numRuns,
  );
  return { seed, numRuns, keysPerRun, worstOverFair: worst };
}
