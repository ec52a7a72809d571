import {
  type Backend,
  emptyIterator,
  invalidOption,
  resolveOptions,
  type Selector,
  type SelectorFactory,
} from '@switchyard/core';
import { checkBackends } from './internal/backends.js';
import { checkFallbackDraw, checkTotalWeight, type FallbackDraw, WeightedTable } from './internal/weighted.js';

/** Options of {@link random}. */
export interface RandomOptions {
  /**
   * Uniform source in [0, 1). Inject a seeded one for reproducible tests.
   * @defaultValue `Math.random`
   */
  readonly random: () => number;
  /**
   * How fallbacks are drawn: `'weighted'` over the weight-expanded list (a backend that is
   * out hands its share to the others by weight) or `'uniform'` over the plain list, as
   * Pingora does.
   * @defaultValue `'weighted'`
   */
  readonly fallbacks: FallbackDraw;
}

/** Defaults of {@link random}. */
export const RANDOM_DEFAULTS: Readonly<RandomOptions> = Object.freeze({ random: Math.random, fallbacks: 'weighted' });

function draw(source: () => number, n: number): number {
  const r = source();
  if (!(r >= 0 && r < 1)) invalidOption('random() result', 'a number in [0, 1)', r);
  return Math.floor(r * n);
}

/** First pick weighted from the expanded list, then weighted or uniform fallbacks, endless. */
class RandomWalk implements IterableIterator<Backend> {
  private first = true;

  constructor(
    private readonly table: WeightedTable,
    private readonly source: () => number,
    private readonly weighted: boolean,
  ) {}

  next(): IteratorResult<Backend, undefined> {
    const table = this.table;
    if (this.first || this.weighted) {
      this.first = false;
      return { done: false, value: table.expanded(draw(this.source, table.total)) };
    }
    return { done: false, value: table.backends[draw(this.source, table.backends.length)]! };
  }

  [Symbol.iterator](): RandomWalk {
    return this;
  }
}

/**
 * Pingora's `Random` (`Weighted<Random>`): the first pick is one draw over the
 * weight-expanded list (backends in Pingora's `BTreeSet` order); every fallback is another
 * weighted draw (`fallbacks: 'uniform'`: a uniform draw over the backends, as in Pingora). The key is ignored; the iterator is endless (bound it
 * with `candidates()`). Throws `LB_ERR_INVALID_OPTION` if `random()` leaves [0, 1).
 *
 * Cost for n backends: build O(n log n) time, 8·n bytes; pick one draw + O(log n).
 */
export const random: SelectorFactory<RandomOptions> = (backends, options) => {
  const resolved = resolveOptions('random', RANDOM_DEFAULTS, options, (o) => {
    if (typeof o.random !== 'function') invalidOption('random option random', 'a function returning [0, 1)', o.random);
    checkFallbackDraw('random', o.fallbacks);
  });
  checkBackends('random', backends);
  checkTotalWeight('random', backends);
  if (backends.length === 0) return { select: () => emptyIterator() };
  const table = new WeightedTable(backends);
  const source = resolved.random;
  const weighted = resolved.fallbacks === 'weighted';
  const selector: Selector = { select: () => new RandomWalk(table, source, weighted) };
  return selector;
};
