import {
  type Backend,
  candidates,
  type HttpPeer,
  invalidOption,
  type LoadTracker,
  type RequestInfo,
  type Selector,
  type SelectorFactory,
} from '@switchyard/core';
import {
  createHealthMonitor,
  createOutlierDetector,
  type Discovery,
  type HealthCheck,
  type HealthMonitor,
  type HealthMonitorOptions,
  type OutlierDetector,
  type OutlierDetectorOptions,
} from '@switchyard/health';
import { type Logger, pino } from 'pino';
import { BALANCER_DEFAULTS, checkMaxIterations } from './balancer-defaults.js';
import type { UpstreamObserver, UpstreamOutcome } from './proxy-app.js';

/**
 * Decides whether a candidate may serve: `ready` is true when the backend is
 * healthy, enabled and not ejected by outlier detection.
 */
export type AcceptBackend = (backend: Backend, ready: boolean) => boolean;

/** Health checking for a balancer: a monitor to adopt, or the options to build one (the balancer supplies the backends). */
export type BalancerHealth = HealthMonitor | Omit<HealthMonitorOptions, 'backends'>;

/** Options of {@link createBalancer}. Give exactly one of `backends` and `discovery`. */
export interface BalancerOptions<O = unknown> {
  /** A fixed backend list. */
  readonly backends?: readonly Backend[];
  /** Where the backend list comes from; its `'change'` events rebuild the selector. */
  readonly discovery?: Discovery;
  /** The algorithm, e.g. `consistentHash` from `@switchyard/selectors`. */
  readonly selector: SelectorFactory<O>;
  /** Options passed to `selector` on every rebuild. */
  readonly selectorOptions?: Partial<O>;
  /**
   * Active health checks. A monitor given here is owned by the balancer from then on: it
   * gets `setBackends` on every membership change, is started by `ready()` and stopped by `close()`.
   * @defaultValue undefined (every backend counts as healthy)
   */
  readonly health?: BalancerHealth;
  /**
   * Passive outlier detection fed by {@link Balancer.observer}: a detector, or its options.
   * @defaultValue undefined (no passive ejection)
   */
  readonly outlier?: OutlierDetector | Partial<OutlierDetectorOptions>;
  /**
   * Live load per backend id, fed from {@link Balancer.observer} (start/finish of every
   * attempt); hand the same tracker to load-aware selectors through `selectorOptions`.
   * Trimmed to the members on every membership change.
   * @defaultValue undefined
   */
  readonly tracker?: LoadTracker;
  /** Raw selector pulls per `select` call (duplicates count), as Pingora's `max_iterations`. @defaultValue 256 */
  readonly maxIterations?: number;
  /** Pino logger; the balancer logs membership changes under `{ component: 'balancer' }`. @defaultValue a disabled logger */
  readonly logger?: Logger;
}

/**
 * A selector over a changing backend set, with health and outlier state kept
 * outside the selector (Pingora's `LoadBalancer` + `select_with`).
 */
export interface Balancer {
  /**
   * The first backend from the selector's candidates for `key` (deduplicated, at most
   * `maxIterations` pulls) that `accept(backend, ready)` accepts, or `undefined`.
   * Default `accept`: `ready`. After `close()` it keeps answering from the last snapshot,
   * so in-flight requests can still fail over.
   */
  select(key: string | Uint8Array, request?: RequestInfo, accept?: AcceptBackend): Backend | undefined;
  /** True when `backend` (or id) is a member, healthy, enabled and not ejected. */
  isReady(backend: Backend | string): boolean;
  /** The current members, in discovery order. */
  backends(): readonly Backend[];
  /**
   * Hooks for the proxy server (`createProxyServer({ observers: [balancer.observer] })`):
   * attempt outcomes of member backends feed the outlier detector, by `peer.id`, and
   * starts/finishes feed the load tracker.
   */
  readonly observer: UpstreamObserver;
  /** The health monitor, when health checking is on. */
  readonly health: HealthMonitor | undefined;
  /** The outlier detector, when passive detection is on. */
  readonly outlier: OutlierDetector | undefined;
  /** Resolves once the first discovery is applied and health checks run; rejects if discovery fails. */
  ready(): Promise<void>;
  /** Stops health checks and discovery. Idempotent. */
  close(): Promise<void>;
}

/** How often a balancer whose selector recomputes itself without unready backends looks at that set again, ms. */
const OUT_SET_RECHECK_MS = 250;

/** Selector pulls per pick by default: {@link BALANCER_DEFAULTS}. */
export const DEFAULT_MAX_ITERATIONS = BALANCER_DEFAULTS.maxIterations;

/**
 * Builds a {@link Balancer}. The selector is rebuilt from `selector(backends, selectorOptions)`
 * and swapped whenever discovery reports a different membership (ids or weights); health
 * and outlier state are kept for backends that stay. An active health check that passes
 * reinstates a backend the outlier detector ejected (Envoy's
 * `successful_active_health_check_uneject_host`); with an adopted monitor this happens
 * when the monitor reports the backend turning healthy.
 */
export function createBalancer<O>(options: BalancerOptions<O>): Balancer {
  validate(options as BalancerOptions<unknown>);
  const { discovery, selector: factory, selectorOptions, tracker } = options;
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const logger = (options.logger ?? pino({ enabled: false })).child({ component: 'balancer' });
  const initial = options.backends ?? [];

  const outlier = toOutlier(options.outlier, initial);
  let members = indexById(initial);
  let current: readonly Backend[] = Object.freeze([...initial]);
  let selector: Selector = factory(current, selectorOptions);
  const { monitor, owned } = toHealth(options.health, initial, outlier);
  let closed = false;
  let changes = 0;
  // What select() walks: `selector`, or for a selector that recomputes itself without the
  // backends that are not ready (`Selector.without`, e.g. HAProxy's map), that recomputation.
  let active: Selector = selector;
  let outIds = '';
  let outTimer: NodeJS.Timeout | undefined;
  function refreshActive(): void {
    const without = selector.without;
    if (without === undefined || closed) {
      active = selector;
      return;
    }
    const out = new Set<string>();
    for (const b of current) if (!isReady(b.id)) out.add(b.id);
    const key = [...out].join('\n');
    if (key !== outIds || active === selector) {
      outIds = key;
      active = out.size === 0 ? selector : without.call(selector, out);
    }
    // Ejections end lazily (on the next isReady), and the recomputed selector never yields the
    // ejected backend again: look at the out set every 250 ms while it is not empty.
    if (out.size > 0 && outTimer === undefined) {
      outTimer = setInterval(refreshActive, OUT_SET_RECHECK_MS);
      outTimer.unref();
    } else if (out.size === 0 && outTimer !== undefined) {
      clearInterval(outTimer);
      outTimer = undefined;
    }
  }

  function apply(next: readonly Backend[]): void {
    if (closed || sameMembers(current, next)) return;
    const rebuilt = factory(next, selectorOptions);
    // Swap the snapshot first so no select() sees a selector for backends the health map lacks.
    current = Object.freeze([...next]);
    members = indexById(current);
    selector = rebuilt;
    monitor?.setBackends(current);
    outlier?.setBackends(current);
    tracker?.retain(members);
    active = rebuilt;
    refreshActive();
    logger.info({ backends: current.map((b) => b.id) }, 'backend set changed, selector rebuilt');
  }

  const onChange = (next: readonly Backend[]): void => {
    changes++;
    try {
      apply(next);
    } catch (err) {
      // A selector that rejects the new set leaves the old one serving.
      logger.error({ err }, 'could not rebuild the selector; keeping the previous backend set');
    }
  };
  discovery?.on?.('change', onChange);

  const onHealthChange = (change: { backend: Backend; healthy: boolean }): void => {
    if (change.healthy && outlier?.isEjected(change.backend.id)) outlier.reinstate(change.backend.id);
  };
  if (monitor !== undefined && outlier !== undefined && !owned) monitor.on('change', onHealthChange);
  // Readiness changes recompute a selector that has `without` (a no-op for the others).
  monitor?.on('change', refreshActive);
  outlier?.on('eject', refreshActive);
  outlier?.on('reinstate', refreshActive);
  refreshActive();
  // The `recovered` capability (a slow-start factory ramps the backend again).
  const { recovered } = factory;
  if (monitor !== undefined && recovered !== undefined) {
    monitor.on('change', (change: { backend: Backend; healthy: boolean }) => {
      if (change.healthy) recovered(change.backend.id);
    });
  }

  let readyPromise: Promise<void> | undefined;
  function ready(): Promise<void> {
    readyPromise ??= (async () => {
      if (discovery !== undefined) {
        const seen = changes;
        const found = await discovery.discover();
        // A change event that arrived meanwhile is newer than this answer.
        if (changes === seen) apply(found);
      }
      if (monitor !== undefined && !closed) monitor.start();
    })();
    return readyPromise;
  }

  function isReady(backend: Backend | string): boolean {
    const id = typeof backend === 'string' ? backend : backend.id;
    if (!members.has(id)) return false;
    if (monitor !== undefined && !monitor.isReady(id)) return false;
    return outlier === undefined || !outlier.isEjected(id);
  }

  const observer: UpstreamObserver = {
    onStart(peer: HttpPeer): void {
      tracker?.start(peer.id);
    },
    onFinish(peer: HttpPeer, outcome: UpstreamOutcome, durationMs: number): void {
      // Every start is finished, members or not, so in-flight counts never leak. An 'error' or a
      // 'cancelled' (stale socket, client gone) says nothing about the upstream's latency: no sample.
      const notUpstreamFault = outcome === 'error' || outcome === 'cancelled';
      tracker?.finish(peer.id, notUpstreamFault ? undefined : durationMs);
      // Proof of health for a monitor with `skipOnTraffic` (a no-op without it).
      if (outcome === 'success') monitor?.reportTraffic(peer.id);
      // Neither is the upstream's fault: they say nothing about health.
      if (outlier === undefined || notUpstreamFault) return;
      const id = peer.id;
      if (members.has(id)) outlier.record(id, outcome);
    },
  };

  return {
    select(key, request, accept) {
      for (const b of candidates(active.select(key, request), maxIterations)) {
        const ok = isReady(b.id);
        if (accept === undefined ? ok : accept(b, ok)) return b;
      }
      return undefined;
    },
    isReady,
    backends: () => current,
    observer,
    health: monitor,
    outlier,
    ready,
    async close() {
      if (closed) return;
      closed = true;
      if (outTimer !== undefined) clearInterval(outTimer);
      monitor?.off('change', refreshActive);
      outlier?.off('eject', refreshActive);
      outlier?.off('reinstate', refreshActive);
      discovery?.off?.('change', onChange);
      if (monitor !== undefined && !owned) monitor.off('change', onHealthChange);
      await Promise.all([monitor?.stop(), discovery?.close?.()]);
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  return isObject(value) && names.every((name) => typeof value[name] === 'function');
}

/** Checks the shape of every option up front, so junk fails here with a named field, not deep inside. */
function validate(options: BalancerOptions<unknown>): void {
  if (!isObject(options)) invalidOption('createBalancer options', 'an object', options);
  const { backends, discovery, selector, selectorOptions, health, outlier, tracker, logger } = options;
  checkMaxIterations(options.maxIterations ?? DEFAULT_MAX_ITERATIONS);
  if (typeof selector !== 'function') invalidOption('createBalancer selector', 'a SelectorFactory function', selector);
  if (typeof selector === 'function' && selector.recovered !== undefined && typeof selector.recovered !== 'function') {
    invalidOption('createBalancer selector.recovered', 'a function (id) => void', selector.recovered);
  }
  if ((backends === undefined) === (discovery === undefined)) {
    invalidOption('createBalancer', 'exactly one of backends and discovery', backends ?? discovery);
  }
  if (
    backends !== undefined &&
    (!Array.isArray(backends) || !backends.every((b) => isObject(b) && typeof b.id === 'string'))
  ) {
    invalidOption('createBalancer backends', 'an array of Backend', backends);
  }
  if (discovery !== undefined) {
    if (!hasMethods(discovery, ['discover']))
      invalidOption('createBalancer discovery', 'a Discovery with discover()', discovery);
    for (const name of ['on', 'off', 'close'] as const) {
      if (discovery[name] !== undefined && typeof discovery[name] !== 'function') {
        invalidOption(`createBalancer discovery.${name}`, 'a function', discovery[name]);
      }
    }
  }
  if (selectorOptions !== undefined && !isObject(selectorOptions)) {
    invalidOption('createBalancer selectorOptions', 'an options object', selectorOptions);
  }
  if (health !== undefined) {
    const monitor = hasMethods(health, ['isReady', 'reportTraffic', 'setBackends', 'start', 'stop', 'on', 'off']);
    if (!monitor && !(isObject(health) && hasMethods(health.check, ['check']))) {
      invalidOption('createBalancer health', 'a HealthMonitor or monitor options with a check', health);
    }
  }
  if (outlier !== undefined && !isObject(outlier)) {
    invalidOption('createBalancer outlier', 'an OutlierDetector or its options', outlier);
  }
  if (outlier !== undefined && typeof (outlier as { isEjected?: unknown }).isEjected === 'function') {
    if (!hasMethods(outlier, ['record', 'isEjected', 'reinstate', 'setBackends'])) {
      invalidOption('createBalancer outlier', 'an OutlierDetector', outlier);
    }
  }
  if (tracker !== undefined && !hasMethods(tracker, ['start', 'finish', 'retain'])) {
    invalidOption('createBalancer tracker', 'a LoadTracker', tracker);
  }
  if (logger !== undefined && !hasMethods(logger, ['child']))
    invalidOption('createBalancer logger', 'a pino Logger', logger);
}

function toOutlier(
  outlier: OutlierDetector | Partial<OutlierDetectorOptions> | undefined,
  backends: readonly Backend[],
): OutlierDetector | undefined {
  if (outlier === undefined) return undefined;
  if (typeof (outlier as OutlierDetector).isEjected === 'function') {
    const detector = outlier as OutlierDetector;
    detector.setBackends(backends);
    return detector;
  }
  return createOutlierDetector({ ...(outlier as Partial<OutlierDetectorOptions>), backends });
}

function toHealth(
  health: BalancerHealth | undefined,
  backends: readonly Backend[],
  outlier: OutlierDetector | undefined,
): { monitor: HealthMonitor | undefined; owned: boolean } {
  if (health === undefined) return { monitor: undefined, owned: false };
  if (typeof (health as HealthMonitor).isReady === 'function') {
    const monitor = health as HealthMonitor;
    monitor.setBackends(backends);
    return { monitor, owned: false };
  }
  const config = health as Omit<HealthMonitorOptions, 'backends'>;
  const check = outlier === undefined ? config.check : reinstating(config.check, outlier);
  return { monitor: createHealthMonitor({ ...config, check, backends }), owned: true };
}

/** Wraps a check so that every pass reinstates the backend if outlier detection ejected it. */
function reinstating(check: HealthCheck, outlier: OutlierDetector): HealthCheck {
  const wrapped: HealthCheck = {
    async check(backend, signal) {
      const result = await check.check(backend, signal);
      if (result.ok && outlier.isEjected(backend.id)) outlier.reinstate(backend.id);
      return result;
    },
  };
  if (check.close !== undefined) wrapped.close = () => check.close?.() ?? Promise.resolve();
  // Without this, a removed backend would keep its per-backend client (httpCheck) open.
  if (check.release !== undefined) wrapped.release = (backend) => check.release?.(backend) ?? Promise.resolve();
  return wrapped;
}

function indexById(backends: readonly Backend[]): Set<string> {
  return new Set(backends.map((b) => b.id));
}

function sameMembers(a: readonly Backend[], b: readonly Backend[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x.id !== y.id || x.weight !== y.weight) return false;
  }
  return true;
}
