import { EventEmitter } from 'node:events';
import type { Backend } from '@switchyard/core';
import { type BackendHealth, HEALTH_MONITOR_DEFAULTS, type HealthChange, type HealthMonitor } from '@switchyard/health';
import type { Logger } from 'pino';
import type { SharedBackendState } from './health-messages.js';

/** Where a {@link HealthViewMonitor} reads the shared state and sends its requests. */
export interface HealthViewSource {
  /** The primary's state of `id` in `upstream`, when it has sent one. */
  state(upstream: string, id: string): SharedBackendState | undefined;
  /** Asks the primary to check `upstream`'s backends now; resolves once its answer arrived. */
  checkNow(upstream: string): Promise<void>;
  /** Passes on that traffic to `id` succeeded (batched, for the primary's `skipOnTraffic`). */
  reportTraffic(upstream: string, id: string): void;
  /** The monitor was stopped: no more transitions for it. */
  detach(monitor: HealthViewMonitor): void;
}

/**
 * A worker's {@link HealthMonitor} under `switchyard serve --workers N`: it runs no checks
 * itself; health is what the primary's monitor for the same upstream decided, as the
 * {@link HealthViewSource} last heard it (a backend the primary has not reported yet is in
 * the monitor's default initial state, healthy). Transitions arrive through
 * {@link HealthViewMonitor.apply} and are emitted as `change` like a local monitor's. The drain
 * flag (`setEnabled`) stays local to this worker. `snapshot()` counters are the primary's as of
 * its last transition of the backend; `skippedChecks` is not known here and reads 0.
 */
export class HealthViewMonitor implements HealthMonitor {
  readonly #events = new EventEmitter();
  #members = new Map<string, Backend>();
  readonly #disabled = new Set<string>();

  constructor(
    /** The upstream's name in the config (the key of the shared view). */
    readonly upstream: string,
    private readonly source: HealthViewSource,
    private readonly log: Logger,
    private readonly skipOnTraffic: boolean,
  ) {}

  isHealthy(backend: Backend | string): boolean {
    const id = idOf(backend);
    return this.#members.has(id) && this.#healthy(id);
  }

  isEnabled(backend: Backend | string): boolean {
    const id = idOf(backend);
    return this.#members.has(id) && !this.#disabled.has(id);
  }

  isReady(backend: Backend | string): boolean {
    return this.isHealthy(backend) && this.isEnabled(backend);
  }

  setEnabled(backend: Backend | string, enabled: boolean): void {
    const id = idOf(backend);
    if (!this.#members.has(id) || this.isEnabled(id) === enabled) return;
    if (enabled) this.#disabled.delete(id);
    else this.#disabled.add(id);
    this.log.info({ backend: id }, enabled ? 'backend enabled' : 'backend disabled (draining)');
  }

  reportTraffic(backend: Backend | string): void {
    if (!this.skipOnTraffic) return;
    const id = idOf(backend);
    if (this.#members.has(id)) this.source.reportTraffic(this.upstream, id);
  }

  setBackends(backends: readonly Backend[]): void {
    this.#members = new Map(backends.map((b) => [b.id, b]));
    for (const id of [...this.#disabled]) if (!this.#members.has(id)) this.#disabled.delete(id);
  }

  snapshot(): readonly BackendHealth[] {
    return [...this.#members.values()].map((backend) => {
      const s = this.source.state(this.upstream, backend.id);
      return Object.freeze({
        backend,
        healthy: this.#healthy(backend.id),
        enabled: !this.#disabled.has(backend.id),
        consecutiveSuccesses: s?.consecutiveSuccesses ?? 0,
        consecutiveFailures: s?.consecutiveFailures ?? 0,
        ...(s?.lastChangeAt === undefined ? {} : { lastChangeAt: s.lastChangeAt }),
        skippedChecks: 0,
      });
    });
  }

  on(event: 'change', listener: (change: HealthChange) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  off(event: 'change', listener: (change: HealthChange) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /** Asks the primary to check this upstream's backends now; resolves when it has answered. */
  checkNow(): Promise<void> {
    return this.source.checkNow(this.upstream);
  }

  /** The primary checks; nothing to start here. */
  start(): void {}

  async stop(): Promise<void> {
    this.source.detach(this);
  }

  /**
   * Takes a state the primary sent for `id` (already stored in the source, so `isHealthy`
   * answers with it) and emits `change` when a member's health differs from `before`.
   */
  apply(id: string, before: boolean, state: SharedBackendState, at: number): void {
    const backend = this.#members.get(id);
    if (backend === undefined || before === state.healthy) return;
    const change: HealthChange =
      state.healthy || state.reason === undefined
        ? { backend, healthy: state.healthy, at }
        : { backend, healthy: state.healthy, reason: state.reason, at };
    try {
      this.#events.emit('change', change);
    } catch (err) {
      this.log.error({ err, backend: id }, 'a health change listener threw');
    }
  }

  #healthy(id: string): boolean {
    return this.source.state(this.upstream, id)?.healthy ?? HEALTH_MONITOR_DEFAULTS.initialState === 'healthy';
  }
}

function idOf(backend: Backend | string): string {
  return typeof backend === 'string' ? backend : backend.id;
}
