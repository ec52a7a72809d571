import type { Backend } from '@switchyard/core';

/** A finished iterator result, shared because it carries no value. */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A hash ring as two parallel typed arrays: `points` sorted ascending, and
 * `owners[i]` the index into `backends` of the backend owning `points[i]`.
 */
export class Ring {
  constructor(
    readonly points: Uint32Array,
    readonly owners: Uint16Array,
    readonly backends: readonly Backend[],
  ) {}

  /** Index of the first point ≥ `hash`, or 0 when `hash` is above every point (the ring wraps). */
  find(hash: number): number {
    const points = this.points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === points.length ? 0 : lo;
  }

  /** Walks the ring clockwise from point `start`, one full turn. */
  walk(start: number): RingWalk {
    return new RingWalk(this, start);
  }
}

/**
 * Yields the owner of each point from `start` clockwise, wrapping once: exactly
 * `points.length` items, so consecutive duplicates are common (dedupe with
 * `candidates()`), and every backend that owns a point appears. A hand-written
 * iterator because a generator costs several times more per `select()`.
 */
export class RingWalk implements IterableIterator<Backend> {
  private step = 0;

  constructor(
    private readonly ring: Ring,
    private readonly start: number,
  ) {}

  next(): IteratorResult<Backend, undefined> {
    const ring = this.ring;
    const length = ring.points.length;
    if (this.step >= length) return DONE;
    let i = this.start + this.step++;
    if (i >= length) i -= length;
    return { done: false, value: ring.backends[ring.owners[i]!]! };
  }

  [Symbol.iterator](): RingWalk {
    return this;
  }
}

/**
 * Sorts packed `hash * 65536 + rank` values (exact in a float64 for 32-bit hashes
 * and ranks below 65536), drops repeated hashes keeping the lowest rank, and
 * returns the ring. Sorting one Float64Array is several times faster than sorting
 * objects, and the rank tie-break makes the ring independent of insertion order.
 */
export function ringFromPacked(packed: Float64Array, backends: readonly Backend[], dedupe: boolean): Ring {
  packed.sort();
  const points = new Uint32Array(packed.length);
  const owners = new Uint16Array(packed.length);
  let n = 0;
  for (let i = 0; i < packed.length; i++) {
    const v = packed[i]!;
    const hash = Math.floor(v / 65536);
    if (dedupe && n > 0 && points[n - 1] === hash) continue;
    points[n] = hash;
    owners[n] = v - hash * 65536;
    n++;
  }
  return new Ring(
    n === points.length ? points : points.slice(0, n),
    n === owners.length ? owners : owners.slice(0, n),
    backends,
  );
}
