import {
  type Backend,
  checkInteger,
  emptyIterator,
  LoadTracker,
  resolveOptions,
  type Selector,
} from '@switchyard/core';
import { checkBackends } from './internal/backends.js';
import { CheapestFirst, checkRandom, checkTracker, pickCheapest } from './internal/p2c.js';

/** Options for {@link leastRequest}. */
export interface LeastRequestOptions {
  /**
   * How many distinct backends to sample per pick (Envoy's `choice_count`). 2 gives
   * the exponential gain of "power of two choices"; more only adds a constant.
   * @defaultValue 2
   */
  readonly choices: number;
  /**
   * Where in-flight counts come from: the proxy's tracker, shared across selector
   * rebuilds. Without one the selector makes its own (reachable as `.tracker`),
   * which only helps if the caller feeds it.
   * @defaultValue a new, private {@link LoadTracker}
   */
  readonly tracker: LoadTracker | undefined;
  /** Source of randomness in [0, 1). @defaultValue `Math.random` */
  readonly random: () => number;
}

/** Defaults for {@link LeastRequestOptions}. */
export const LEAST_REQUEST_DEFAULTS: Readonly<LeastRequestOptions> = Object.freeze({
  choices: 2,
  tracker: undefined,
  random: Math.random,
});

/** A selector that reads live load; `tracker` is the one it reads. */
export interface LoadAwareSelector extends Selector {
  readonly tracker: LoadTracker;
}

function validate(options: Readonly<LeastRequestOptions>): void {
  checkInteger('leastRequest choices', options.choices, 2, 64);
  checkTracker('leastRequest', options.tracker);
  checkRandom('leastRequest', options.random);
}

/**
 * Least request with power of d choices (Envoy's `LEAST_REQUEST`, HAProxy's
 * `random(2)`): sample `choices` distinct backends and take the one with the
 * highest `weight / (inFlight + 1)` — with equal weights, the fewest in-flight
 * requests; weight 2 with 4 in flight scores 0.4 (Envoy's example). When there are
 * no more backends than `choices` it scans them all (P2C over two hosts would pick
 * the busier one 25% of the time). Ties go to the first sampled. The key is
 * ignored. Fallbacks: every other backend once, best score first, equal scores from a
 * random point of the list on (scored when the second candidate is pulled). Counts are read from `tracker`; the selector never
 * changes them (the proxy calls `start`/`finish`).
 *
 * Cost: O(choices) per pick, no allocation but the iterator; O(n log n) once if
 * fallbacks are pulled.
 */
export function leastRequest(backends: readonly Backend[], options?: Partial<LeastRequestOptions>): LoadAwareSelector {
  checkBackends('leastRequest', backends);
  const resolved = resolveOptions('leastRequest', LEAST_REQUEST_DEFAULTS, options, validate);
  const tracker = resolved.tracker ?? new LoadTracker();
  const { choices, random } = resolved;
  // Sorted by id so the picks for a given random sequence do not depend on list order.
  const list = [...backends].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = list.map((b) => b.id);
  // Lower is better: the negated Envoy effective weight.
  const cost = (i: number): number => -list[i]!.weight / (tracker.inFlight(ids[i]!) + 1);
  return {
    tracker,
    select() {
      if (list.length === 0) return emptyIterator();
      return new CheapestFirst(list, pickCheapest(list.length, choices, random, cost), cost, random);
    },
  };
}
