/**
 * How HTTP/1.1 `Upgrade` requests are treated by the upstream request policy.
 * - `'websocket-only'`: forward WebSocket handshakes (HTTP/1.1, `Upgrade: websocket`) with the
 *   normalized `Connection: Upgrade` / `Upgrade: websocket`; drop every other upgrade.
 * - `'preserve'`: forward any upgrade request untouched (nominated fields included).
 * - `'deny'`: never forward `Connection`, `Upgrade` or `HTTP2-Settings`.
 */
export type H1UpgradePolicy = 'websocket-only' | 'preserve' | 'deny';

/**
 * Which request headers reach the upstream, as Pingora's `HttpUpstreamRequestPolicy`.
 * Build one with {@link standard}, {@link preserve} or {@link denyUpgrades}.
 */
export interface UpstreamRequestPolicy {
  /** Remove the ten standard hop-by-hop fields. @defaultValue true */
  readonly stripHopByHop: boolean;
  /** Remove the fields the `Connection` header nominates. @defaultValue true */
  readonly stripConnectionNominated: boolean;
  /** Reject a `Connection` token that is not an RFC 9110 token (strict); false skips it (lenient). @defaultValue true */
  readonly rejectMalformedConnectionNominations: boolean;
  /** What to do with HTTP/1.1 upgrades. @defaultValue `'websocket-only'` */
  readonly h1Upgrade: H1UpgradePolicy;
}

const STANDARD: UpstreamRequestPolicy = Object.freeze({
  stripHopByHop: true,
  stripConnectionNominated: true,
  rejectMalformedConnectionNominations: true,
  h1Upgrade: 'websocket-only',
});

const PRESERVE: UpstreamRequestPolicy = Object.freeze({
  stripHopByHop: false,
  stripConnectionNominated: false,
  rejectMalformedConnectionNominations: false,
  h1Upgrade: 'preserve',
});

const DENY_UPGRADES: UpstreamRequestPolicy = Object.freeze({ ...STANDARD, h1Upgrade: 'deny' });

/** The default, RFC 9110-compliant policy: strip hop-by-hop and nominated fields, strict tokens, WebSocket-only upgrades. */
export function standard(): UpstreamRequestPolicy {
  return STANDARD;
}

/**
 * Forward every header as received, with no validation. RFC-non-compliant: hop-by-hop
 * fields (including `Proxy-Authorization`) reach the upstream. Use at your own risk.
 */
export function preserve(): UpstreamRequestPolicy {
  return PRESERVE;
}

/** Like {@link standard}, but no upgrade (not even WebSocket) is forwarded. */
export function denyUpgrades(): UpstreamRequestPolicy {
  return DENY_UPGRADES;
}
