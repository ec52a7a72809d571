import { type Backend, invalidOption } from '@switchyard/core';
import { pingoraOrder, totalWeight } from './backends.js';

/**
 * Pingora's `Weighted` selection table without materialising it: Pingora repeats
 * backend i `weight_i` times in a `Vec<u16>` and indexes it with `h % len`; the same
 * answer comes from a binary search over cumulative weights, in O(n) memory however
 * large the weights are.
 */
export class WeightedTable {
  /** Backends in Pingora's `BTreeSet` order. */
  readonly backends: readonly Backend[];
  /** `ends[i]` = sum of weights of backends 0..i (exclusive end of i's run in the expanded list). */
  private readonly ends: Float64Array;
  /** Length of the expanded list: the total weight. */
  readonly total: number;

  constructor(backends: readonly Backend[]) {
    this.backends = pingoraOrder(backends);
    this.ends = new Float64Array(this.backends.length);
    let sum = 0;
    for (let i = 0; i < this.backends.length; i++) {
      sum += this.backends[i]!.weight;
      this.ends[i] = sum;
    }
    this.total = sum;
  }

  /** The backend at position `index` (0 ≤ index < total) of the weight-expanded list. */
  expanded(index: number): Backend {
    const ends = this.ends;
    let lo = 0;
    let hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! <= index) lo = mid + 1;
      else hi = mid;
    }
    return this.backends[lo]!;
  }
}

/** Largest total weight the weighted selectors accept (keeps the 64-bit modulo arithmetic exact). */
export const MAX_TOTAL_WEIGHT = 2 ** 32;

/** Throws `LB_ERR_INVALID_OPTION` when the weights sum past {@link MAX_TOTAL_WEIGHT}. */
export function checkTotalWeight(component: string, backends: readonly Backend[]): void {
  const total = totalWeight(backends);
  if (total > MAX_TOTAL_WEIGHT) invalidOption(`${component} total weight`, `at most ${MAX_TOTAL_WEIGHT}`, total);
}

/**
 * How a Pingora-style walk draws its fallbacks: `'weighted'` from the weight-expanded
 * list (a backend that is out hands its share to the others by weight), `'uniform'`
 * from the plain list (Pingora's own walk).
 */
export type FallbackDraw = 'weighted' | 'uniform';

/** Throws `LB_ERR_INVALID_OPTION` unless `value` is a {@link FallbackDraw}. */
export function checkFallbackDraw(component: string, value: unknown): void {
  if (value !== 'weighted' && value !== 'uniform') {
    invalidOption(`${component} fallbacks`, '"weighted" or "uniform"', value);
  }
}
