import { EventEmitter, setMaxListeners } from 'node:events';
import { type Backend, checkInteger, checkNonNegative, invalidOption, resolveOptions } from '@switchyard/core';
import type { Logger } from 'pino';
import type { CheckResult, HealthCheck } from './check.js';
import { componentLogger } from './internal/logger.js';
import { observe } from './internal/threshold.js';

/** A health transition of one backend. */
export interface HealthChange {
  readonly backend: Backend;
  readonly healthy: boolean;
  /** The failing check's reason when turning unhealthy; absent when turning healthy. */
  readonly reason?: string;
  /** `now()` at the transition. */
  readonly at: number;
}

/** What the monitor knows about one backend. */
export interface BackendHealth {
  readonly backend: Backend;
  readonly healthy: boolean;
  /** The manual drain flag (Pingora's `set_enable`), independent of health. */
  readonly enabled: boolean;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
  readonly lastResult?: CheckResult;
  /** `now()` of the last health transition; absent until the first one. */
  readonly lastChangeAt?: number;
}

/** The tunable settings of {@link createHealthMonitor}, all with defaults. */
export interface HealthMonitorSettings {
  /** Time between two checks of one backend, in ms. @defaultValue 1000 */
  readonly intervalMs: number;
  /** Each interval is varied by up to ± this fraction of `intervalMs` (0 to 1). @defaultValue 0.1 */
  readonly jitter: number;
  /** Consecutive passes that turn an unhealthy backend healthy. @defaultValue 1 (Pingora) */
  readonly healthyThreshold: number;
  /** Consecutive failures that turn a healthy backend unhealthy. @defaultValue 1 (Pingora) */
  readonly unhealthyThreshold: number;
  /** Most checks in flight at once, across all backends. @defaultValue 64 */
  readonly concurrency: number;
  /** State of a backend before its first transition. @defaultValue 'healthy' (Pingora) */
  readonly initialState: 'healthy' | 'unhealthy';
}

/** Defaults of {@link createHealthMonitor}. */
export const HEALTH_MONITOR_DEFAULTS: HealthMonitorSettings = Object.freeze({
  intervalMs: 1000,
  jitter: 0.1,
  healthyThreshold: 1,
  unhealthyThreshold: 1,
  concurrency: 64,
  initialState: 'healthy',
});

/** Options of {@link createHealthMonitor}: the backends, the check, and optional settings. */
export interface HealthMonitorOptions extends Partial<HealthMonitorSettings> {
  readonly backends: readonly Backend[];
  readonly check: HealthCheck;
  /** Transitions are logged at info (healthy) / warn (unhealthy). @defaultValue a disabled logger */
  readonly logger?: Logger;
  /** Clock for `at` / `lastChangeAt`. @defaultValue Date.now */
  readonly now?: () => number;
  /** Source of jitter, in [0, 1). @defaultValue Math.random */
  readonly random?: () => number;
  /** Called on every transition, before the `change` listeners. */
  readonly onChange?: (change: HealthChange) => void;
}

/** Active health checking of a set of backends. See {@link createHealthMonitor}. */
export interface HealthMonitor {
  /** Health of the backend with this id; an unknown id is not healthy. */
  isHealthy(backend: Backend | string): boolean;
  /** The manual drain flag (default true); an unknown id is not enabled. */
  isEnabled(backend: Backend | string): boolean;
  /** Healthy and enabled, like Pingora's `ready`. */
  isReady(backend: Backend | string): boolean;
  /** Sets the drain flag; does not touch health. No-op for an unknown id. */
  setEnabled(backend: Backend | string, enabled: boolean): void;
  /** Replaces the backend list: ids that stay keep their state, new ones start in `initialState`. */
  setBackends(backends: readonly Backend[]): void;
  /** The state of every backend, in list order. */
  snapshot(): readonly BackendHealth[];
  on(event: 'change', listener: (change: HealthChange) => void): this;
  off(event: 'change', listener: (change: HealthChange) => void): this;
  /** Checks every backend once now (joining checks already in flight); resolves when all are done. */
  checkNow(): Promise<void>;
  /** Starts periodic checking: every backend is checked at once, then every interval. Idempotent. */
  start(): void;
  /** Stops timers, aborts checks in flight and closes the check's connections. */
  stop(): Promise<void>;
}

interface Entry {
  backend: Backend;
  healthy: boolean;
  enabled: boolean;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  lastResult: CheckResult | undefined;
  lastChangeAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Set while the backend is queued or being checked: a second check joins it instead of stacking. */
  pending: Promise<void> | undefined;
  removed: boolean;
}

function validate(o: HealthMonitorSettings): void {
  checkNonNegative('health monitor intervalMs', o.intervalMs);
  if (o.intervalMs < 1) invalidOption('health monitor intervalMs', 'at least 1 ms', o.intervalMs);
  if (typeof o.jitter !== 'number' || !(o.jitter >= 0 && o.jitter <= 1)) {
    invalidOption('health monitor jitter', 'a fraction from 0 to 1', o.jitter);
  }
  checkInteger('health monitor healthyThreshold', o.healthyThreshold, 1);
  checkInteger('health monitor unhealthyThreshold', o.unhealthyThreshold, 1);
  checkInteger('health monitor concurrency', o.concurrency, 1);
  if (o.initialState !== 'healthy' && o.initialState !== 'unhealthy') {
    invalidOption('health monitor initialState', '"healthy" or "unhealthy"', o.initialState);
  }
}

/**
 * Creates a monitor that runs `check` against every backend every `intervalMs` (± jitter)
 * once started, at most `concurrency` at a time and never two at once for one backend,
 * and flips each backend's health with Pingora's threshold state machine. Transitions
 * emit `change`, call `onChange` and are logged. Throws `LB_ERR_INVALID_OPTION` on bad options.
 */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  if (typeof options !== 'object' || options === null) invalidOption('health monitor options', 'an object', options);
  const { backends, check, logger, now, random, onChange, ...tuning } = options;
  if (typeof check?.check !== 'function') invalidOption('health monitor check', 'a HealthCheck', check);
  const settings = resolveOptions('health monitor', HEALTH_MONITOR_DEFAULTS, tuning, validate);
  return new Monitor(settings, backends, check, {
    log: componentLogger(logger, 'health'),
    now: now ?? Date.now,
    random: random ?? Math.random,
    onChange,
  });
}

/** The monitor's stop signal: every check in flight listens to it, so the default cap of 10 listeners does not apply. */
function newAbort(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

interface Hooks {
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
  readonly onChange: ((change: HealthChange) => void) | undefined;
}

class Monitor implements HealthMonitor {
  readonly #entries = new Map<string, Entry>();
  readonly #events = new EventEmitter();
  readonly #queue: Array<() => void> = [];
  #active = 0;
  #running = false;
  #abort = newAbort();

  constructor(
    private readonly settings: HealthMonitorSettings,
    backends: readonly Backend[],
    private readonly check: HealthCheck,
    private readonly hooks: Hooks,
  ) {
    this.setBackends(backends);
  }

  isHealthy(backend: Backend | string): boolean {
    return this.#find(backend)?.healthy ?? false;
  }

  isEnabled(backend: Backend | string): boolean {
    return this.#find(backend)?.enabled ?? false;
  }

  isReady(backend: Backend | string): boolean {
    const entry = this.#find(backend);
    return entry?.healthy === true && entry.enabled;
  }

  setEnabled(backend: Backend | string, enabled: boolean): void {
    const entry = this.#find(backend);
    if (entry === undefined || entry.enabled === enabled) return;
    entry.enabled = enabled;
    this.hooks.log.info({ backend: entry.backend.id }, enabled ? 'backend enabled' : 'backend disabled (draining)');
  }

  setBackends(backends: readonly Backend[]): void {
    if (!Array.isArray(backends)) invalidOption('health monitor backends', 'an array of Backend', backends);
    const next = new Map<string, Entry>();
    for (const b of backends) {
      if (typeof b?.id !== 'string') invalidOption('health monitor backends', 'Backend objects', b);
      const kept = this.#entries.get(b.id);
      if (kept !== undefined) {
        kept.backend = b;
        next.set(b.id, kept);
      } else if (!next.has(b.id)) {
        next.set(b.id, this.#newEntry(b));
      }
    }
    for (const [id, entry] of this.#entries) {
      if (next.has(id)) continue;
      entry.removed = true;
      clearTimeout(entry.timer);
      this.check.release?.(entry.backend).catch((err: unknown) => {
        this.hooks.log.debug({ err, backend: id }, 'releasing a removed backend failed');
      });
    }
    this.#entries.clear();
    for (const [id, entry] of next) {
      this.#entries.set(id, entry);
      if (this.#running && entry.timer === undefined) this.#tick(entry);
    }
  }

  snapshot(): readonly BackendHealth[] {
    return [...this.#entries.values()].map((e) =>
      Object.freeze({
        backend: e.backend,
        healthy: e.healthy,
        enabled: e.enabled,
        consecutiveSuccesses: e.consecutiveSuccesses,
        consecutiveFailures: e.consecutiveFailures,
        ...(e.lastResult === undefined ? {} : { lastResult: e.lastResult }),
        ...(e.lastChangeAt === undefined ? {} : { lastChangeAt: e.lastChangeAt }),
      }),
    );
  }

  on(event: 'change', listener: (change: HealthChange) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  off(event: 'change', listener: (change: HealthChange) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  async checkNow(): Promise<void> {
    if (this.#abort.signal.aborted) this.#abort = newAbort();
    await Promise.all([...this.#entries.values()].map((e) => this.#schedule(e)));
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#abort.signal.aborted) this.#abort = newAbort();
    for (const entry of this.#entries.values()) this.#tick(entry);
  }

  async stop(): Promise<void> {
    this.#running = false;
    const inFlight: Promise<void>[] = [];
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      if (entry.pending !== undefined) inFlight.push(entry.pending);
    }
    this.#abort.abort(new Error('health monitor stopped'));
    // Queued checks start, see the aborted signal and finish at once; running ones were aborted.
    await Promise.all(inFlight);
    await this.check.close?.();
  }

  #find(backend: Backend | string): Entry | undefined {
    return this.#entries.get(typeof backend === 'string' ? backend : backend.id);
  }

  #newEntry(backend: Backend): Entry {
    return {
      backend,
      healthy: this.settings.initialState === 'healthy',
      enabled: true,
      consecutiveSuccesses: 0,
      consecutiveFailures: 0,
      lastResult: undefined,
      lastChangeAt: undefined,
      timer: undefined,
      pending: undefined,
      removed: false,
    };
  }

  /** Runs a check of `entry` now and arms the next tick; the cadence is measured from tick to tick. */
  #tick(entry: Entry): void {
    const { intervalMs, jitter } = this.settings;
    const delay = Math.max(1, intervalMs * (1 + jitter * (2 * this.hooks.random() - 1)));
    entry.timer = setTimeout(() => {
      if (this.#running && !entry.removed) this.#tick(entry);
    }, delay);
    if (entry.pending !== undefined) {
      this.hooks.log.debug({ backend: entry.backend.id }, 'previous check still running; not stacking another');
      return;
    }
    void this.#schedule(entry);
  }

  /** Queues a check of `entry` under the concurrency bound, or joins the one already pending. */
  #schedule(entry: Entry): Promise<void> {
    if (entry.pending !== undefined) return entry.pending;
    const pending = new Promise<void>((resolve) => {
      this.#queue.push(() => {
        this.#run(entry).finally(() => {
          entry.pending = undefined;
          this.#active--;
          resolve();
          this.#pump();
        });
      });
    });
    entry.pending = pending;
    this.#pump();
    return pending;
  }

  #pump(): void {
    while (this.#active < this.settings.concurrency && this.#queue.length > 0) {
      this.#active++;
      this.#queue.shift()?.();
    }
  }

  async #run(entry: Entry): Promise<void> {
    const signal = this.#abort.signal;
    if (signal.aborted || entry.removed) return;
    let result: CheckResult;
    try {
      result = await this.check.check(entry.backend, signal);
    } catch (err) {
      // A check should resolve with ok: false; a throwing one still counts as a failure.
      result = { ok: false, reason: err instanceof Error ? err.message : String(err), durationMs: 0 };
    }
    // A check cut short by stop() says nothing about the backend.
    if (signal.aborted || entry.removed) return;
    this.#record(entry, result);
  }

  #record(entry: Entry, result: CheckResult): void {
    const { next, flipped } = observe(
      entry,
      result.ok,
      this.settings.healthyThreshold,
      this.settings.unhealthyThreshold,
    );
    entry.healthy = next.healthy;
    entry.consecutiveSuccesses = next.consecutiveSuccesses;
    entry.consecutiveFailures = next.consecutiveFailures;
    entry.lastResult = result;
    if (!flipped) return;
    const at = this.hooks.now();
    entry.lastChangeAt = at;
    const id = entry.backend.id;
    const change: HealthChange =
      result.reason === undefined || next.healthy
        ? { backend: entry.backend, healthy: next.healthy, at }
        : { backend: entry.backend, healthy: next.healthy, reason: result.reason, at };
    if (next.healthy) this.hooks.log.info({ backend: id }, `${id} becomes healthy`);
    else this.hooks.log.warn({ backend: id, reason: result.reason }, `${id} becomes unhealthy: ${result.reason}`);
    this.#notify(change);
  }

  #notify(change: HealthChange): void {
    try {
      this.hooks.onChange?.(change);
      this.#events.emit('change', change);
    } catch (err) {
      this.hooks.log.error({ err, backend: change.backend.id }, 'a health change listener threw');
    }
  }
}
