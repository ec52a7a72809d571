import { type Backend, type HttpPeer, invalidOption, LbError } from '@switchyard/core';
import type { Balancer } from './balancer.js';
import type { ProxyCtx, Session } from './proxy-app.js';

/** One balancer, or failover tiers: every backend of tier 0 is tried before tier 1's. */
export type BalancerTiers = Balancer | readonly Balancer[];

/** Options of {@link createUpstreamPeer}. Give exactly one of `balancer` and `route`. */
export interface UpstreamPeerOptions {
  /** The balancer (or failover tiers) every request uses. */
  readonly balancer?: BalancerTiers;
  /** Picks the balancer (or tiers) per request, e.g. by path prefix; `undefined` → 503. */
  readonly route?: (session: Session) => BalancerTiers | undefined;
  /** The selection key, e.g. `keyExtractor('uri')` or `(s) => s.clientIp`. */
  readonly key: (session: Session) => string | Uint8Array;
  /** How to reach the chosen backend: address, TLS, SNI, {@link PeerOptions}. */
  readonly peer: (backend: Backend, session: Session) => HttpPeer;
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
 * `ctx.triedBackends`, walking the tiers in order, records its id there and returns
 * `peer(backend, session)`. When no tier has one left it throws `LbError`
 * `LB_ERR_NO_HEALTHY_BACKEND`, which the server answers with 503.
 */
export function createUpstreamPeer(options: UpstreamPeerOptions): UpstreamPeerFn {
  if (typeof options !== 'object' || options === null)
    invalidOption('createUpstreamPeer options', 'an object', options);
  const { balancer, route, key, peer } = options;
  if ((balancer === undefined) === (route === undefined)) {
    invalidOption('createUpstreamPeer', 'exactly one of balancer and route', balancer ?? route);
  }
  if (route !== undefined && typeof route !== 'function')
    invalidOption('createUpstreamPeer route', 'a function', route);
  if (typeof key !== 'function') invalidOption('createUpstreamPeer key', 'a function (session) => key', key);
  if (typeof peer !== 'function')
    invalidOption('createUpstreamPeer peer', 'a function (backend, session) => HttpPeer', peer);
  const fixed = balancer === undefined ? undefined : toTiers(balancer);

  return (session, ctx) => {
    const tiers = fixed ?? toTiers(route?.(session));
    if (tiers.length === 0) {
      throw new LbError('LB_ERR_NO_HEALTHY_BACKEND', `no upstream serves ${session.method} ${session.path}`);
    }
    const tried = ctx.triedBackends;
    const accept = (b: Backend, ready: boolean): boolean => ready && !tried.has(b.id);
    const k = key(session);
    for (const tier of tiers) {
      const chosen = tier.select(k, session.requestInfo, accept);
      if (chosen !== undefined) {
        tried.add(chosen.id);
        return peer(chosen, session);
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

function toTiers(value: BalancerTiers | undefined): readonly Balancer[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly Balancer[]) : [value as Balancer];
}
