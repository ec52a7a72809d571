import { EventEmitter, setMaxListeners } from 'node:events';
import { type Backend, invalidOption } from '@switchyard/core';
import type { Logger } from 'pino';
import type { CheckResult, HealthCheck } from '../check.js';
import type { BackendHealth, HealthChange, HealthMonitor, HealthMonitorSettings } from '../health-monitor.js';
import { observe } from './threshold.js';
import { MAX_TIMER_MS } from './timer.js';

// The scheduling and state of createHealthMonitor (health-monitor.ts holds its public types and options).

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
  /** Real traffic succeeded since the previous periodic tick (see `skipOnTraffic`). */
  trafficOk: boolean;
  skippedChecks: number;
}

/** The monitor's stop signal: every check in flight listens to it, so the default cap of 10 listeners does not apply. */
function newAbort(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** What the factory injects: the component logger, the clock, the jitter source and `onChange`. */
export interface Hooks {
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
  readonly onChange: ((change: HealthChange) => void) | undefined;
}

/** The {@link HealthMonitor} implementation. */
export class Monitor implements HealthMonitor {
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

  reportTraffic(backend: Backend | string): void {
    if (!this.settings.skipOnTraffic) return;
    const entry = this.#find(backend);
    if (entry !== undefined) entry.trafficOk = true;
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
        skippedChecks: e.skippedChecks,
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
      trafficOk: false,
      skippedChecks: 0,
    };
  }

  /**
   * Runs a check of `entry` now (unless traffic since the last tick lets it skip, see
   * `skipOnTraffic`) and arms the next tick; the cadence is measured from tick to tick.
   */
  #tick(entry: Entry): void {
    const { intervalMs, jitter } = this.settings;
    // Jitter may push a long interval past what setTimeout honours; clamp instead of firing at 1 ms.
    const delay = Math.min(MAX_TIMER_MS, Math.max(1, intervalMs * (1 + jitter * (2 * this.hooks.random() - 1))));
    entry.timer = setTimeout(() => {
      if (this.#running && !entry.removed) this.#tick(entry);
    }, delay);
    if (entry.pending !== undefined) {
      this.hooks.log.debug({ backend: entry.backend.id }, 'previous check still running; not stacking another');
      return;
    }
    const provenByTraffic = entry.trafficOk && entry.healthy && entry.consecutiveFailures === 0;
    entry.trafficOk = false;
    if (provenByTraffic) {
      entry.skippedChecks++;
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
