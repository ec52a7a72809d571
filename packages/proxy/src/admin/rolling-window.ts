/**
 * Per-second totals over the last minute, for the status page: requests, errors and a latency
 * histogram per second, kept in a ring of one slot per second. Recording is a few array writes;
 * reading sums the slots of the last `seconds` seconds.
 */

/** Upper bounds of the latency buckets, ms: 0.1 ms growing by a quarter up to about two minutes. */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze(
  Array.from({ length: 64 }, (_, i) => Math.round(0.1 * 1.25 ** i * 1000) / 1000),
);

const BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** What one window holds, summed over its seconds; plain data (it crosses process boundaries). */
export interface WindowTotals {
  /** Seconds the totals cover (less than the window right after start). */
  readonly seconds: number;
  readonly requests: number;
  readonly errors: number;
  /** Counts per latency bucket ({@link LATENCY_BOUNDS_MS}, then one for anything slower). */
  readonly latency: readonly number[];
}

/** The index of the bucket for `ms`: the first bound ≥ it (binary search over the fixed bounds). */
export function latencyBucket(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((LATENCY_BOUNDS_MS[mid] as number) >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A ring of per-second slots covering the last `size` seconds. */
export class RollingWindow {
  readonly #size: number;
  readonly #stamp: Float64Array;
  readonly #requests: Float64Array;
  readonly #errors: Float64Array;
  readonly #latency: Float64Array;
  readonly #startSecond: number;

  /** `second`: the current whole second since the epoch (see {@link sampledClock}). */
  constructor(
    size: number,
    readonly second: () => number,
  ) {
    this.#size = size;
    this.#stamp = new Float64Array(size).fill(-1);
    this.#requests = new Float64Array(size);
    this.#errors = new Float64Array(size);
    this.#latency = new Float64Array(size * BUCKETS);
    this.#startSecond = second();
  }

  #slot(): number {
    const second = this.second();
    const slot = second % this.#size;
    if (this.#stamp[slot] !== second) {
      this.#stamp[slot] = second;
      this.#requests[slot] = 0;
      this.#errors[slot] = 0;
      this.#latency.fill(0, slot * BUCKETS, (slot + 1) * BUCKETS);
    }
    return slot;
  }

  /** One answered request (or attempt) that took `ms` to its response head; `error`: it counts as failed. */
  answered(ms: number, error: boolean): void {
    const slot = this.#slot();
    this.#requests[slot] = (this.#requests[slot] as number) + 1;
    if (error) this.#errors[slot] = (this.#errors[slot] as number) + 1;
    const i = slot * BUCKETS + latencyBucket(ms);
    this.#latency[i] = (this.#latency[i] as number) + 1;
  }

  /** One request (or attempt) that failed without a response. */
  failed(): void {
    const slot = this.#slot();
    this.#requests[slot] = (this.#requests[slot] as number) + 1;
    this.#errors[slot] = (this.#errors[slot] as number) + 1;
  }

  /** The totals of the last `size` seconds, the current one included. */
  totals(): WindowTotals {
    const second = this.second();
    const oldest = second - this.#size + 1;
    let requests = 0;
    let errors = 0;
    const latency = new Array<number>(BUCKETS).fill(0);
    for (let slot = 0; slot < this.#size; slot++) {
      const stamp = this.#stamp[slot] as number;
      if (stamp < oldest || stamp > second) continue;
      requests += this.#requests[slot] as number;
      errors += this.#errors[slot] as number;
      const base = slot * BUCKETS;
      for (let b = 0; b < BUCKETS; b++) latency[b] = (latency[b] as number) + (this.#latency[base + b] as number);
    }
    const seconds = Math.max(1, Math.min(this.#size, second - this.#startSecond + 1));
    return { seconds, requests, errors, latency };
  }
}

/** The sum of several windows' totals (workers, or backends), over the longest span among them. */
export function sumTotals(all: readonly WindowTotals[]): WindowTotals {
  const latency = new Array<number>(BUCKETS).fill(0);
  let requests = 0;
  let errors = 0;
  let seconds = 1;
  for (const t of all) {
    requests += t.requests;
    errors += t.errors;
    seconds = Math.max(seconds, t.seconds);
    for (let b = 0; b < BUCKETS && b < t.latency.length; b++) latency[b] = (latency[b] as number) + (t.latency[b] ?? 0);
  }
  return { seconds, requests, errors, latency };
}

/** The `q` quantile (0–1) of the latency histogram, ms: the upper bound of its bucket; null without samples. */
export function quantileMs(latency: readonly number[], q: number): number | null {
  let total = 0;
  for (const n of latency) total += n;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let b = 0; b < latency.length; b++) {
    seen += latency[b] ?? 0;
    // Slower than the last bound: reported as the last bound (JSON has no infinity).
    if (seen >= rank) return LATENCY_BOUNDS_MS[Math.min(b, LATENCY_BOUNDS_MS.length - 1)] as number;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] as number;
}

/** A source of the current whole second for the windows. */
export interface SecondsClock {
  second(): number;
  /** Stops the sampling timer, if any. */
  stop(): void;
}

/**
 * The current second of `now()`, sampled every 100 ms by an unreferenced timer rather than read
 * per request: on virtual machines without a fast clock source every clock read is a system call,
 * and the windows only need the second.
 */
export function sampledClock(now: () => number): SecondsClock {
  let current = Math.floor(now() / 1000);
  const timer = setInterval(() => {
    current = Math.floor(now() / 1000);
  }, 100);
  timer.unref();
  return { second: () => current, stop: () => clearInterval(timer) };
}

/** The current second of `now()`, read on every call (an injected test clock). */
export function exactClock(now: () => number): SecondsClock {
  return { second: () => Math.floor(now() / 1000), stop() {} };
}
