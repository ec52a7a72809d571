import { type Backend, invalidOption, type LoadTracker } from '@switchyard/core';

/** Scores backend `i`; lower is better. */
export type Cost = (i: number) => number;

/** Throws unless `random` is a function (its values are trusted to lie in [0, 1)). */
export function checkRandom(component: string, random: unknown): void {
  if (typeof random !== 'function') invalidOption(`${component} random`, 'a function returning [0, 1)', random);
}

/**
 * Throws unless `tracker` is undefined or looks like a {@link LoadTracker} (checked
 * by shape, not `instanceof`, so duplicate installs of core still work).
 */
export function checkTracker(component: string, tracker: unknown): void {
  if (tracker === undefined) return;
  const t = tracker as Partial<Record<keyof LoadTracker, unknown>> | null;
  if (typeof t !== 'object' || t === null || typeof t.inFlight !== 'function' || typeof t.ewma !== 'function') {
    invalidOption(`${component} tracker`, 'a LoadTracker from @switchyard/core', tracker);
  }
}

function index(random: () => number, n: number): number {
  // Clamp so a random() that returns exactly 1 cannot index past the end.
  return Math.min(n - 1, Math.floor(random() * n));
}

/**
 * Power of d choices: samples `choices` distinct indices out of `n` uniformly and
 * returns the cheapest (the first sampled wins ties). When `n <= choices` it scans
 * all of them instead, starting at a random index so ties do not always favour the
 * first backend. O(choices) time.
 */
export function pickCheapest(n: number, choices: number, random: () => number, cost: Cost): number {
  if (n <= choices) {
    const start = index(random, n);
    let best = start;
    let bestCost = cost(start);
    for (let k = 1; k < n; k++) {
      const i = (start + k) % n;
      const c = cost(i);
      if (c < bestCost) {
        best = i;
        bestCost = c;
      }
    }
    return best;
  }
  if (choices === 2) {
    // Two distinct indices without a set: draw the second from n - 1 and skip the first.
    const first = index(random, n);
    let second = index(random, n - 1);
    if (second >= first) second++;
    return cost(second) < cost(first) ? second : first;
  }
  // Floyd's algorithm: `choices` distinct indices, each subset equally likely.
  const picked = new Set<number>();
  let best = -1;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let j = n - choices; j < n; j++) {
    const t = index(random, j + 1);
    const i = picked.has(t) ? j : t;
    picked.add(i);
    const c = cost(i);
    if (best === -1 || c < bestCost) {
      best = i;
      bestCost = c;
    }
  }
  return best;
}

/**
 * Yields `backends[first]`, then, if pulled further, every other backend once from
 * cheapest to dearest as costed at that moment. Ties go in list order from a random
 * starting point (drawn when the fallbacks are first pulled), so a backend that is out
 * hands its traffic to equally costed survivors evenly, not to its list neighbour.
 * Ends after n.
 */
export class CheapestFirst implements IterableIterator<Backend> {
  readonly #backends: readonly Backend[];
  readonly #first: number;
  readonly #cost: Cost;
  readonly #random: () => number;
  #rest: number[] | undefined;
  #next = -1;

  constructor(backends: readonly Backend[], first: number, cost: Cost, random: () => number) {
    this.#backends = backends;
    this.#first = first;
    this.#cost = cost;
    this.#random = random;
  }

  next(): IteratorResult<Backend> {
    if (this.#next === -1) {
      this.#next = 0;
      return { done: false, value: this.#backends[this.#first]! };
    }
    if (this.#rest === undefined) {
      const n = this.#backends.length;
      const costs = this.#backends.map((_, i) => this.#cost(i));
      const start = index(this.#random, n);
      const rank = (i: number) => (i - start + n) % n;
      this.#rest = this.#backends
        .map((_, i) => i)
        .filter((i) => i !== this.#first)
        .sort((a, b) => costs[a]! - costs[b]! || rank(a) - rank(b));
    }
    const i = this.#rest[this.#next++];
    if (i === undefined) return { done: true, value: undefined };
    return { done: false, value: this.#backends[i]! };
  }

  [Symbol.iterator](): CheapestFirst {
    return this;
  }
}
