import { isIP } from 'node:net';
import { invalidOption } from './errors.js';
import { checkInteger, checkNonNegative, resolveOptions } from './options.js';
import { standard, type UpstreamRequestPolicy } from './upstream-request-policy.js';

/** ALPN offered to TLS upstreams: HTTP/1.1 only, HTTP/2 only, or HTTP/2 preferred with HTTP/1.1 fallback. */
export type Alpn = 'h1' | 'h2' | 'h2h1';

/** TCP keepalive probes on upstream connections (Linux semantics). */
export interface TcpKeepalive {
  /** Idle time before the first probe, ms. */
  readonly idle: number;
  /** Interval between probes, ms. */
  readonly interval: number;
  /** Unanswered probes before the connection is dropped. */
  readonly count: number;
}

/**
 * How to reach a peer: Pingora's `PeerOptions` in camelCase with durations in ms.
 * Every duration defaults to `undefined`, meaning no timeout, as in Pingora.
 *
 * Not applicable on Node (s2n-tls only in Pingora) and rejected if given: `psk`,
 * `s2nSecurityPolicy`, `maxBlindingDelay`.
 */
export interface PeerOptions {
  /** Local address to bind upstream sockets to, e.g. `'127.0.0.2'`. @defaultValue undefined (the OS picks) */
  readonly bindTo: string | undefined;
  /** Limit for the TCP connect alone, ms. @defaultValue undefined (none) */
  readonly connectionTimeout: number | undefined;
  /** Limit for TCP connect plus TLS handshake together, ms. @defaultValue undefined (none) */
  readonly totalConnectionTimeout: number | undefined;
  /** Longest wait for the upstream to send data (response headers or a body chunk), ms. @defaultValue undefined (none) */
  readonly readTimeout: number | undefined;
  /** How long an idle pooled connection is kept, ms; `0` disables pooling. @defaultValue undefined (kept until the upstream closes it) */
  readonly idleTimeout: number | undefined;
  /** Longest wait for the upstream to accept request bytes, ms. @defaultValue undefined (none) */
  readonly writeTimeout: number | undefined;
  /** Verify the upstream's certificate chain. @defaultValue true */
  readonly verifyCert: boolean;
  /** Verify that the certificate matches the SNI (or `alternativeCn`). @defaultValue true */
  readonly verifyHostname: boolean;
  /** Trust the system (bundled Node) CAs in addition to `ca`; false trusts only `ca`. @defaultValue true */
  readonly useSystemCerts: boolean;
  /** Another name the certificate may match when it does not match the SNI. @defaultValue undefined */
  readonly alternativeCn: string | undefined;
  /** ALPN offered over TLS. @defaultValue `'h1'` */
  readonly alpn: Alpn;
  /** Extra trusted CA certificates, PEM. @defaultValue undefined */
  readonly ca: string | readonly string[] | undefined;
  /** TCP keepalive on upstream sockets. @defaultValue undefined (off) */
  readonly tcpKeepalive: TcpKeepalive | undefined;
  /** Which request headers reach this peer. @defaultValue {@link standard}() */
  readonly httpUpstreamRequestPolicy: UpstreamRequestPolicy;
}

/** Pingora's `PeerOptions::new()` defaults. */
export const PEER_OPTIONS_DEFAULTS: PeerOptions = Object.freeze({
  bindTo: undefined,
  connectionTimeout: undefined,
  totalConnectionTimeout: undefined,
  readTimeout: undefined,
  idleTimeout: undefined,
  writeTimeout: undefined,
  verifyCert: true,
  verifyHostname: true,
  useSystemCerts: true,
  alternativeCn: undefined,
  alpn: 'h1',
  ca: undefined,
  tcpKeepalive: undefined,
  httpUpstreamRequestPolicy: standard(),
});

const S2N_ONLY = ['psk', 's2nSecurityPolicy', 'maxBlindingDelay'] as const;
const DURATIONS = [
  'connectionTimeout',
  'totalConnectionTimeout',
  'readTimeout',
  'idleTimeout',
  'writeTimeout',
] as const satisfies readonly (keyof PeerOptions)[];
const UPGRADE_MODES = ['websocket-only', 'preserve', 'deny'];

/**
 * Validates `overrides` and merges them over `base` ({@link PEER_OPTIONS_DEFAULTS} by default),
 * returning a frozen object whose nested objects are frozen too.
 * Throws `LB_ERR_INVALID_OPTION` naming the field for negative or non-finite durations, wrong
 * types, a `bindTo` that is not an IP address, unknown fields, and the s2n-only fields that do
 * not apply on Node (their values are never echoed).
 */
export function resolvePeerOptions(
  overrides: Partial<PeerOptions> = {},
  base: PeerOptions = PEER_OPTIONS_DEFAULTS,
): PeerOptions {
  for (const field of S2N_ONLY) {
    if (typeof overrides === 'object' && overrides !== null && field in overrides) {
      // The value is not echoed: a PSK is a secret.
      invalidOption(
        `peer option ${field}`,
        'nothing: it exists only for s2n-tls in Pingora and does not apply on Node',
        `a ${typeof (overrides as Record<string, unknown>)[field]} (not shown)`,
      );
    }
  }
  return resolveOptions<PeerOptions>('peer', base, detachNested(overrides), validatePeerOptions);
}

// Copies and freezes nested objects the caller has not frozen, so mutating them later cannot
// bypass validation or change a peer's behaviour behind its back.
function detachNested(overrides: Partial<PeerOptions>): Partial<PeerOptions> {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) return overrides;
  const copy: Record<string, unknown> = { ...overrides };
  for (const field of ['tcpKeepalive', 'httpUpstreamRequestPolicy', 'ca'] as const) {
    const value = overrides[field];
    if (typeof value !== 'object' || value === null || Object.isFrozen(value)) continue;
    copy[field] = Object.freeze(Array.isArray(value) ? [...value] : { ...value });
  }
  return copy as Partial<PeerOptions>;
}

function validatePeerOptions(o: PeerOptions): void {
  for (const field of DURATIONS) {
    if (o[field] !== undefined) checkNonNegative(`peer option ${field} (ms)`, o[field]);
  }
  for (const field of ['verifyCert', 'verifyHostname', 'useSystemCerts'] as const) {
    if (typeof o[field] !== 'boolean') invalidOption(`peer option ${field}`, 'a boolean', o[field]);
  }
  if (o.bindTo !== undefined && (typeof o.bindTo !== 'string' || isIP(o.bindTo) === 0)) {
    invalidOption('peer option bindTo', 'a local IP address', o.bindTo);
  }
  if (o.alternativeCn !== undefined && (typeof o.alternativeCn !== 'string' || o.alternativeCn === '')) {
    invalidOption('peer option alternativeCn', 'a non-empty host name', o.alternativeCn);
  }
  if (o.alpn !== 'h1' && o.alpn !== 'h2' && o.alpn !== 'h2h1')
    invalidOption('peer option alpn', "'h1', 'h2' or 'h2h1'", o.alpn);
  if (o.ca !== undefined) {
    const list = typeof o.ca === 'string' ? [o.ca] : o.ca;
    if (!Array.isArray(list) || list.some((pem) => typeof pem !== 'string' || !pem.includes('-----BEGIN'))) {
      invalidOption('peer option ca', 'PEM certificate text (a string or an array of strings)', o.ca);
    }
  }
  if (o.tcpKeepalive !== undefined) {
    const k = o.tcpKeepalive;
    if (typeof k !== 'object' || k === null) invalidOption('peer option tcpKeepalive', '{ idle, interval, count }', k);
    checkNonNegative('peer option tcpKeepalive.idle (ms)', k.idle);
    checkNonNegative('peer option tcpKeepalive.interval (ms)', k.interval);
    checkInteger('peer option tcpKeepalive.count', k.count, 1, 127);
  }
  const p = o.httpUpstreamRequestPolicy;
  if (typeof p !== 'object' || p === null) invalidOption('peer option httpUpstreamRequestPolicy', 'a policy object', p);
  for (const field of ['stripHopByHop', 'stripConnectionNominated', 'rejectMalformedConnectionNominations'] as const) {
    if (typeof p[field] !== 'boolean')
      invalidOption(`peer option httpUpstreamRequestPolicy.${field}`, 'a boolean', p[field]);
  }
  if (!UPGRADE_MODES.includes(p.h1Upgrade)) {
    invalidOption(
      'peer option httpUpstreamRequestPolicy.h1Upgrade',
      "'websocket-only', 'preserve' or 'deny'",
      p.h1Upgrade,
    );
  }
}
