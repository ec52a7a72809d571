import { type Backend, HttpPeer, LbError, LoadTracker } from '@switchyard/core';
import {
  type Discovery,
  dnsDiscovery,
  etcdDiscovery,
  fileDiscovery,
  type HealthCheck,
  type HealthMonitor,
  httpCheck,
  type OutlierDetector,
  tcpCheck,
} from '@switchyard/health';
import { prefixTable, withSlowStart } from '@switchyard/selectors';
import { type Logger, pino } from 'pino';
import { type Balancer, createBalancer } from '../balancer.js';
import { haproxyKeyExtractor, keyExtractor } from '../keys.js';
import { keyPercent } from '../priority-tiers.js';
import type { ProxyApp, ProxyCtx, Session, UpstreamObserver } from '../proxy-app.js';
import { createUpstreamPeer, type UpstreamPeerFn, type UpstreamTier } from '../upstream-peer.js';
import type { ResolvedConfig, ResolvedRoute, ResolvedUpstream } from './resolve.js';
import { selectorTypeOf } from './selector-types.js';

/** Options of {@link createConfiguredApp}. */
export interface ConfiguredAppOptions {
  /** Logger for balancers and health checks. @defaultValue a disabled logger */
  readonly logger?: Logger;
  /** Called at the end of every request (the `logging` phase), e.g. to count retries. */
  readonly onRequestEnd?: (session: Session, error: LbError | undefined, ctx: ProxyCtx) => void;
  /**
   * Health state kept beyond this process (a `serve --workers N` worker): builds each upstream's
   * monitor and outlier detector in place of the balancer's own. @defaultValue undefined (local)
   */
  readonly healthSource?: HealthSource;
}

/** Supplies the health monitor and outlier detector of an upstream whose state is shared with other processes. */
export interface HealthSource {
  /** The monitor of an upstream with active checks (`u.health` set). */
  monitor(u: ResolvedUpstream): HealthMonitor;
  /** The outlier detector of an upstream with outlier detection (`u.outlier` set). */
  outlier(u: ResolvedUpstream, logger: Logger): OutlierDetector;
}

/** A proxy app built from a resolved config, whose balancers can be swapped by {@link ConfiguredApp.reload}. */
export interface ConfiguredApp {
  /** Pass to `createProxyServer`. */
  readonly app: ProxyApp<ProxyCtx>;
  /** Pass in `createProxyServer`'s `observers`: forwards to the current balancers. */
  readonly observer: UpstreamObserver;
  /** The current balancers, by upstream name. */
  balancers(): ReadonlyMap<string, Balancer>;
  /** Resolves once every balancer ran its first discovery and health checks started. */
  ready(): Promise<void>;
  /**
   * Builds balancers for `config`'s upstreams and routes, waits until they are ready,
   * swaps them in and closes the old ones. Requests in flight keep their connections;
   * their retries use the new balancers. On failure the old balancers stay.
   */
  reload(config: ResolvedConfig): Promise<void>;
  /** Closes every balancer (health checks, discovery). */
  close(): Promise<void>;
}

interface State {
  readonly balancers: ReadonlyMap<string, Balancer>;
  /** The `upstreamPeer` of a path's route: its upstream, then its failover upstreams, sharing traffic by health. */
  readonly route: (path: string) => UpstreamPeerFn | undefined;
  readonly observers: readonly UpstreamObserver[];
}

/**
 * Composes balancers, key extractors, peers and routes from a {@link ResolvedConfig}
 * into a {@link ProxyApp}, from the library's own primitives: each upstream is a failover
 * tier `{ balancer, key, peer }`, a route maps its prefix (`prefixTable`, longest prefix on
 * a segment boundary) to a `createUpstreamPeer` over its upstream's tier followed by its
 * failover upstreams' tiers, with the route's overprovisioning factor: the tiers share
 * traffic by health (Envoy's priority levels), and a request starting at one tier fails over
 * to every ready backend not yet tried of the others, in order; nothing left, or no route → 503.
 */
export function createConfiguredApp(config: ResolvedConfig, options: ConfiguredAppOptions = {}): ConfiguredApp {
  const logger = options.logger ?? pino({ enabled: false });
  const source = options.healthSource;
  let state = buildState(config, logger, source);
  const onRequestEnd = options.onRequestEnd;

  const app: ProxyApp<ProxyCtx> = {
    newCtx: () => ({ triedBackends: new Set<string>(), attempts: 0 }),
    // Read per call, so a retry after a reload uses the new balancers.
    upstreamPeer: (session, ctx) => {
      const routed = state.route(session.path);
      if (routed === undefined) {
        throw new LbError('LB_ERR_NO_HEALTHY_BACKEND', `no upstream serves ${session.method} ${session.path}`);
      }
      return routed(session, ctx);
    },
    ...(onRequestEnd === undefined
      ? {}
      : {
          logging: (session: Session, error: LbError | undefined, ctx: ProxyCtx) => onRequestEnd(session, error, ctx),
        }),
  };

  const observer: UpstreamObserver = {
    onStart(peer) {
      for (const o of state.observers) o.onStart?.(peer);
    },
    onFinish(peer, outcome, durationMs) {
      for (const o of state.observers) o.onFinish?.(peer, outcome, durationMs);
    },
  };

  return {
    app,
    observer,
    balancers: () => state.balancers,
    ready: () => readyAll(state),
    async reload(next) {
      const fresh = buildState(next, logger, source);
      try {
        await readyAll(fresh);
      } catch (err) {
        await closeAll(fresh);
        throw err;
      }
      const old = state;
      state = fresh;
      await closeAll(old);
    },
    close: () => closeAll(state),
  };
}

async function readyAll(state: State): Promise<void> {
  await Promise.all([...state.balancers.values()].map((b) => b.ready()));
}

async function closeAll(state: State): Promise<void> {
  await Promise.all([...state.balancers.values()].map((b) => b.close()));
}

function buildState(config: ResolvedConfig, logger: Logger, source: HealthSource | undefined): State {
  const balancers = new Map<string, Balancer>();
  const tiers = new Map<string, UpstreamTier>();
  try {
    for (const [name, upstream] of Object.entries(config.upstreams)) {
      const balancer = buildBalancer(upstream, logger, source);
      balancers.set(name, balancer);
      const key =
        upstream.selector.type === 'haproxy'
          ? haproxyKeyExtractor(upstream.selector.key)
          : keyExtractor(upstream.selector.key);
      tiers.set(name, { balancer, key, peer: peerFactory(upstream) });
    }
  } catch (err) {
    for (const b of balancers.values()) void b.close();
    throw err;
  }
  const route = prefixTable(
    config.routes.map((r) => ({
      prefix: r.prefix,
      value: routePeer(config, tiers, r),
    })),
  );
  return { balancers, route, observers: [...balancers.values()].map((b) => b.observer) };
}

/**
 * A route's `upstreamPeer`: its upstream's tier, then its failover upstreams', sharing traffic
 * by health. When the upstream's selector hashes, the starting tier comes from the same key
 * ({@link keyPercent}), so instances agree on it; otherwise it is a random draw.
 */
function routePeer(config: ResolvedConfig, tiers: ReadonlyMap<string, UpstreamTier>, r: ResolvedRoute): UpstreamPeerFn {
  const upstream = config.upstreams[r.upstream];
  const key = tiers.get(r.upstream)?.key;
  const hashed = upstream !== undefined && selectorTypeOf(upstream.selector.type).hashed;
  return createUpstreamPeer({
    balancer: [r.upstream, ...r.failover].map((name) => tiers.get(name)).filter((t) => t !== undefined),
    overprovisioningFactor: r.overprovisioningFactor,
    ...(hashed && key !== undefined ? { priorityDraw: (session: Session) => keyPercent(key(session)) } : {}),
  });
}

function buildBalancer(u: ResolvedUpstream, logger: Logger, shared: HealthSource | undefined): Balancer {
  const type = selectorTypeOf(u.selector.type);
  const tracker = type.loadAware ? new LoadTracker() : undefined;
  const factory = type.factory(u.selector.options, tracker === undefined ? {} : { tracker });
  const source: { backends: readonly Backend[] } | { discovery: Discovery } =
    u.discovery === undefined ? { backends: u.backends } : { discovery: buildDiscovery(u, logger) };
  return createBalancer({
    ...source,
    selector:
      u.selector.slowStartMs === undefined ? factory : withSlowStart(factory, { windowMs: u.selector.slowStartMs }),
    maxIterations: u.maxIterations,
    logger: logger.child({ upstream: u.name }),
    ...(tracker === undefined ? {} : { tracker }),
    ...(u.outlier === undefined ? {} : { outlier: shared?.outlier(u, logger) ?? { ...u.outlier, logger } }),
    ...(u.health === undefined
      ? {}
      : shared !== undefined
        ? { health: shared.monitor(u) }
        : {
            health: {
              check: buildCheck(u),
              intervalMs: u.health.intervalMs,
              healthyThreshold: u.health.healthyThreshold,
              unhealthyThreshold: u.health.unhealthyThreshold,
              skipOnTraffic: u.health.skipOnTraffic,
              logger: logger.child({ upstream: u.name }),
            },
          }),
  });
}

// A peer template's address is never used: each check puts the backend's address in its place.
const CHECK_TEMPLATE_ADDRESS = '0.0.0.0:1';

/**
 * The upstream's health check, reaching each backend with the same peer settings as its traffic
 * (`resolveConfig` builds one too, to validate it).
 */
export function buildCheck(u: ResolvedUpstream): HealthCheck {
  const h = u.health;
  const peer = new HttpPeer(CHECK_TEMPLATE_ADDRESS, u.tls, u.sni, u.peerInit);
  if (h === undefined || h.type === 'tcp') {
    // A TCP check of a TLS upstream completes the handshake, as traffic would; Node cannot reset under TLS.
    if (h?.reset === true && u.tls) {
      throw new LbError(
        'LB_ERR_INVALID_CONFIG',
        `upstreams.${u.name}.health.reset: a reset closes plain TCP checks only, and this upstream uses tls`,
      );
    }
    return tcpCheck({ peer, ...(h === undefined ? {} : { timeoutMs: h.timeoutMs, reset: h.reset }) });
  }
  return httpCheck({
    peer,
    path: h.path,
    expectStatus: h.expectStatus,
    timeoutMs: h.timeoutMs,
    ...(h.host === undefined ? {} : { host: h.host }),
  });
}

function buildDiscovery(u: ResolvedUpstream, logger: Logger): Discovery {
  const d = u.discovery;
  if (d === undefined) throw new LbError('LB_ERR_INVALID_CONFIG', `upstreams.${u.name}: no discovery`);
  if (d.type === 'file') return fileDiscovery(d.path, { pollMs: d.pollMs, logger });
  if (d.type === 'etcd') return etcdDiscovery(etcdOptions(d, logger));
  return dnsDiscovery({
    name: d.name,
    type: d.recordType,
    logger,
    ...(d.port === undefined ? {} : { port: d.port }),
    ...(d.servers === undefined ? {} : { servers: d.servers }),
    ...(d.refreshMs === undefined ? {} : { refreshMs: d.refreshMs }),
  });
}

/** The `etcdDiscovery` options of an etcd `discovery` (`library-checks.ts` validates the same). */
function etcdOptions(
  d: Omit<Extract<NonNullable<ResolvedUpstream['discovery']>, { type: 'etcd' }>, 'type'>,
  logger?: Logger,
): Parameters<typeof etcdDiscovery>[0] {
  return {
    endpoints: d.endpoints,
    prefix: d.prefix,
    dialTimeoutMs: d.dialTimeoutMs,
    retryInitialMs: d.retryInitialMs,
    retryMaxMs: d.retryMaxMs,
    ...(logger === undefined ? {} : { logger }),
  };
}

// Peers are immutable once built, so one per backend is reused across requests; the
// cache is dropped when it outgrows any plausible pool (membership churn).
const PEER_CACHE_LIMIT = 4096;

function peerFactory(u: ResolvedUpstream): (backend: Backend) => HttpPeer {
  const cache = new Map<string, HttpPeer>();
  return (backend) => {
    let peer = cache.get(backend.id);
    if (peer === undefined) {
      if (cache.size >= PEER_CACHE_LIMIT) cache.clear();
      peer = new HttpPeer(backend, u.tls, u.sni, u.peerInit);
      cache.set(backend.id, peer);
    }
    return peer;
  };
}
