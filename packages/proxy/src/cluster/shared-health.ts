import {
  createOutlierDetector,
  HEALTH_MONITOR_DEFAULTS,
  type HealthMonitor,
  type OutlierDetector,
} from '@switchyard/health';
import type { Logger } from 'pino';
import type { ResolvedUpstream } from '../config/resolve.js';
import type { HealthSource } from '../config/runtime.js';
import {
  HEALTH_CHANNEL,
  isHealthMessage,
  type SharedBackendState,
  type ToPrimary,
  type ToWorker,
} from './health-messages.js';
import { HealthViewMonitor, type HealthViewSource } from './health-view-monitor.js';
import { PoolWatchingDetector } from './pool-watching-detector.js';

/** How often a worker passes successful traffic on to the primary (`skipOnTraffic`), ms. */
const TRAFFIC_REPORT_MS = 100;

/**
 * A worker's side of the shared health view: it keeps what the primary last said about every
 * upstream (active health, ejections in force), builds the balancers' monitors
 * ({@link HealthViewMonitor}) and outlier detectors from it, and reports this worker's own
 * ejections to the primary, which passes them on to the other workers. Pass it as
 * `healthSource` to `createConfiguredApp`; feed it every IPC message with {@link handle}.
 */
export class SharedHealth implements HealthSource, HealthViewSource {
  readonly #states = new Map<string, Map<string, SharedBackendState>>();
  /** Ejections in force, by upstream: id → this process's `Date.now()` at which it ends. */
  readonly #ejections = new Map<string, Map<string, number>>();
  readonly #monitors = new Set<HealthViewMonitor>();
  /** The newest detector per upstream: the one the serving balancer feeds. */
  readonly #detectors = new Map<string, OutlierDetector>();
  readonly #checks = new Map<number, () => void>();
  readonly #traffic = new Map<string, Set<string>>();
  #trafficTimer: NodeJS.Timeout | undefined;
  #seq = 0;
  /** Set while applying an ejection from the primary, so that it is not reported back. */
  #applying = false;
  #viewArrived: () => void = () => {};
  /** Resolves when the first full view arrived. */
  readonly firstView: Promise<void> = new Promise((resolve) => {
    this.#viewArrived = resolve;
  });

  constructor(
    private readonly send: (message: ToPrimary) => void,
    private readonly log: Logger,
  ) {}

  /** Asks the primary for the full view (answered with a `view` message). */
  hello(): void {
    this.send({ channel: HEALTH_CHANNEL, type: 'hello' });
  }

  monitor(u: ResolvedUpstream): HealthMonitor {
    const skipOnTraffic = u.health?.skipOnTraffic ?? HEALTH_MONITOR_DEFAULTS.skipOnTraffic;
    const monitor = new HealthViewMonitor(u.name, this, this.log.child({ upstream: u.name }), skipOnTraffic);
    this.#monitors.add(monitor);
    return monitor;
  }

  outlier(u: ResolvedUpstream, logger: Logger): OutlierDetector {
    const detector = createOutlierDetector({ ...u.outlier, logger });
    const name = u.name;
    detector.on('eject', (id, ms) => {
      this.#ejectionsOf(name).set(id, Date.now() + ms);
      if (!this.#applying) this.send({ channel: HEALTH_CHANNEL, type: 'eject', upstream: name, id, ms });
    });
    detector.on('reinstate', (id) => {
      this.#ejections.get(name)?.delete(id);
    });
    this.#detectors.set(name, detector);
    // Ejections only hold for members: the ones in force are applied whenever the pool changes.
    return new PoolWatchingDetector(detector, () => this.#applyEjections(name, detector));
  }

  state(upstream: string, id: string): SharedBackendState | undefined {
    return this.#states.get(upstream)?.get(id);
  }

  checkNow(upstream: string): Promise<void> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      this.#checks.set(seq, resolve);
      this.send({ channel: HEALTH_CHANNEL, type: 'check-now', upstream, seq });
    });
  }

  reportTraffic(upstream: string, id: string): void {
    const ids = this.#traffic.get(upstream) ?? new Set<string>();
    this.#traffic.set(upstream, ids);
    ids.add(id);
    this.#trafficTimer ??= setTimeout(() => this.#flushTraffic(), TRAFFIC_REPORT_MS).unref();
  }

  detach(monitor: HealthViewMonitor): void {
    this.#monitors.delete(monitor);
  }

  /** Applies one message from the primary; other messages are ignored. */
  handle(message: unknown): void {
    if (!isHealthMessage(message)) return;
    const m = message as ToWorker;
    switch (m.type) {
      case 'view': {
        this.#applyView(m.upstreams);
        const unhealthy = Object.values(m.upstreams).flatMap((u) =>
          u.backends.filter((b) => !b.healthy).map((b) => b.id),
        );
        const ejected = Object.values(m.upstreams).flatMap((u) => u.ejected.map((e) => e.id));
        this.log.info({ unhealthy, ejected }, 'health view received from the primary');
        this.#viewArrived();
        return;
      }
      case 'health':
        this.#applyState(m.upstream, m.state, m.at);
        this.log.info(
          { upstream: m.upstream, backend: m.state.id, healthy: m.state.healthy, lagMs: Date.now() - m.at },
          `health view: ${m.state.id} ${m.state.healthy ? 'healthy' : 'unhealthy'} (from the primary)`,
        );
        return;
      case 'eject': {
        this.#ejectionsOf(m.upstream).set(m.id, Date.now() + m.ms);
        const detector = this.#detectors.get(m.upstream);
        if (detector !== undefined) this.#applyEjection(detector, m.id, m.ms);
        return;
      }
      case 'reinstate':
        this.#ejections.get(m.upstream)?.delete(m.id);
        this.#detectors.get(m.upstream)?.reinstate(m.id);
        return;
      case 'checked':
        this.#checks.get(m.seq)?.();
        this.#checks.delete(m.seq);
        return;
    }
  }

  #applyView(
    upstreams: Record<
      string,
      { backends: readonly SharedBackendState[]; ejected: readonly { id: string; ms: number }[] }
    >,
  ): void {
    const now = Date.now();
    for (const [name, view] of Object.entries(upstreams)) {
      const known = new Set(view.backends.map((s) => s.id));
      for (const s of view.backends) this.#applyState(name, s, s.lastChangeAt ?? now);
      // Forgotten by the primary (its backend set changed): back to the initial state.
      for (const id of [...(this.#states.get(name)?.keys() ?? [])]) {
        if (!known.has(id))
          this.#applyState(
            name,
            { id, healthy: initialHealthy(), consecutiveSuccesses: 0, consecutiveFailures: 0 },
            now,
          );
      }
      const ejections = this.#ejectionsOf(name);
      for (const { id, ms } of view.ejected) ejections.set(id, now + ms);
      const detector = this.#detectors.get(name);
      if (detector !== undefined) this.#applyEjections(name, detector);
    }
  }

  #applyState(upstream: string, state: SharedBackendState, at: number): void {
    const states = this.#states.get(upstream) ?? new Map<string, SharedBackendState>();
    this.#states.set(upstream, states);
    const before = states.get(state.id)?.healthy ?? initialHealthy();
    states.set(state.id, state);
    for (const monitor of this.#monitors) if (monitor.upstream === upstream) monitor.apply(state.id, before, state, at);
  }

  #applyEjections(upstream: string, detector: OutlierDetector): void {
    const now = Date.now();
    for (const [id, until] of this.#ejections.get(upstream) ?? []) {
      if (until > now) this.#applyEjection(detector, id, until - now);
    }
  }

  #applyEjection(detector: OutlierDetector, id: string, ms: number): void {
    if (detector.isEjected(id)) return;
    this.#applying = true;
    try {
      detector.eject(id, ms);
    } finally {
      this.#applying = false;
    }
  }

  #ejectionsOf(upstream: string): Map<string, number> {
    const map = this.#ejections.get(upstream) ?? new Map<string, number>();
    this.#ejections.set(upstream, map);
    return map;
  }

  #flushTraffic(): void {
    this.#trafficTimer = undefined;
    for (const [upstream, ids] of this.#traffic) {
      this.send({ channel: HEALTH_CHANNEL, type: 'traffic', upstream, ids: [...ids] });
    }
    this.#traffic.clear();
  }
}

function initialHealthy(): boolean {
  return HEALTH_MONITOR_DEFAULTS.initialState === 'healthy';
}

/**
 * Joins the primary's shared health view from a cluster worker: listens to IPC messages, asks
 * for the full view and resolves once it has arrived, so the worker serves nothing before it
 * knows which backends are down. Rejects after `timeoutMs` without an answer.
 */
export async function joinSharedHealth(logger: Logger, timeoutMs: number): Promise<SharedHealth> {
  const send = (message: ToPrimary): void => {
    // A worker whose primary is gone is about to exit: nothing to tell.
    if (process.connected) process.send?.(message);
  };
  const shared = new SharedHealth(send, logger.child({ component: 'health-view' }));
  process.on('message', (message) => shared.handle(message));
  shared.hello();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no health view from the primary within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([shared.firstView, late]);
  } finally {
    clearTimeout(timer);
  }
  return shared;
}
