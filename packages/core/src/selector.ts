import type { Backend } from './backend.js';
import { invalidOption } from './errors.js';

/** What a selector may look at besides the key. Header names are lower-case. */
export interface RequestInfo {
  readonly method: string;
  /** The request target's path, without the query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly clientIp?: string;
}

/**
 * A load-balancing algorithm over an immutable snapshot of backends.
 *
 * `select` returns candidates in preference order: the first item is the first
 * choice, keep pulling to fail over. The iterator may repeat backends and may be
 * endless, so always bound it, e.g. with {@link candidates}. An empty backend set
 * yields an exhausted iterator. On membership change, build a new selector and swap it.
 *
 * The iterator is lazy and iterable, so `for (const b of selector.select(key))` and
 * `[...candidates(selector.select(key), n)]` work; never spread an endless one unbounded.
 */
export interface Selector {
  select(key: string | Uint8Array, request?: RequestInfo): IterableIterator<Backend>;
  /**
   * Optional: this selector with the backends whose ids are in `out` taken out, the way the
   * algorithm itself recomputes when servers go down (HAProxy's map-based hashing rebuilds
   * its map over the servers still up, so their shares stay proportional to their weights).
   * Whoever owns the health view (the proxy's balancer) calls it whenever the set of
   * backends that are not ready changes, and selects from the result. Selectors without it
   * are walked past the backends that are not ready, which is the right thing for rings.
   */
  without?(out: ReadonlySet<string>): Selector;
}

/**
 * Optional capabilities a {@link SelectorFactory} may carry as properties. Whoever owns
 * the factory's health view (the proxy's balancer) calls them when they are present;
 * a plain function has none and needs none.
 */
export interface SelectorCapabilities {
  /**
   * Told when backend `id` turns healthy again after being unhealthy, so a stateful
   * factory can treat it as new (slow start ramps its weight again).
   */
  readonly recovered?: (id: string) => void;
}

/** Builds a {@link Selector} from a backend list and partial options; may declare {@link SelectorCapabilities}. */
export type SelectorFactory<O = unknown> = ((backends: readonly Backend[], options?: Partial<O>) => Selector) &
  SelectorCapabilities;

/**
 * Walks `iterator`, yielding each backend at most once (by `id`), and stops after
 * `max` raw pulls (duplicates count), like Pingora's `UniqueIterator`. `max = 0`
 * yields nothing. Never loops forever on an endless iterator.
 */
export function* candidates(iterator: Iterator<Backend>, max: number): Generator<Backend, void, undefined> {
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 0)
    invalidOption('candidates max', 'an integer >= 0', max);
  const seen = new Set<string>();
  for (let pulls = 0; pulls < max; pulls++) {
    const step = iterator.next();
    if (step.done) return;
    const b = step.value;
    if (seen.has(b.id)) continue;
    seen.add(b.id);
    yield b;
  }
}

/** An iterator that yields nothing: what a selector over no backends returns. */
export function emptyIterator(): IterableIterator<Backend> {
  return EMPTY[Symbol.iterator]();
}

const EMPTY: readonly Backend[] = Object.freeze([]);
