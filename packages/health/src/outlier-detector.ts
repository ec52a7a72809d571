import { EventEmitter } from 'node:events';
import { type Backend, checkInteger, checkNonNegative, invalidOption, resolveOptions } from '@switchyard/core';
import type { Logger } from 'pino';
import { checkLogger, componentLogger } from './internal/logger.js';

/** The outcome of one proxied request, as the proxy reports it. */
export type OutlierOutcome = 'success' | 'connect-error' | 'timeout' | 'http-5xx';

/** Options of {@link createOutlierDetector}; the numbers are Envoy's outlier-detection defaults. */
export interface OutlierDetectorOptions {
  /** Consecutive failures (connect error, timeout, 5xx) that eject a backend. @defaultValue 5 */
  readonly consecutiveFailures: number;
  /** Ejection time of the first ejection; the n-th lasts n × this. @defaultValue 30000 */
  readonly baseEjectionMs: number;
  /** Cap on one ejection's time. @defaultValue 300000 */
  readonly maxEjectionMs: number;
  /** Most of the pool ejected at once, in percent; one backend may always be ejected. @defaultValue 10 */
  readonly maxEjectedPercent: number;
  /**
   * The pool. Given here or through `setBackends`, outcomes of other ids are ignored; when
   * never given, every id reported joins the pool. @defaultValue undefined
   */
  readonly backends: readonly Backend[] | undefined;
  /** Clock in ms. @defaultValue Date.now */
  readonly now: () => number;
  /** Ejections are logged at warn, returns at info. @defaultValue a disabled logger */
  readonly logger: Logger | undefined;
}

/** Defaults of {@link createOutlierDetector}: Envoy's (5 failures, 30 s × n capped at 300 s, 10 %). */
export const OUTLIER_DETECTOR_DEFAULTS: OutlierDetectorOptions = Object.freeze({
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectedPercent: 10,
  backends: undefined,
  now: Date.now,
  logger: undefined,
});

/** Passive health: ejects backends that fail real traffic. See {@link createOutlierDetector}. */
export interface OutlierDetector {
  /** Feeds one request outcome. Outcomes for an ejected backend are ignored. */
  record(backend: Backend | string, outcome: OutlierOutcome): void;
  /** True while the backend is ejected (an expired ejection ends here, emitting `reinstate`). */
  isEjected(backend: Backend | string): boolean;
  /** Ends an ejection now (e.g. an active check passed). No-op when not ejected. */
  reinstate(backend: Backend | string): void;
  /**
   * Applies an ejection decided elsewhere (another worker's detector) for `ms` milliseconds
   * from now: it counts as one more ejection of the backend and is bounded by
   * `maxEjectedPercent` like one of this detector's own. Emits `eject`. Returns true when the
   * backend is ejected afterwards (already ejected: true, unchanged); false for an id outside
   * the pool or when the cap leaves no room. Throws `LB_ERR_INVALID_OPTION` unless `ms` is a
   * non-negative number.
   */
  eject(backend: Backend | string, ms: number): boolean;
  /** Replaces the pool (its size bounds `maxEjectedPercent`); state is kept for ids that stay. */
  setBackends(backends: readonly Backend[]): void;
  /** Ids currently ejected, in ejection order. */
  ejected(): readonly string[];
  /** `eject` listeners also get the ejection's length in ms. */
  on(event: 'eject', listener: (id: string, ejectionMs: number) => void): this;
  on(event: 'reinstate', listener: (id: string) => void): this;
  off(event: 'eject', listener: (id: string, ejectionMs: number) => void): this;
  off(event: 'reinstate', listener: (id: string) => void): this;
}

const OUTCOMES: ReadonlySet<string> = new Set<OutlierOutcome>(['success', 'connect-error', 'timeout', 'http-5xx']);

interface State {
  failures: number;
  timesEjected: number;
  /** `now()` at which the current ejection ends; undefined when not ejected. */
  until: number | undefined;
}

function validate(o: OutlierDetectorOptions): void {
  checkInteger('outlier consecutiveFailures', o.consecutiveFailures, 1);
  checkNonNegative('outlier baseEjectionMs', o.baseEjectionMs);
  checkNonNegative('outlier maxEjectionMs', o.maxEjectionMs);
  if (o.maxEjectionMs < o.baseEjectionMs)
    invalidOption('outlier maxEjectionMs', `at least baseEjectionMs (${o.baseEjectionMs})`, o.maxEjectionMs);
  if (typeof o.maxEjectedPercent !== 'number' || !(o.maxEjectedPercent >= 0 && o.maxEjectedPercent <= 100)) {
    invalidOption('outlier maxEjectedPercent', 'a number from 0 to 100', o.maxEjectedPercent);
  }
  if (o.backends !== undefined) checkBackends(o.backends);
  if (typeof o.now !== 'function') invalidOption('outlier now', 'a function', o.now);
  checkLogger('outlier logger', o.logger);
}

/**
 * Creates an outlier detector (Envoy's consecutive-failure detection): after
 * `consecutiveFailures` failures in a row a backend is ejected for
 * `min(baseEjectionMs × times ejected, maxEjectionMs)`; a success resets the count. At most
 * `max(1, floor(pool × maxEjectedPercent / 100))` backends are ejected at once (Envoy: "at
 * least one host"); a backend over the limit stays in and is ejected on its next failure
 * once there is room. Time only comes from `now()`: expiry is noticed by the next call.
 * Throws `LB_ERR_INVALID_OPTION` on bad options.
 */
export function createOutlierDetector(options?: Partial<OutlierDetectorOptions>): OutlierDetector {
  const o = resolveOptions('outlier detector', OUTLIER_DETECTOR_DEFAULTS, options, validate);
  return new Detector(o, componentLogger(o.logger, 'outlier'));
}

class Detector implements OutlierDetector {
  readonly #states = new Map<string, State>();
  readonly #ejected = new Set<string>();
  readonly #events = new EventEmitter();
  #fixedPool: boolean;

  constructor(
    private readonly o: OutlierDetectorOptions,
    private readonly log: Logger,
  ) {
    this.#fixedPool = o.backends !== undefined;
    if (o.backends !== undefined) this.setBackends(o.backends);
  }

  record(backend: Backend | string, outcome: OutlierOutcome): void {
    if (!OUTCOMES.has(outcome))
      invalidOption('outlier outcome', 'success, connect-error, timeout or http-5xx', outcome);
    const id = idOf(backend);
    const state = this.#state(id);
    if (state === undefined || this.#expire(id, state)) return;
    if (outcome === 'success') {
      state.failures = 0;
      return;
    }
    state.failures++;
    // ejected() first ends expired ejections, so they do not hold places under the cap.
    if (state.failures >= this.o.consecutiveFailures && this.ejected().length < this.#maxEjected()) {
      const ms = Math.min(this.o.baseEjectionMs * (state.timesEjected + 1), this.o.maxEjectionMs);
      this.#start(id, state, ms);
      this.log.warn({ backend: id, outcome, ejectionMs: ms, times: state.timesEjected }, `${id} ejected for ${ms} ms`);
      this.#emit('eject', id, ms);
    }
  }

  isEjected(backend: Backend | string): boolean {
    const id = idOf(backend);
    const state = this.#states.get(id);
    return state !== undefined && this.#expire(id, state);
  }

  eject(backend: Backend | string, ms: number): boolean {
    checkNonNegative('outlier eject ms', ms);
    const id = idOf(backend);
    const state = this.#state(id);
    if (state === undefined) return false;
    if (this.#expire(id, state)) return true;
    if (this.ejected().length >= this.#maxEjected()) return false;
    this.#start(id, state, ms);
    this.log.warn({ backend: id, ejectionMs: ms, times: state.timesEjected }, `${id} ejected for ${ms} ms (shared)`);
    this.#emit('eject', id, ms);
    return true;
  }

  reinstate(backend: Backend | string): void {
    const id = idOf(backend);
    const state = this.#states.get(id);
    if (state?.until !== undefined) this.#return(id, state, 'reinstated');
  }

  setBackends(backends: readonly Backend[]): void {
    checkBackends(backends);
    this.#fixedPool = true;
    const keep = new Set(backends.map(idOf));
    for (const id of keep) if (!this.#states.has(id)) this.#states.set(id, fresh());
    for (const id of [...this.#states.keys()]) {
      if (keep.has(id)) continue;
      this.#states.delete(id);
      this.#ejected.delete(id);
    }
  }

  ejected(): readonly string[] {
    return [...this.#ejected].filter((id) => this.isEjected(id));
  }

  on(event: 'eject' | 'reinstate', listener: (id: string, ejectionMs: number) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  off(event: 'eject' | 'reinstate', listener: (id: string, ejectionMs: number) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  #state(id: string): State | undefined {
    let state = this.#states.get(id);
    if (state === undefined && !this.#fixedPool) {
      state = fresh();
      this.#states.set(id, state);
    }
    return state;
  }

  #maxEjected(): number {
    return Math.max(1, Math.floor((this.#states.size * this.o.maxEjectedPercent) / 100));
  }

  /** True while `id` stays ejected; ends an ejection whose time has come. */
  #expire(id: string, state: State): boolean {
    if (state.until === undefined) return false;
    if (this.o.now() < state.until) return true;
    this.#return(id, state, 'ejection time over');
    return false;
  }

  #start(id: string, state: State, ms: number): void {
    state.timesEjected++;
    state.until = this.o.now() + ms;
    state.failures = 0;
    this.#ejected.add(id);
  }

  #return(id: string, state: State, why: string): void {
    state.until = undefined;
    state.failures = 0;
    this.#ejected.delete(id);
    this.log.info({ backend: id, why }, `${id} returns to the pool`);
    this.#emit('reinstate', id);
  }

  #emit(event: 'eject' | 'reinstate', id: string, ejectionMs?: number): void {
    try {
      this.#events.emit(event, id, ...(ejectionMs === undefined ? [] : [ejectionMs]));
    } catch (err) {
      this.log.error({ err, backend: id }, `an outlier ${event} listener threw`);
    }
  }
}

/** Throws `LB_ERR_INVALID_OPTION` unless `backends` is an array of Backend (objects with a string id). */
function checkBackends(backends: unknown): void {
  if (!Array.isArray(backends)) invalidOption('outlier backends', 'an array of Backend', backends);
  for (const b of backends as unknown[]) {
    if (typeof (b as { id?: unknown } | null)?.id !== 'string')
      invalidOption('outlier backends', 'Backend objects (from backend())', b);
  }
}

function fresh(): State {
  return { failures: 0, timesEjected: 0, until: undefined };
}

function idOf(backend: Backend | string): string {
  return typeof backend === 'string' ? backend : backend.id;
}
