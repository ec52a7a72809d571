import type { Backend } from '@switchyard/core';

/** A finished iterator result, shared because it carries no value. */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A hash ring as two parallel typed arrays: `points` sorted ascending, and
 * `owners[i]` the index into `backends` of the backend owning `points[i]`.
 */
export class Ring {
  /**
   * Bucket index over the top `bits` of a hash: `starts[b]` is the first point whose top
   * bits are ≥ b, so a lookup scans only the 2–4 points of one bucket instead of a
   * 14–17 step binary search (which costs more in branch misses than the hashing).
   */
  private readonly starts: Uint32Array;
  private readonly shift: number;

  constructor(
    readonly points: Uint32Array,
    readonly owners: Uint16Array,
    readonly backends: readonly Backend[],
  ) {
    const bits = Math.max(1, Math.min(16, Math.floor(Math.log2(Math.max(points.length, 1))) - 1));
    this.shift = 32 - bits;
    const buckets = 1 << bits;
    const starts = new Uint32Array(buckets + 1);
    let p = 0;
    for (let b = 0; b <= buckets; b++) {
      while (p < points.length && points[p]! >>> this.shift < b) p++;
      starts[b] = p;
    }
    this.starts = starts;
  }

  /** Index of the first point ≥ `hash`, or 0 when `hash` is above every point (the ring wraps). */
  find(hash: number): number {
    const points = this.points;
    const bucket = hash >>> this.shift;
    let lo = this.starts[bucket]!;
    let hi = this.starts[bucket + 1]!;
    // Every point of later buckets is > hash, so the answer is in [lo, hi].
    while (hi - lo > 8) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    while (lo < hi && points[lo]! < hash) lo++;
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
 * Sorts points by hash with a stable two-pass LSD radix sort (16 bits per pass), so
 * points with equal hashes keep their insertion order; callers insert in backend rank
 * order, which makes the lowest rank win ties and the ring independent of the order
 * the backends were listed in. With `dedupe`, repeated hashes keep only the first.
 * Radix sort is O(n) and several times faster than sorting objects or float keys.
 */
export function ringFromPoints(
  hashes: Uint32Array,
  ranks: Uint16Array,
  backends: readonly Backend[],
  dedupe: boolean,
): Ring {
  const n = hashes.length;
  const counts = new Uint32Array(65536);
  const tmpHashes = new Uint32Array(n);
  const tmpRanks = new Uint16Array(n);
  // Pass 1: low 16 bits, hashes → tmp.
  for (let i = 0; i < n; i++) counts[hashes[i]! & 0xffff]!++;
  prefixSums(counts);
  for (let i = 0; i < n; i++) {
    const h = hashes[i]!;
    const at = counts[h & 0xffff]!++;
    tmpHashes[at] = h;
    tmpRanks[at] = ranks[i]!;
  }
  // Pass 2: high 16 bits, tmp → the caller's arrays (reused as output).
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[tmpHashes[i]! >>> 16]!++;
  prefixSums(counts);
  for (let i = 0; i < n; i++) {
    const h = tmpHashes[i]!;
    const at = counts[h >>> 16]!++;
    hashes[at] = h;
    ranks[at] = tmpRanks[i]!;
  }
  let kept = n;
  if (dedupe && n > 0) {
    kept = 1;
    for (let i = 1; i < n; i++) {
      if (hashes[i] === hashes[kept - 1]) continue;
      hashes[kept] = hashes[i]!;
      ranks[kept] = ranks[i]!;
      kept++;
    }
  }
  return new Ring(kept === n ? hashes : hashes.slice(0, kept), kept === n ? ranks : ranks.slice(0, kept), backends);
}

/** Turns counts into exclusive prefix sums (start offsets), in place. */
function prefixSums(counts: Uint32Array): void {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    counts[i] = sum;
    sum += c;
  }
}
