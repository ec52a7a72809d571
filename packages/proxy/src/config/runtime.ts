import { type Backend, HttpPeer, LbError, LoadTracker } from '@switchyard/core';
import { type Discovery, dnsDiscovery, fileDiscovery, type HealthCheck, httpCheck, tcpCheck } from '@switchyard/health';
import { withSlowStart } from '@switchyard/selectors';
import { type Logger, pino } from 'pino';
import { type Balancer, createBalancer } from '../balancer.js';
import { keyExtractor } from '../keys.js';
import type { ProxyApp, ProxyCtx, Session, UpstreamObserver } from '../proxy-app.js';
import { createUpstreamPeer, type UpstreamPeerFn } from '../upstream-peer.js';
import type { ResolvedConfig, ResolvedUpstream } from './resolve.js';
import { SELECTOR_TYPES, type SelectorType } from './selector-types.js';

/** Options of {@link createConfiguredApp}. */
export interface ConfiguredAppOptions {
  /** Logger for balancers and health checks. @defaultValue a disabled logger */
  readonly logger?: Logger;
  /** Called at the end of every request (the `logging` phase), e.g. to count retries. */
  readonly onRequestEnd?: (session: Session, error: LbError | undefined, ctx: ProxyCtx) => void;
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

interface CompiledRoute {
  readonly prefix: string;
  readonly pick: UpstreamPeerFn[];
}

interface State {
  readonly balancers: ReadonlyMap<string, Balancer>;
  readonly routes: readonly CompiledRoute[];
  readonly observers: readonly UpstreamObserver[];
}

/**
 * Composes balancers, key extractors, peers and routes from a {@link ResolvedConfig}
 * into a {@link ProxyApp}: a route's primary upstream is tried first (every ready
 * backend not yet tried), then its failover upstreams in order; nothing left → 503.
 */
export function createConfiguredApp(config: ResolvedConfig, options: ConfiguredAppOptions = {}): ConfiguredApp {
  const logger = options.logger ?? pino({ enabled: false });
  let state = buildState(config, logger);
  const onRequestEnd = options.onRequestEnd;

  const app: ProxyApp<ProxyCtx> = {
    newCtx: () => ({ triedBackends: new Set<string>(), attempts: 0 }),
    upstreamPeer(session, ctx) {
      const route = matchRoute(state.routes, session.path);
      if (route === undefined) {
        throw new LbError('LB_ERR_NO_HEALTHY_BACKEND', `no route matches ${session.path}`);
      }
      let last: unknown;
      for (const pick of route.pick) {
        try {
          return pick(session, ctx);
        } catch (err) {
          // This tier has nothing left: fall through to the next failover upstream.
          if ((err as { code?: unknown }).code !== 'LB_ERR_NO_HEALTHY_BACKEND') throw err;
          last = err;
        }
      }
      throw last;
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
      const fresh = buildState(next, logger);
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

function buildState(config: ResolvedConfig, logger: Logger): State {
  const balancers = new Map<string, Balancer>();
  const pickers = new Map<string, UpstreamPeerFn>();
  try {
    for (const [name, upstream] of Object.entries(config.upstreams)) {
      const balancer = buildBalancer(upstream, logger);
      balancers.set(name, balancer);
      pickers.set(
        name,
        createUpstreamPeer({ balancer, key: keyExtractor(upstream.selector.key), peer: peerFactory(upstream) }),
      );
    }
  } catch (err) {
    for (const b of balancers.values()) void b.close();
    throw err;
  }
  const routes = config.routes.map((r) => ({
    prefix: r.prefix,
    pick: [r.upstream, ...r.failover].map((name) => pickers.get(name)).filter((p) => p !== undefined),
  }));
  return { balancers, routes, observers: [...balancers.values()].map((b) => b.observer) };
}

function buildBalancer(u: ResolvedUpstream, logger: Logger): Balancer {
  const type = (SELECTOR_TYPES as Record<string, SelectorType>)[u.selector.type];
  if (type === undefined) throw new LbError('LB_ERR_INVALID_CONFIG', `unknown selector type ${u.selector.type}`);
  const tracker = type.tracker === true ? new LoadTracker() : undefined;
  const selectorOptions = tracker === undefined ? u.selector.options : { ...u.selector.options, tracker };
  const source: { backends: readonly Backend[] } | { discovery: Discovery } =
    u.discovery === undefined ? { backends: u.backends } : { discovery: buildDiscovery(u, logger) };
  return createBalancer({
    ...source,
    selector:
      u.selector.slowStartMs === undefined
        ? type.factory
        : withSlowStart(type.factory, { windowMs: u.selector.slowStartMs }),
    selectorOptions: selectorOptions as never,
    maxIterations: u.maxIterations,
    logger: logger.child({ upstream: u.name }),
    ...(tracker === undefined ? {} : { tracker }),
    ...(u.outlier === undefined ? {} : { outlier: { ...u.outlier, logger } }),
    ...(u.health === undefined
      ? {}
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

/** The upstream's health check, reaching each backend with the same peer settings as its traffic. */
function buildCheck(u: ResolvedUpstream): HealthCheck {
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
    return tcpCheck({ peer, timeoutMs: h?.timeoutMs ?? 1000, reset: h?.reset ?? false });
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
  return dnsDiscovery({
    name: d.name,
    type: d.recordType,
    logger,
    ...(d.port === undefined ? {} : { port: d.port }),
    ...(d.servers === undefined ? {} : { servers: d.servers }),
    ...(d.refreshMs === undefined ? {} : { refreshMs: d.refreshMs }),
  });
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

/** The longest route prefix matching `path` on a segment boundary (`/api` matches `/api/x`, not `/apix`). */
function matchRoute(routes: readonly CompiledRoute[], path: string): CompiledRoute | undefined {
  for (const route of routes) {
    const p = route.prefix;
    if (!path.startsWith(p)) continue;
    if (path.length === p.length || p.endsWith('/') || path.charCodeAt(p.length) === 47 /* / */) return route;
  }
  return undefined;
}
