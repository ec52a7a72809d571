import {
  type Backend,
  candidates,
  checkInteger,
  invalidOption,
  LoadTracker,
  type RequestInfo,
  resolveOptions,
  type SelectorFactory,
} from '@switchyard/core';
import { consistentHash } from './consistent-hash.js';
import { checkBackends, totalWeight } from './internal/backends.js';
import { checkRandom, checkTracker } from './internal/p2c.js';
import type { LoadAwareSelector } from './least-request.js';

/** Options for {@link boundedLoad}. */
export interface BoundedLoadOptions {
  /**
   * c: no backend takes a new request once it holds its weight's share of
   * c × (in flight + 1). ≥ 1; HAProxy suggests 1.25–2 (`hash-balance-factor 125`–`200`),
   * Envoy 1.2–2. Lower is more even, higher keeps more keys home.
   * @defaultValue 1.25
   */
  readonly balanceFactor: number;
  /** The consistent hash that picks a key's home and its jump targets. @defaultValue {@link consistentHash} */
  readonly inner: SelectorFactory<never>;
  /** Options for `inner`. @defaultValue undefined (its defaults) */
  readonly innerOptions: object | undefined;
  /** Random jumps tried after an overloaded home before a full scan. @defaultValue 32 */
  readonly maxJumps: number;
  /**
   * Where in-flight counts come from (the proxy's, shared across rebuilds; one per
   * pool, since `total()` is the pool's load). Without one the selector makes its own.
   * @defaultValue a new, private {@link LoadTracker}
   */
  readonly tracker: LoadTracker | undefined;
  /** Where the last-resort scan starts, in [0, 1). @defaultValue `Math.random` */
  readonly random: () => number;
}

/** Defaults for {@link BoundedLoadOptions}. */
export const BOUNDED_LOAD_DEFAULTS: Readonly<BoundedLoadOptions> = Object.freeze({
  balanceFactor: 1.25,
  inner: consistentHash as SelectorFactory<never>,
  innerOptions: undefined,
  maxJumps: 32,
  tracker: undefined,
  random: Math.random,
});

// Keeps ⌈(S + 1) × c⌉ from rounding 11.000000000000002 up to 12.
const EPSILON = 1e-9;

function validate(options: Readonly<BoundedLoadOptions>): void {
  const c = options.balanceFactor;
  if (typeof c !== 'number' || !Number.isFinite(c) || c < 1) {
    invalidOption('boundedLoad balanceFactor', 'a finite number >= 1 (e.g. 1.25; HAProxy 125 = 1.25)', c);
  }
  if (typeof options.inner !== 'function') invalidOption('boundedLoad inner', 'a SelectorFactory', options.inner);
  if (
    options.innerOptions !== undefined &&
    (typeof options.innerOptions !== 'object' || options.innerOptions === null)
  ) {
    invalidOption('boundedLoad innerOptions', 'an options object', options.innerOptions);
  }
  checkInteger('boundedLoad maxJumps', options.maxJumps, 0, 1024);
  checkTracker('boundedLoad', options.tracker);
  checkRandom('boundedLoad', options.random);
}

/**
 * The total slot count for `inFlight` requests already placed plus the new one:
 * ⌈(inFlight + 1) × c⌉, as HAProxy's `chash_server_is_eligible`.
 */
export function boundedLoadSlots(inFlight: number, balanceFactor: number): number {
  return Math.ceil((inFlight + 1) * balanceFactor - EPSILON);
}

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2016),
 * with HAProxy's eligibility rule and Envoy's random-jump probing (Chen, Coleman,
 * Shrivastava 2021, which avoids the cascaded overflow of walking the ring).
 *
 * Eligibility, with S requests in flight over the pool (`tracker.total()`), total
 * weight W and the backends in id order with cumulative weight `cum` before each:
 * T = ⌈(S + 1) × c⌉ slots are split as `w × ⌊T/W⌋` per backend plus the remainder
 * `r = T mod W` spread by cumulative weight, `⌊(cum + w) r / W⌋ − ⌊cum r / W⌋`, and
 * never 0; a backend is eligible while its in-flight count is below its slots. The
 * slots add up to T > S, so some backend is always eligible.
 *
 * A key goes to its home (`inner`'s first pick) while home is eligible; otherwise
 * to the first eligible of up to `maxJumps` random jumps — `inner`'s first pick for
 * the key extended with `"\0" + j` (a deterministic pseudo-random point per key and
 * jump, so an overflowing key keeps landing on the same few backends); failing
 * those, the first eligible backend scanning from a random start. Fallbacks after
 * the first: `inner`'s own walk for the key, each backend once, then any not yet
 * yielded; the iterator ends after every backend.
 *
 * Law (checked model-based): when the proxy counts each pick as in flight, the
 * picked backend then holds at most `max(1, ⌈w × T / W⌉)` requests, which for equal
 * weights is ⌈c × (S + 1) / n⌉ = ⌈c × average⌉. Finishing requests never moves
 * others, so after departures a backend may sit above the new average until its
 * requests finish; it takes no new ones meanwhile.
 *
 * Cost: O(1) per pick while homes are under the bound (one inner pick plus O(1)
 * tracker reads); O(maxJumps) inner picks, then O(n), when they are not. Build: the
 * inner build plus O(n).
 */
export function boundedLoad(backends: readonly Backend[], options?: Partial<BoundedLoadOptions>): LoadAwareSelector {
  checkBackends('boundedLoad', backends);
  const resolved = resolveOptions('boundedLoad', BOUNDED_LOAD_DEFAULTS, options, validate);
  const { balanceFactor, maxJumps, random } = resolved;
  const tracker = resolved.tracker ?? new LoadTracker();
  const list = [...backends].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = list.length;
  const index = new Map(list.map((b, i) => [b.id, i]));
  const weights = list.map((b) => b.weight);
  const cumulative: number[] = [];
  let sum = 0;
  for (const w of weights) {
    cumulative.push(sum);
    sum += w;
  }
  const total = totalWeight(list);
  const inner = resolved.inner(list, resolved.innerOptions as never);
  const bound = n * 256 + 256;

  const eligible = (i: number, slots: number): boolean => {
    const w = weights[i]!;
    const cum = cumulative[i]!;
    const remainder = slots % total;
    let mine = w * Math.floor(slots / total);
    mine += Math.floor(((cum + w) * remainder) / total) - Math.floor((cum * remainder) / total);
    return tracker.inFlight(list[i]!.id) < Math.max(1, mine);
  };
  const firstOf = (key: string | Uint8Array, request: RequestInfo | undefined): number | undefined => {
    const step = inner.select(key, request).next();
    return step.done ? undefined : index.get(step.value.id);
  };
  const jumpKey = (key: string | Uint8Array, j: number): string | Uint8Array => {
    if (typeof key === 'string') return `${key}\0${j}`;
    const suffix = new TextEncoder().encode(`\0${j}`);
    const out = new Uint8Array(key.length + suffix.length);
    out.set(key);
    out.set(suffix, key.length);
    return out;
  };

  const choose = (key: string | Uint8Array, request: RequestInfo | undefined): number => {
    const slots = boundedLoadSlots(tracker.total(), balanceFactor);
    const home = firstOf(key, request);
    if (home !== undefined && eligible(home, slots)) return home;
    for (let j = 1; j <= maxJumps; j++) {
      const i = firstOf(jumpKey(key, j), request);
      if (i !== undefined && eligible(i, slots)) return i;
    }
    const start = Math.min(n - 1, Math.floor(random() * n));
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (eligible(i, slots)) return i;
    }
    // Unreachable while the tracker counts only this pool: the slots outnumber S.
    return home ?? start;
  };

  return {
    tracker,
    select(key, request) {
      if (n === 0) return list[Symbol.iterator]();
      const first = choose(key, request);
      let started = false;
      let seen: Uint8Array | undefined;
      let walk: Iterator<Backend> | undefined;
      let leftover = 0;
      return {
        next(): IteratorResult<Backend> {
          if (!started) {
            // The first pull allocates nothing more; fallbacks set up the walk lazily.
            started = true;
            return { done: false, value: list[first]! };
          }
          if (seen === undefined || walk === undefined) {
            seen = new Uint8Array(n);
            seen[first] = 1;
            walk = candidates(inner.select(key, request), bound);
          }
          for (let step = walk.next(); !step.done; step = walk.next()) {
            const i = index.get(step.value.id);
            if (i === undefined || seen[i] === 1) continue;
            seen[i] = 1;
            return { done: false, value: step.value };
          }
          while (leftover < n) {
            const i = leftover++;
            if (seen[i] === 0) {
              seen[i] = 1;
              return { done: false, value: list[i]! };
            }
          }
          return { done: true, value: undefined };
        },
        [Symbol.iterator]() {
          return this;
        },
      };
    },
  };
}
