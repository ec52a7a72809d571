import type { Readable } from 'node:stream';
import { createConnector, type HttpPeer, LbError, type PeerOptions } from '@switchyard/core';
import { LRUCache } from 'lru-cache';
import { Client, type Dispatcher, Pool } from 'undici';
import { H2UpstreamPool } from './h2-upstream-pool.js';
import { H2_MAX_STREAMS_PER_SESSION } from './h2-upstream-session.js';
import type { UpstreamHandler } from './h2-upstream-stream.js';
import { brokenResponseReason } from './upstream-response-check.js';

/** What {@link PoolCache} needs of a pool to close it. */
export interface ClosablePool {
  /** Gracefully: requests already on it finish. */
  close(): Promise<void>;
  /** At once: open requests fail. */
  destroy(): Promise<void>;
}

/**
 * One upstream connection pool and what every request through it needs, computed once.
 * `keepAlive: false` (idleTimeout 0) makes each request close its connection afterwards.
 * Peers with `alpn: 'h2'` (h2c with prior knowledge, or TLS with ALPN `h2`) go through
 * Switchyard's own HTTP/2 client ({@link H2UpstreamPool}), where requests with bodies share
 * sessions too; `h1` and `h2h1` go through undici's Pool.
 */
export class PoolEntry {
  readonly pool: ClosablePool;
  readonly #undici: Pool | undefined;
  readonly #h2: H2UpstreamPool | undefined;
  readonly #origin: string;
  readonly #clientOptions: Client.Options;
  readonly keepAlive: boolean;
  inflight = 0;
  lastUsed = 0;
  closed = false;

  /** `onBroken` applies to HTTP/1.1 connections only (undici's pool). */
  constructor(peer: HttpPeer, connections: number, onBroken?: BrokenConnectionHook) {
    const o = peer.options;
    this.keepAlive = o.idleTimeout !== 0;
    const idle = o.idleTimeout;
    const authority = `${formatHost(peer.address.host)}:${peer.address.port}`;
    this.#origin = `${peer.scheme}://${authority}`;
    if (o.alpn === 'h2') {
      // Pingora's meaning of `alpn` on plain text: `h2` is HTTP/2 with prior knowledge (h2c),
      // `h2h1` stays HTTP/1.1 (there is no negotiation without TLS).
      this.#h2 = new H2UpstreamPool(peer, connections, authority);
      this.pool = this.#h2;
      this.#clientOptions = {};
      return;
    }
    const connector = createConnector(peer);
    this.#clientOptions = {
      connect: connector as never,
      allowH2: peer.tls && o.alpn !== 'h1',
      // HTTP/2 (`h2h1` over TLS): at most this many streams per connection (less if the
      // upstream's SETTINGS say so); the pool opens another connection, up to `connections`,
      // when all are full. undici counts streams against `pipelining` (default 1), which stays
      // 1 here: the connection may turn out HTTP/1.1, where pipelining would queue requests.
      maxConcurrentStreams: H2_MAX_STREAMS_PER_SESSION,
      // undici's own timeouts are replaced by the per-request readTimeout (0 = none, as Pingora).
      headersTimeout: 0,
      bodyTimeout: 0,
      // idleTimeout bounds how long an idle connection is kept; undefined keeps undici's
      // default (4 s, or the upstream's Keep-Alive hint), which avoids most stale-socket races.
      ...(idle !== undefined && idle > 0 ? { keepAliveTimeout: idle, keepAliveMaxTimeout: idle } : {}),
    };
    const pool = new Pool(this.#origin, { ...this.#clientOptions, connections });
    this.#undici = pool;
    this.pool = pool;
    if (onBroken !== undefined) {
      pool.on('disconnect', (_origin, _targets, err) => {
        const reason = brokenResponseReason(err);
        if (reason !== undefined) onBroken(peer.id, reason);
      });
    }
  }

  /** A one-off undici client with the pool's settings: its first request goes out on a new connection. */
  freshClient(): Client {
    return new Client(this.#origin, this.#clientOptions);
  }

  /**
   * Sends one request with the pool's keep-alive setting and the attempt's peer's `readTimeout`
   * (the response head and idle-body timeout; 0 is none) — the peer's, not the pool's: peers that
   * differ only in timeouts share a pool, as in Pingora. Its events go to `handler`. `fresh`:
   * on a new connection (a one-off undici client closed once the request is done, or a new
   * HTTP/2 session that then joins the pool).
   */
  dispatch(
    method: string,
    path: string,
    headers: string[],
    body: Readable | null,
    upgrade: string | null,
    handler: Dispatcher.DispatchHandler,
    fresh: boolean,
    timeout: number,
  ): void {
    const h2 = this.#h2;
    if (h2 !== undefined) {
      if (upgrade !== null) {
        handler.onConnect?.(noop);
        handler.onError?.(new LbError('LB_ERR_UPSTREAM_ERROR', 'an upgrade cannot be sent to an HTTP/2 upstream'));
        return;
      }
      h2.dispatch(method, path, headers, body, handler as UpstreamHandler, fresh, timeout);
      return;
    }
    const dispatcher = fresh ? this.freshClient() : (this.#undici as Pool);
    const options: Dispatcher.DispatchOptions = {
      method,
      path,
      headers,
      body,
      upgrade,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      reset: !this.keepAlive,
    };
    dispatcher.dispatch(options, handler);
    if (fresh) dispatcher.close().catch(noop);
  }
}

/** Told when a pooled upstream connection was discarded because the upstream's bytes were not valid HTTP/1.1. */
export type BrokenConnectionHook = (backend: string, reason: string) => void;

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Cached per peer object: the pool key stays valid while the peer's mutable parts are the same
 * objects (`optionsSnapshot()` is a new object after every option change).
 */
interface PeerKey {
  readonly options: PeerOptions;
  readonly proxy: HttpPeer['proxy'];
  readonly cert: HttpPeer['clientCertKey'];
  readonly key: string;
}

const peerKeys = new WeakMap<HttpPeer, PeerKey>();
const optionKeys = new WeakMap<PeerOptions, string>();

/**
 * The pool key of a peer: `reuseKey()` plus the options that shape a connection but are not
 * in Pingora's reuse hash (ALPN, CA, bindTo, timeouts, keepalive): two peers that differ only
 * there must not share sockets made with the other's settings.
 */
export function poolKey(peer: HttpPeer): string {
  const options = peer.optionsSnapshot();
  const proxy = peer.proxy;
  const cert = peer.clientCertKey;
  const cached = peerKeys.get(peer);
  if (cached !== undefined && cached.options === options && cached.proxy === proxy && cached.cert === cert) {
    return cached.key;
  }
  let optionKey = optionKeys.get(options);
  if (optionKey === undefined) {
    optionKey = JSON.stringify([
      options.alpn,
      options.ca ?? null,
      options.useSystemCerts,
      options.bindTo ?? null,
      options.connectionTimeout ?? null,
      options.totalConnectionTimeout ?? null,
      options.idleTimeout ?? null,
      options.writeTimeout ?? null,
      options.tcpKeepalive ?? null,
    ]);
    optionKeys.set(options, optionKey);
  }
  const key = `${peer.reuseKey()}|${optionKey}`;
  peerKeys.set(peer, { options, proxy, cert, key });
  return key;
}

/**
 * Pools by {@link poolKey} in an LRU bounded in count; eviction closes the pool (gracefully:
 * requests already on it finish). A sweep closes pools unused for `idleMs`.
 */
export class PoolCache {
  readonly #cache: LRUCache<string, PoolEntry>;
  readonly #connections: number;
  readonly #idleMs: number;
  readonly #onBroken: BrokenConnectionHook | undefined;
  readonly #sweeper: NodeJS.Timeout;
  #closing = false;

  /** `onBroken`: told about every upstream connection discarded for invalid HTTP/1.1 (a reason for the log). */
  constructor(maxPools: number, connections: number, idleMs: number, onBroken?: BrokenConnectionHook) {
    this.#connections = connections;
    this.#idleMs = idleMs;
    this.#onBroken = onBroken;
    this.#cache = new LRUCache<string, PoolEntry>({
      max: maxPools,
      dispose: (entry) => {
        entry.closed = true;
        if (!this.#closing) entry.pool.close().catch(noop);
      },
    });
    this.#sweeper = setInterval(() => this.sweep(performance.now()), Math.max(1000, Math.floor(idleMs / 2)));
    this.#sweeper.unref();
  }

  /** The pool for `peer`, created on first use. */
  get(peer: HttpPeer): PoolEntry {
    const key = poolKey(peer);
    let entry = this.#cache.get(key);
    if (entry === undefined) {
      entry = new PoolEntry(peer, this.#connections, this.#onBroken);
      this.#cache.set(key, entry);
    }
    return entry;
  }

  /** Number of open pools. */
  get size(): number {
    return this.#cache.size;
  }

  /** Closes pools with no request in flight that were last used before `now - idleMs`. */
  sweep(now: number): void {
    for (const [key, entry] of this.#cache.entries()) {
      if (entry.inflight === 0 && now - entry.lastUsed >= this.#idleMs) this.#cache.delete(key);
    }
  }

  /** Closes every pool: gracefully, or by destroying open requests when `force`. */
  async close(force: boolean): Promise<void> {
    clearInterval(this.#sweeper);
    this.#closing = true;
    const pools = [...this.#cache.values()].map((e) => e.pool);
    this.#cache.clear();
    await Promise.all(pools.map((p) => (force ? p.destroy() : p.close()).catch(noop)));
  }
}

function noop(): void {}
