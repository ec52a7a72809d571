import { type Backend, type HttpPeer, invalidOption, LbError } from '@switchyard/core';
import { priorityLoad } from '@switchyard/selectors';
import type { Balancer } from './balancer.js';
import { startTier, tierOrder } from './priority-tiers.js';
import type { ProxyCtx, Session } from './proxy-app.js';

/** The selection key of a request, e.g. `keyExtractor('uri')` or `(s) => s.clientIp`. */
export type KeyFn = (session: Session) => string | Uint8Array;

/** How to reach a chosen backend: address, TLS, SNI, {@link PeerOptions}. */
export type PeerFn = (backend: Backend, session: Session) => HttpPeer;

/**
 * One failover tier with its own key and peer: a pool whose backends hash on a different
 * key, or need other TLS settings, than the default ones of {@link createUpstreamPeer}.
 */
export interface UpstreamTier {
  readonly balancer: Balancer;
  /** @defaultValue `createUpstreamPeer`'s `key` */
  readonly key?: KeyFn;
  /** @defaultValue `createUpstreamPeer`'s `peer` */
  readonly peer?: PeerFn;
}

/** One pool, or failover tiers: every ready backend of tier 0 is tried before tier 1's. */
export type BalancerTiers = Balancer | UpstreamTier | readonly (Balancer | UpstreamTier)[];

/** Options of {@link createUpstreamPeer}. Give exactly one of `balancer` and `route`. */
export interface UpstreamPeerOptions {
  /** The balancer (or failover tiers) every request uses. */
  readonly balancer?: BalancerTiers;
  /**
   * Picks the balancer (or tiers) per request, e.g. by path prefix with `prefixTable` from
   * `@switchyard/selectors`, as the config file's routes do; `undefined` → 503.
   */
  readonly route?: (session: Session) => BalancerTiers | undefined;
  /** The selection key; required unless every tier brings its own. */
  readonly key?: KeyFn;
  /** How to reach the chosen backend; required unless every tier brings its own. */
  readonly peer?: PeerFn;
  /**
   * Priority failover with overprovisioning (Envoy's priority levels) instead of all-or-nothing:
   * with this factor (≥ 1, at most two decimals, e.g. 1.4) each tier takes
   * `priorityLoad(tiers' ready/total, factor)` percent of the requests, which start at their
   * drawn tier and fail over to the others in order. @defaultValue undefined (tier 0 first, always)
   */
  readonly overprovisioningFactor?: number;
  /**
   * The number in [0, 100) that picks a request's starting tier under `overprovisioningFactor`.
   * @defaultValue a uniform random draw per call
   */
  readonly priorityDraw?: (session: Session) => number;
}

/**
 * Pingora's `upstream_peer` phase, as {@link createUpstreamPeer} returns it. It is synchronous
 * (selection never waits), so the server skips a promise per request; `ProxyApp.upstreamPeer`
 * accepts it as is, and `await` on its result still works.
 */
export type UpstreamPeerFn = (session: Session, ctx: ProxyCtx) => HttpPeer;

/**
 * Builds the `upstreamPeer(session, ctx)` phase of a proxy app. Each call (the server
 * calls it again on every retry) picks the first ready backend not yet in
 * `ctx.triedBackends`, walking the tiers in order, records its id there and returns the
 * tier's `peer(backend, session)`. When no tier has one left it throws `LbError`
 * `LB_ERR_NO_HEALTHY_BACKEND`, which the server answers with 503.
 *
 * Failover between pools lives here, over balancers, and not in a selector combinator:
 * health, outlier ejection and membership belong to a balancer, and each pool may hash
 * on its own key and reach its backends with its own TLS settings, which one selector
 * over the union of the pools could not express. The config file's routes and
 * failover upstreams are built from exactly this and `prefixTable`.
 * Throws `LB_ERR_INVALID_OPTION` for bad options, including a tier (fixed, or returned
 * by `route`) that has no key or peer of its own when there is no default.
 */
export function createUpstreamPeer(options: UpstreamPeerOptions): UpstreamPeerFn {
  if (typeof options !== 'object' || options === null)
    invalidOption('createUpstreamPeer options', 'an object', options);
  const { balancer, route, key, peer, overprovisioningFactor: factor, priorityDraw } = options;
  if ((balancer === undefined) === (route === undefined)) {
    invalidOption('createUpstreamPeer', 'exactly one of balancer and route', balancer ?? route);
  }
  if (route !== undefined && typeof route !== 'function')
    invalidOption('createUpstreamPeer route', 'a function', route);
  if (key !== undefined && typeof key !== 'function')
    invalidOption('createUpstreamPeer key', 'a function (session) => key', key);
  if (peer !== undefined && typeof peer !== 'function')
    invalidOption('createUpstreamPeer peer', 'a function (backend, session) => HttpPeer', peer);
  if (balancer !== undefined) checkTiers(balancer, key, peer);
  // Throws for a bad factor (priorityLoad checks it before looking at the tiers).
  if (factor !== undefined) priorityLoad([], factor);
  if (priorityDraw !== undefined && typeof priorityDraw !== 'function')
    invalidOption('createUpstreamPeer priorityDraw', 'a function (session) => number in [0, 100)', priorityDraw);
  const draw = priorityDraw ?? randomPercent;

  return (session, ctx) => {
    const tiers = balancer ?? route?.(session);
    const count = tiers === undefined ? 0 : Array.isArray(tiers) ? tiers.length : 1;
    if (tiers === undefined || count === 0) {
      throw new LbError('LB_ERR_NO_HEALTHY_BACKEND', `no upstream serves ${session.method} ${session.path}`);
    }
    const tried = ctx.triedBackends;
    const accept = (b: Backend, ready: boolean): boolean => ready && !tried.has(b.id);
    if (balancer === undefined && factor !== undefined && count > 1) checkTiers(tiers, key, peer);
    const start =
      factor === undefined || count < 2 ? 0 : startTier((i) => poolOf(tierAt(tiers, i)), count, factor, draw(session));
    // Indexed rather than mapped to a list, so a request allocates nothing for its tiers.
    for (let j = 0; j < count; j++) {
      const i = tierOrder(start, j);
      const tier = tierAt(tiers, i);
      const own = isTier(tier) ? tier : undefined;
      const pool = own === undefined ? (tier as Balancer) : own.balancer;
      const tierKey = own?.key ?? key;
      const tierPeer = own?.peer ?? peer;
      // Tiers from `route` are only seen here; fixed ones were checked up front.
      if (balancer === undefined) checkTier(i, tier, tierKey, tierPeer);
      const chosen = pool.select((tierKey as KeyFn)(session), session.requestInfo, accept);
      if (chosen !== undefined) {
        tried.add(chosen.id);
        return (tierPeer as PeerFn)(chosen, session);
      }
    }
    throw new LbError(
      'LB_ERR_NO_HEALTHY_BACKEND',
      tried.size === 0
        ? `no healthy backend for ${session.method} ${session.path}`
        : `no healthy backend left for ${session.method} ${session.path} after trying ${tried.size}`,
    );
  };
}

function randomPercent(): number {
  return Math.random() * 100;
}

function poolOf(tier: Balancer | UpstreamTier): Balancer {
  return isTier(tier) ? tier.balancer : tier;
}

function tierAt(tiers: BalancerTiers, i: number): Balancer | UpstreamTier {
  return Array.isArray(tiers)
    ? (tiers as readonly (Balancer | UpstreamTier)[])[i]!
    : (tiers as Balancer | UpstreamTier);
}

function isTier(value: Balancer | UpstreamTier): value is UpstreamTier {
  return typeof value === 'object' && value !== null && 'balancer' in value;
}

function checkTiers(tiers: BalancerTiers, key: KeyFn | undefined, peer: PeerFn | undefined): void {
  const count = Array.isArray(tiers) ? tiers.length : 1;
  for (let i = 0; i < count; i++) {
    const tier = tierAt(tiers, i);
    const own = isTier(tier) ? tier : undefined;
    checkTier(i, tier, own?.key ?? key, own?.peer ?? peer);
  }
}

function checkTier(i: number, tier: unknown, key: unknown, peer: unknown): void {
  const pool = typeof tier === 'object' && tier !== null && 'balancer' in tier ? tier.balancer : tier;
  if (typeof (pool as Partial<Balancer> | undefined)?.select !== 'function') {
    invalidOption(`createUpstreamPeer tier ${i}`, 'a Balancer or { balancer, key?, peer? }', tier);
  }
  if (typeof key !== 'function') invalidOption(`createUpstreamPeer tier ${i} key`, 'a function (session) => key', key);
  if (typeof peer !== 'function') {
    invalidOption(`createUpstreamPeer tier ${i} peer`, 'a function (backend, session) => HttpPeer', peer);
  }
}
