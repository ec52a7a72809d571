import { type Backend, checkInteger, checkNonNegative, invalidOption, resolveOptions } from '@switchyard/core';
import type { Logger } from 'pino';
import type { CheckResult, HealthCheck } from './check.js';
import { checkLogger, componentLogger } from './internal/logger.js';
import { Monitor } from './internal/monitor.js';
import { MAX_TIMER_MS } from './internal/timer.js';

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
  /** Periodic checks skipped because real traffic had proved the backend healthy (`skipOnTraffic`). */
  readonly skippedChecks: number;
}

/** The tunable settings of {@link createHealthMonitor}, all with defaults. */
export interface HealthMonitorSettings {
  /** Time between two checks of one backend, in ms (1 to 2^31 - 1). @defaultValue 1000 */
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
  /**
   * Skip a periodic check of a backend that real traffic has just proved healthy: when a
   * backend is healthy, its last check passed, and {@link HealthMonitor.reportTraffic} was
   * called for it since its previous periodic tick, that tick runs no check (the state and
   * counters stay as they are). A backend without such traffic — idle, draining, failing or
   * unhealthy — is checked every interval as usual, and `checkNow()` always checks. Active
   * checking then costs nothing for busy backends; failures in the traffic itself are for
   * passive outlier detection to act on, so turn this on only together with it (Envoy issue
   * 9351 discusses the same trade). @defaultValue false (Pingora: every backend every interval)
   */
  readonly skipOnTraffic: boolean;
}

/** Defaults of {@link createHealthMonitor}. */
export const HEALTH_MONITOR_DEFAULTS: HealthMonitorSettings = Object.freeze({
  intervalMs: 1000,
  jitter: 0.1,
  healthyThreshold: 1,
  unhealthyThreshold: 1,
  concurrency: 64,
  initialState: 'healthy',
  skipOnTraffic: false,
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
  /**
   * Records that a response from this backend just succeeded in real traffic; with
   * `skipOnTraffic` it lets the backend's next periodic check be skipped (see there). Cheap
   * enough to call once per request; a no-op for an unknown id or without `skipOnTraffic`.
   */
  reportTraffic(backend: Backend | string): void;
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

function validate(o: HealthMonitorSettings): void {
  checkNonNegative('health monitor intervalMs', o.intervalMs);
  if (o.intervalMs < 1 || o.intervalMs > MAX_TIMER_MS)
    invalidOption('health monitor intervalMs', `from 1 to ${MAX_TIMER_MS} ms`, o.intervalMs);
  if (typeof o.jitter !== 'number' || !(o.jitter >= 0 && o.jitter <= 1)) {
    invalidOption('health monitor jitter', 'a fraction from 0 to 1', o.jitter);
  }
  checkInteger('health monitor healthyThreshold', o.healthyThreshold, 1);
  checkInteger('health monitor unhealthyThreshold', o.unhealthyThreshold, 1);
  checkInteger('health monitor concurrency', o.concurrency, 1);
  if (o.initialState !== 'healthy' && o.initialState !== 'unhealthy') {
    invalidOption('health monitor initialState', '"healthy" or "unhealthy"', o.initialState);
  }
  if (typeof o.skipOnTraffic !== 'boolean') invalidOption('health monitor skipOnTraffic', 'a boolean', o.skipOnTraffic);
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
  checkLogger('health monitor logger', logger);
  if (now !== undefined && typeof now !== 'function') invalidOption('health monitor now', 'a function', now);
  if (random !== undefined && typeof random !== 'function')
    invalidOption('health monitor random', 'a function', random);
  if (onChange !== undefined && typeof onChange !== 'function')
    invalidOption('health monitor onChange', 'a function', onChange);
  const settings = resolveOptions('health monitor', HEALTH_MONITOR_DEFAULTS, tuning, validate);
  return new Monitor(settings, backends, check, {
    log: componentLogger(logger, 'health'),
    now: now ?? Date.now,
    random: random ?? Math.random,
    onChange,
  });
}
