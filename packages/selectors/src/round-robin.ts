import {
  type Backend,
  emptyIterator,
  invalidOption,
  resolveOptions,
  type Selector,
  type SelectorFactory,
} from '@switchyard/core';
import { checkBackends } from './internal/backends.js';
import { DONE } from './internal/ring.js';
import { checkFallbackDraw, checkTotalWeight, type FallbackDraw, WeightedTable } from './internal/weighted.js';

/** Which round-robin {@link roundRobin} runs. */
export type RoundRobinMode = 'smooth' | 'pingora';

/** Options of {@link roundRobin}. */
export interface RoundRobinOptions {
  /**
   * `'smooth'`: nginx's smooth weighted round-robin, in the order given.
   * `'pingora'`: Pingora's `RoundRobin`, a counter over the weight-expanded list (bursty).
   * @defaultValue `'smooth'`
   */
  readonly mode: RoundRobinMode;
  /**
   * `'pingora'` mode only: how fallbacks are drawn. `'weighted'`: from the weight-expanded
   * list at a position scrambled from the counter, so a backend that is out hands its turns
   * to the others by weight. `'uniform'`: `backends[counter % n]`, Pingora's exact walk.
   * (`'smooth'` fallbacks always continue the schedule.)
   * @defaultValue `'weighted'`
   */
  readonly fallbacks: FallbackDraw;
}

/** Defaults of {@link roundRobin}. */
export const ROUND_ROBIN_DEFAULTS: Readonly<RoundRobinOptions> = Object.freeze({
  mode: 'smooth',
  fallbacks: 'weighted',
});

/**
 * Longest smooth schedule kept: one period (the total weight) of first picks, 2 bytes
 * each, so at most 128 KiB. Longer periods are computed step by step, O(n) per pick.
 */
export const SMOOTH_SCHEDULE_LIMIT = 65536;

/**
 * nginx's `ngx_http_upstream_get_peer`: every pick adds each weight to its current
 * value, takes the largest (the first on ties) and subtracts the total from it. After
 * one period of `total` picks every current value is back to 0, so the sequence is
 * periodic and its first period can be recorded and replayed in O(1).
 */
class SmoothSchedule {
  private readonly weights: Float64Array;
  private readonly current: Float64Array;
  /** The total weight: the schedule's period. */
  readonly total: number;
  private readonly schedule: Uint16Array | undefined;
  private filled = 0;
  private position = 0;

  constructor(backends: readonly Backend[]) {
    this.weights = Float64Array.from(backends, (b) => b.weight);
    this.current = new Float64Array(backends.length);
    this.total = this.weights.reduce((a, b) => a + b, 0);
    this.schedule = this.total <= SMOOTH_SCHEDULE_LIMIT ? new Uint16Array(this.total) : undefined;
  }

  /** Index of the next first pick. */
  next(): number {
    const schedule = this.schedule;
    if (schedule !== undefined) {
      const p = this.position;
      this.position = p + 1 === this.total ? 0 : p + 1;
      if (p < this.filled) return schedule[p]!;
      const best = this.step();
      schedule[p] = best;
      this.filled = p + 1;
      return best;
    }
    return this.step();
  }

  private step(): number {
    const weights = this.weights;
    const current = this.current;
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < weights.length; i++) {
      const v = current[i]! + weights[i]!;
      current[i] = v;
      if (v > bestValue) {
        bestValue = v;
        best = i;
      }
    }
    current[best] = bestValue - this.total;
    return best;
  }
}

/**
 * The smooth pick, then every other backend once, in the order the shared schedule reaches
 * them; n items. Fallbacks advance the schedule: a backend that is out hands each of its
 * turns to whoever the schedule picks next, so its share spreads over the survivors by
 * weight instead of landing on its neighbour in the list.
 */
class SmoothWalk implements IterableIterator<Backend> {
  private started = false;
  private seen: Uint8Array | undefined = undefined;
  private yielded = 1;
  private pulls = 0;

  constructor(
    private readonly backends: readonly Backend[],
    private readonly schedule: SmoothSchedule,
    private readonly first: number,
  ) {}

  next(): IteratorResult<Backend, undefined> {
    if (!this.started) {
      // The first pull allocates nothing more; fallbacks set up their state lazily.
      this.started = true;
      return { done: false, value: this.backends[this.first]! };
    }
    const n = this.backends.length;
    if (this.yielded >= n) return DONE;
    let seen = this.seen;
    if (seen === undefined) {
      seen = new Uint8Array(n);
      seen[this.first] = 1;
      this.seen = seen;
    }
    // Every window of `total` schedule picks holds every backend, so this finds one.
    const schedule = this.schedule;
    while (this.pulls < schedule.total) {
      this.pulls++;
      const i = schedule.next();
      if (seen[i] === 0) {
        seen[i] = 1;
        this.yielded++;
        return { done: false, value: this.backends[i]! };
      }
    }
    return DONE;
  }

  [Symbol.iterator](): SmoothWalk {
    return this;
  }
}

/**
 * Pingora's walk: one shared counter; first pick from the expanded list, fallbacks from the
 * expanded list at a scrambled position (weighted) or from the plain list (uniform). Endless.
 */
class PingoraWalk implements IterableIterator<Backend> {
  private first = true;

  constructor(private readonly state: { counter: number; readonly table: WeightedTable; readonly weighted: boolean }) {}

  next(): IteratorResult<Backend, undefined> {
    const state = this.state;
    const c = state.counter++;
    if (this.first) {
      this.first = false;
      return { done: false, value: state.table.expanded(c % state.table.total) };
    }
    if (state.weighted) return { done: false, value: state.table.expanded(scramble(c) % state.table.total) };
    return { done: false, value: state.table.backends[c % state.table.backends.length]! };
  }

  [Symbol.iterator](): PingoraWalk {
    return this;
  }
}

/**
 * murmur3's 32-bit finaliser: consecutive counters land far apart, so the fallbacks of
 * consecutive picks are spread over the whole expanded list instead of its next run.
 */
function scramble(counter: number): number {
  let h = counter >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Round-robin. The key is ignored; the selector's only mutable state is its private cursor.
 *
 * - `'smooth'` (default): nginx's smooth weighted round-robin over the backends in the
 *   order given. Weights 5,1,1 give `a a b a c a a`; in every window of `total weight`
 *   consecutive first picks from a fresh selector each backend appears exactly `weight`
 *   times. Fallbacks within one `select()` are the other backends once each, in the order
 *   the schedule reaches them next, and they advance the cursor: a backend that is down
 *   or ejected hands its turns to the survivors in proportion to their weights (as nginx
 *   spreads a down peer's share) rather than to its neighbour. The iterator has n items.
 * - `'pingora'`: Pingora's `RoundRobin`: a counter from 0 advanced by every pull, first
 *   pick from the weight-expanded list in Pingora's `BTreeSet` order; bursty (weights 8,1,1
 *   give a×8, b, c). Fallbacks draw from the expanded list at a position scrambled from the
 *   counter, spreading by weight (`fallbacks: 'uniform'`: the plain list, Pingora's exact
 *   walk). The iterator is endless.
 *
 * Cost for n backends of total weight W: build O(n) (`'pingora'` O(n log n)), 16·n bytes
 * plus, for `'smooth'` with W ≤ 65,536, a 2·W-byte schedule. Pick: `'smooth'` O(n) during
 * the first W picks and O(1) after (O(n) always when W > 65,536); `'pingora'` O(log n).
 */
export const roundRobin: SelectorFactory<RoundRobinOptions> = (backends, options) => {
  const resolved = resolveOptions('roundRobin', ROUND_ROBIN_DEFAULTS, options, (o) => {
    if (o.mode !== 'smooth' && o.mode !== 'pingora') invalidOption('roundRobin mode', '"smooth" or "pingora"', o.mode);
    checkFallbackDraw('roundRobin', o.fallbacks);
  });
  checkBackends('roundRobin', backends);
  checkTotalWeight('roundRobin', backends);
  if (backends.length === 0) return { select: () => emptyIterator() };
  if (resolved.mode === 'pingora') {
    const state = { counter: 0, table: new WeightedTable(backends), weighted: resolved.fallbacks === 'weighted' };
    return { select: () => new PingoraWalk(state) };
  }
  const list = [...backends];
  const schedule = new SmoothSchedule(list);
  const selector: Selector = { select: () => new SmoothWalk(list, schedule, schedule.next()) };
  return selector;
};
