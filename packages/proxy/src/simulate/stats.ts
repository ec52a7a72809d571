/** Small, dependency-free statistics and seeded randomness for `switchyard simulate`. */

/** mulberry32: a fast seeded PRNG in [0, 1), so every simulation is reproducible from `--seed`. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An exponentially distributed sample with the given mean. */
export function exponential(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

/** Spread of a list of ratios (1 = exactly the expected share). */
export interface Spread {
  /** Largest ratio over the mean ratio. */
  readonly maxOverMean: number;
  /** Smallest ratio over the mean ratio. */
  readonly minOverMean: number;
  /** Coefficient of variation: standard deviation over mean. */
  readonly cv: number;
}

/** max/mean, min/mean and the coefficient of variation of `values` (population σ). */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { maxOverMean: Number.NaN, minOverMean: Number.NaN, cv: Number.NaN };
  let sum = 0;
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (const v of values) {
    sum += v;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  const sd = Math.sqrt(squares / values.length);
  return { maxOverMean: max / mean, minOverMean: min / mean, cv: sd / mean };
}

/** The q-quantile (0–1) of ascending `sorted` values, nearest rank. */
export function quantile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Draws key indices 0…n−1: uniform for `s = 0`, else Zipf with exponent `s`
 * (key k has weight 1/(k+1)^s), by binary search over a precomputed CDF.
 */
export function keySampler(n: number, s: number, random: () => number): () => number {
  if (s === 0) return () => Math.min(n - 1, Math.floor(random() * n));
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / (k + 1) ** s;
    cdf[k] = total;
  }
  return () => {
    const u = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** A binary min-heap of (time, payload) for the discrete-event simulation. */
export class EventQueue {
  readonly #times: number[] = [];
  readonly #payloads: number[] = [];

  get size(): number {
    return this.#times.length;
  }

  /** The earliest time, or `Infinity` when empty. */
  peekTime(): number {
    return this.#times.length === 0 ? Number.POSITIVE_INFINITY : this.#times[0]!;
  }

  push(time: number, payload: number): void {
    const times = this.#times;
    const payloads = this.#payloads;
    let i = times.length;
    times.push(time);
    payloads.push(payload);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= time) break;
      times[i] = times[parent]!;
      payloads[i] = payloads[parent]!;
      i = parent;
    }
    times[i] = time;
    payloads[i] = payload;
  }

  /** Removes the earliest event and returns its payload (the queue must not be empty). */
  pop(): number {
    const times = this.#times;
    const payloads = this.#payloads;
    const top = payloads[0]!;
    const lastTime = times.pop()!;
    const lastPayload = payloads.pop()!;
    const n = times.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && times[right]! < times[left]! ? right : left;
      if (times[child]! >= lastTime) break;
      times[i] = times[child]!;
      payloads[i] = payloads[child]!;
      i = child;
    }
    times[i] = lastTime;
    payloads[i] = lastPayload;
    return top;
  }
}
