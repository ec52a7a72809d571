import type { Backend, Selector } from '@switchyard/core';
import { type Spread, spread } from './stats.js';

/** How keys spread over backends, relative to each backend's weight share. */
export interface SharesReport {
  readonly keys: number;
  /** Spread of `count / (keys × weight / total weight)` over backends. */
  readonly sampled: Spread;
  /** Each backend's ratio (1 = exactly its weight share), in pool order. */
  readonly ratios: readonly number[];
  /** Exact shares of the hash space, when the selector exposes them (Maglev's table entries). */
  readonly exact?: Spread;
  /** First picks per second measured over the run (wall clock, includes the counting loop). */
  readonly picksPerSecond: number;
}

/** Keys that changed backend on a membership change, against the least any algorithm must move. */
export interface MovementReport {
  readonly removed: readonly string[];
  readonly added: readonly string[];
  /** Fraction of keys whose first pick changed. */
  readonly moved: number;
  /**
   * Fraction of keys that had to move: those on a removed backend before, plus those
   * on an added backend after (no algorithm can keep them in place).
   */
  readonly minimum: number;
}

/** Called as work progresses; `done` ≤ `total`. */
export type ProgressFn = (done: number, total: number) => void;

const PROGRESS_EVERY = 1 << 16;

/** The i-th simulated key. */
export function keyName(i: number): string {
  return `key-${i}`;
}

/** First picks of `keys` keys, as indices into `pool` (by id), with the wall-clock rate. */
function firstPicks(
  selector: Selector,
  pool: readonly Backend[],
  keys: number,
  progress: ProgressFn,
  offset: number,
  total: number,
): { picks: Int32Array; perSecond: number } {
  const index = new Map(pool.map((b, i) => [b.id, i]));
  const picks = new Int32Array(keys);
  const started = performance.now();
  for (let k = 0; k < keys; k++) {
    const step = selector.select(keyName(k)).next();
    picks[k] = step.done ? -1 : (index.get(step.value.id) ?? -1);
    if ((k & (PROGRESS_EVERY - 1)) === 0) progress(offset + k, total);
  }
  const seconds = (performance.now() - started) / 1000;
  return { picks, perSecond: seconds > 0 ? keys / seconds : Number.POSITIVE_INFINITY };
}

/**
 * Measures key shares over `pool` and, when `after` is given, how many keys move
 * to reach it. `exactEntries`, if the selector has them, gives table entries per backend.
 */
export function analyseKeys(
  build: (backends: readonly Backend[]) => Selector,
  pool: readonly Backend[],
  after: readonly Backend[] | undefined,
  keys: number,
  progress: ProgressFn,
): { shares: SharesReport; movement?: MovementReport } {
  const total = after === undefined ? keys : 2 * keys;
  const selector = build(pool);
  const before = firstPicks(selector, pool, keys, progress, 0, total);
  const counts = new Float64Array(pool.length);
  for (const p of before.picks) if (p >= 0) counts[p]!++;
  const totalWeight = pool.reduce((s, b) => s + b.weight, 0);
  const ratios = pool.map((b, i) => counts[i]! / ((keys * b.weight) / totalWeight));
  const entries = (selector as { entries?: () => readonly number[] }).entries?.();
  let exact: Spread | undefined;
  if (entries !== undefined) {
    const slots = entries.reduce((a, b) => a + b, 0);
    exact = spread(pool.map((b, i) => entries[i]! / ((slots * b.weight) / totalWeight)));
  }
  const shares: SharesReport = {
    keys,
    sampled: spread(ratios),
    ratios,
    ...(exact === undefined ? {} : { exact }),
    picksPerSecond: before.perSecond,
  };
  if (after === undefined) return { shares };

  const ids = new Set(after.map((b) => b.id));
  const removed = pool.filter((b) => !ids.has(b.id));
  const oldIds = new Set(pool.map((b) => b.id));
  const added = after.filter((b) => !oldIds.has(b.id));
  const next = firstPicks(build(after), after, keys, progress, keys, total);
  const removedIds = new Set(removed.map((b) => b.id));
  const addedIds = new Set(added.map((b) => b.id));
  let moved = 0;
  let forced = 0;
  for (let k = 0; k < keys; k++) {
    const a = before.picks[k]!;
    const b = next.picks[k]!;
    const was = a < 0 ? undefined : pool[a]!.id;
    const is = b < 0 ? undefined : after[b]!.id;
    if (was !== is) moved++;
    if ((was !== undefined && removedIds.has(was)) || (is !== undefined && addedIds.has(is))) forced++;
  }
  const minimum = forced / keys;
  progress(total, total);
  return {
    shares,
    movement: {
      removed: removed.map((b) => b.id),
      added: added.map((b) => b.id),
      moved: moved / keys,
      minimum,
    },
  };
}
