import { invalidOption } from './errors.js';
import { checkInteger, resolveOptions } from './options.js';

/** Options for {@link LoadTracker}. */
export interface LoadTrackerOptions {
  /**
   * Time constant τ of the peak-EWMA latency estimate, in ms: an observation's
   * weight decays as e^(−Δt/τ). Finagle's and Envoy's default.
   * @defaultValue 10000
   */
  readonly decayMs: number;
  /** Clock in ms; inject a fake one in tests and simulations. @defaultValue `performance.now` */
  readonly now: () => number;
}

/** Defaults for {@link LoadTrackerOptions}. */
export const LOAD_TRACKER_DEFAULTS: Readonly<LoadTrackerOptions> = Object.freeze({
  decayMs: 10_000,
  now: () => performance.now(),
});

/**
 * The most distinct EWMA time constants one tracker keeps at once. Each `finish`
 * updates every one of them, so the bound keeps `finish` O(1).
 */
const MAX_DECAY_CONSTANTS = 8;

interface Ewma {
  cost: number;
  stamp: number;
}

interface Entry {
  inFlight: number;
  /** One estimate per registered time constant, same order as the tracker's `taus`. */
  ewmas: Ewma[];
}

function validate(options: Readonly<LoadTrackerOptions>): void {
  if (typeof options.decayMs !== 'number' || !Number.isFinite(options.decayMs) || options.decayMs <= 0) {
    invalidOption('loadTracker decayMs', 'a finite number > 0', options.decayMs);
  }
  if (typeof options.now !== 'function') invalidOption('loadTracker now', 'a function', options.now);
}

/**
 * Live load per backend id, shared by the proxy (which reports request start and
 * finish) and the load-aware selectors (which only read it). It outlives selector
 * rebuilds: the proxy owns one tracker per backend pool and hands it to every
 * selector it builds. Every operation is O(1) in the number of backends.
 * Throws `LB_ERR_INVALID_OPTION` on bad options.
 * @example
 * ```ts
 * const tracker = new LoadTracker();
 * tracker.start(b.id); // … later
 * tracker.finish(b.id, 12.5);
 * ```
 */
export class LoadTracker {
  /** The resolved options. */
  readonly options: Readonly<LoadTrackerOptions>;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  /** Registered EWMA time constants; index i matches `Entry.ewmas[i]`. */
  readonly #taus: number[];
  #total = 0;

  constructor(options?: Partial<LoadTrackerOptions>) {
    this.options = resolveOptions('loadTracker', LOAD_TRACKER_DEFAULTS, options, validate);
    this.#now = this.options.now;
    this.#taus = [this.options.decayMs];
  }

  /** Counts one more in-flight request on `id`. */
  start(id: string): void {
    this.#entry(id).inFlight++;
    this.#total++;
  }

  /**
   * Counts one in-flight request on `id` as done (never below 0) and, when
   * `latencyMs` is given, folds it into the peak-EWMA estimates. Leave `latencyMs`
   * out for requests whose duration says nothing about the backend (a client abort).
   */
  finish(id: string, latencyMs?: number): void {
    const e = this.#entry(id);
    if (e.inFlight > 0) {
      e.inFlight--;
      this.#total--;
    }
    if (latencyMs === undefined) return;
    if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) {
      invalidOption('loadTracker finish latencyMs', 'a finite number >= 0', latencyMs);
    }
    const t = this.#now();
    for (let i = 0; i < this.#taus.length; i++) {
      const s = e.ewmas[i]!;
      const w = Math.exp(-Math.max(t - s.stamp, 0) / this.#taus[i]!);
      const decayed = s.cost * w;
      // Peak sensitivity: a slower observation takes over at once, a faster one only blends in.
      s.cost = latencyMs > decayed ? latencyMs : decayed + latencyMs * (1 - w);
      s.stamp = t;
    }
  }

  /** In-flight requests on `id`; 0 for an unknown id. */
  inFlight(id: string): number {
    return this.#entries.get(id)?.inFlight ?? 0;
  }

  /** In-flight requests over all ids. */
  total(): number {
    return this.#total;
  }

  /**
   * The peak-EWMA latency estimate of `id` in ms at `now()` (Finagle's `PeakEwma`):
   * an observation above the current estimate replaces it at once (the peak), a
   * lower one is blended in with weight 1 − e^(−Δt/τ), and between observations the
   * estimate decays toward 0 as e^(−Δt/τ), so an idle backend gets tried again.
   * 0 for an id never observed. Unlike Finagle, reading does not change the state
   * (Finagle folds a zero observation into every read, so its estimate depends on
   * how often it is read). `decayMs` picks τ, the tracker's own by default; the
   * first read with a new τ starts tracking it (at most 8 distinct values), so
   * estimates under that τ only reflect later observations.
   */
  ewma(id: string, decayMs: number = this.options.decayMs): number {
    const i = this.#tauIndex(decayMs);
    const s = this.#entries.get(id)?.ewmas[i];
    if (s === undefined) return 0;
    return s.cost * Math.exp(-Math.max(this.#now() - s.stamp, 0) / decayMs);
  }

  /** Drops the state of ids not in `ids` that have nothing in flight (call after a membership change). */
  retain(ids: Iterable<string>): void {
    const keep = new Set(ids);
    for (const [id, e] of this.#entries) if (!keep.has(id) && e.inFlight === 0) this.#entries.delete(id);
  }

  #entry(id: string): Entry {
    let e = this.#entries.get(id);
    if (e === undefined) {
      const t = this.#now();
      e = { inFlight: 0, ewmas: this.#taus.map(() => ({ cost: 0, stamp: t })) };
      this.#entries.set(id, e);
    }
    return e;
  }

  #tauIndex(decayMs: number): number {
    const i = this.#taus.indexOf(decayMs);
    if (i >= 0) return i;
    if (typeof decayMs !== 'number' || !Number.isFinite(decayMs) || decayMs <= 0) {
      invalidOption('loadTracker ewma decayMs', 'a finite number > 0', decayMs);
    }
    checkInteger('loadTracker distinct decayMs values', this.#taus.length + 1, 1, MAX_DECAY_CONSTANTS);
    this.#taus.push(decayMs);
    const t = this.#now();
    for (const e of this.#entries.values()) e.ewmas.push({ cost: 0, stamp: t });
    return this.#taus.length - 1;
  }
}
