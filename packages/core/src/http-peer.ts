import { createHmac, randomBytes } from 'node:crypto';
import { type Backend, formatHostPort, type HostPort, parseHostPort } from './backend.js';
import { invalidOption } from './errors.js';
import { type LivePeerOptions, type PeerOptionsCell, peerOptionsCell } from './live-peer-options.js';
import { type PeerOptions, resolvePeerOptions } from './peer-options.js';

/** An HTTP CONNECT proxy to tunnel through: `uri` is `http://[user:pass@]host:port`. */
export interface PeerProxy {
  readonly uri: string;
  /** Extra headers sent with the CONNECT request. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A client certificate and its private key, PEM, for mutual TLS. */
export interface ClientCertKey {
  readonly cert: string;
  readonly key: string;
}

/** Optional parts of an {@link HttpPeer} beyond address, TLS and SNI. */
export interface HttpPeerInit {
  readonly proxy?: PeerProxy;
  readonly clientCertKey?: ClientCertKey;
  /** Isolates connection pools of otherwise identical peers. @defaultValue 0 */
  readonly groupKey?: number;
  readonly options?: Partial<PeerOptions>;
}

/**
 * Where and how to reach one upstream, as Pingora's `HttpPeer`: `new HttpPeer(address, tls, sni)`.
 * Change options one at a time as in Pingora (`peer.options.readTimeout = 2_000`) or several at
 * once with {@link HttpPeer.setOptions}; both validate at once and leave the peer unchanged on error.
 * A peer shared by many requests (one per backend, as the config's proxy keeps) is changed for
 * all of them: build a peer per request, as Pingora's `upstream_peer()` does, to change one.
 */
export class HttpPeer {
  /** The upstream's host (IPv6 without brackets) and port, frozen. */
  readonly address: HostPort;
  /**
   * `host:port` (`[v6]:port`) of the upstream. Built from a {@link Backend}, it is that
   * backend's own `id` string, so maps keyed by backend id find it by identity.
   */
  readonly id: string;
  /** `'https'` when `tls` was true. */
  readonly scheme: 'http' | 'https';
  /** Server name sent in the TLS handshake and checked against the certificate; `''` sends none. */
  readonly sni: string;
  #proxy: PeerProxy | undefined;
  #clientCertKey: ClientCertKey | undefined;
  #groupKey: number;
  readonly #options: PeerOptionsCell;

  /**
   * @param address - `'host:port'`, `'[v6]:port'`, `{ host, port }` or a {@link Backend}.
   * @param tls - connect with TLS.
   * @param sni - TLS server name. @defaultValue `''`
   */
  constructor(address: string | HostPort | Backend, tls: boolean, sni = '', init: HttpPeerInit = {}) {
    this.address = Object.freeze(toHostPort(address));
    const id = formatHostPort(this.address.host, this.address.port);
    this.id = typeof address === 'object' && 'id' in address && address.id === id ? address.id : id;
    if (typeof tls !== 'boolean') invalidOption('HttpPeer tls', 'a boolean', tls);
    if (typeof sni !== 'string') invalidOption('HttpPeer sni', 'a string', sni);
    this.scheme = tls ? 'https' : 'http';
    this.sni = sni;
    this.#options = peerOptionsCell(resolvePeerOptions(init.options ?? {}));
    this.#proxy = checkProxy(init.proxy);
    this.#clientCertKey = checkClientCertKey(init.clientCertKey);
    this.#groupKey = init.groupKey ?? 0;
    if (!Number.isSafeInteger(this.#groupKey)) invalidOption('HttpPeer groupKey', 'an integer', this.#groupKey);
  }

  /** True when the peer is reached over TLS. */
  get tls(): boolean {
    return this.scheme === 'https';
  }

  /**
   * The peer's {@link PeerOptions}; assign a field to change it, validated on assignment
   * (see {@link LivePeerOptions}). Spread it (`{ ...peer.options }`) for a plain snapshot.
   */
  get options(): LivePeerOptions {
    return this.#options.view;
  }

  /** The CONNECT proxy, if any. */
  get proxy(): PeerProxy | undefined {
    return this.#proxy;
  }

  set proxy(value: PeerProxy | undefined) {
    this.#proxy = checkProxy(value);
  }

  /** The client certificate and key for mutual TLS, if any. */
  get clientCertKey(): ClientCertKey | undefined {
    return this.#clientCertKey;
  }

  set clientCertKey(value: ClientCertKey | undefined) {
    this.#clientCertKey = checkClientCertKey(value);
  }

  /** Pool isolation key. */
  get groupKey(): number {
    return this.#groupKey;
  }

  /**
   * The current options as one frozen object. Every change (an assignment or `setOptions`)
   * makes a new one, so its identity can key a cache of what was derived from the options.
   */
  optionsSnapshot(): PeerOptions {
    return this.#options.current;
  }

  /** Merges `overrides` into the options (validated at once) and returns this peer. */
  setOptions(overrides: Partial<PeerOptions>): this {
    this.#options.current = resolvePeerOptions(overrides, this.#options.current);
    return this;
  }

  /**
   * The connection-pool key: equal keys may share connections. Built, as Pingora's
   * `reuse_hash`, from address, scheme, proxy, SNI, client certificate, `verifyCert`,
   * `verifyHostname`, `alternativeCn` and `groupKey` — not from timeouts, ALPN, CA or
   * `bindTo`. Secrets (proxy credentials, keys) enter only as a keyed digest whose key is
   * random per process, so a logged pool key reveals nothing that can be guessed offline.
   * Keys are comparable within one process only.
   */
  reuseKey(): string {
    const o = this.#options.current;
    const proxy = this.#proxy ? digest(JSON.stringify([this.#proxy.uri, sortedEntries(this.#proxy.headers)])) : null;
    const cert = this.#clientCertKey
      ? digest(JSON.stringify([this.#clientCertKey.cert, this.#clientCertKey.key]))
      : null;
    // JSON keeps fields apart: an SNI or alternativeCn containing a separator cannot mimic another peer's key.
    return JSON.stringify([
      this.scheme,
      this.id,
      this.sni,
      proxy,
      cert,
      o.verifyCert,
      o.verifyHostname,
      o.alternativeCn ?? null,
      this.#groupKey,
    ]);
  }

  /** A log-safe description: scheme, address and SNI, never credentials. */
  toString(): string {
    return `${this.scheme}://${this.id}${this.sni ? ` (sni ${this.sni})` : ''}`;
  }
}

function toHostPort(address: string | HostPort | Backend): HostPort {
  if (typeof address === 'string') return parseHostPort(address);
  if (typeof address === 'object' && address !== null && typeof address.host === 'string') {
    // Re-parse through the canonical form so `{ host, port }` gets the same checks as a string.
    return parseHostPort(formatHostPort(address.host, address.port));
  }
  return invalidOption('HttpPeer address', '"host:port", { host, port } or a Backend', address);
}

function checkProxy(proxy: PeerProxy | undefined): PeerProxy | undefined {
  if (proxy === undefined) return undefined;
  if (typeof proxy !== 'object' || proxy === null || typeof proxy.uri !== 'string') {
    invalidOption('HttpPeer proxy', '{ uri, headers? }', proxy);
  }
  let url: URL;
  try {
    url = new URL(proxy.uri);
  } catch {
    // Never echo the URI: it may carry a password.
    return invalidOption('HttpPeer proxy.uri', 'an absolute http:// or https:// URL', '(unparseable URL)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    invalidOption('HttpPeer proxy.uri scheme', "'http:' or 'https:'", url.protocol);
  }
  if (proxy.headers !== undefined) {
    if (typeof proxy.headers !== 'object' || proxy.headers === null || Array.isArray(proxy.headers)) {
      invalidOption('HttpPeer proxy.headers', 'an object of string values', proxy.headers);
    }
    for (const [name, value] of Object.entries(proxy.headers)) {
      if (typeof value !== 'string') invalidOption(`HttpPeer proxy.headers.${name}`, 'a string', value);
    }
  }
  return Object.freeze({ ...proxy, ...(proxy.headers ? { headers: Object.freeze({ ...proxy.headers }) } : {}) });
}

function checkClientCertKey(pair: ClientCertKey | undefined): ClientCertKey | undefined {
  if (pair === undefined) return undefined;
  if (typeof pair !== 'object' || pair === null) invalidOption('HttpPeer clientCertKey', '{ cert, key } (PEM)', pair);
  if (typeof pair.cert !== 'string' || !pair.cert.includes('-----BEGIN')) {
    invalidOption('HttpPeer clientCertKey.cert', 'a PEM certificate', typeof pair.cert);
  }
  if (typeof pair.key !== 'string' || !pair.key.includes('-----BEGIN')) {
    // The key itself is never echoed.
    invalidOption('HttpPeer clientCertKey.key', 'a PEM private key', typeof pair.key);
  }
  return Object.freeze({ cert: pair.cert, key: pair.key });
}

// Per-process key for reuse-key digests (see reuseKey).
const DIGEST_KEY = randomBytes(32);

function digest(text: string): string {
  return createHmac('sha256', DIGEST_KEY).update(text).digest('base64url').slice(0, 22);
}

function sortedEntries(headers: Readonly<Record<string, string>> | undefined): [string, string][] {
  return Object.entries(headers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
