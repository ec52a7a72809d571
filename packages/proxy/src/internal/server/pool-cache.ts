import type { Readable } from 'node:stream';
import { createConnector, type HttpPeer, type PeerOptions } from '@switchyard/core';
import { LRUCache } from 'lru-cache';
import { Client, type Dispatcher, Pool } from 'undici';
import { brokenResponseReason } from './upstream-response-check.js';

/**
 * One upstream connection pool and what every request through it needs, computed once.
 * `keepAlive: false` (idleTimeout 0) makes each request close its connection afterwards.
 */
export class PoolEntry {
  readonly pool: Pool;
  readonly #origin: string;
  readonly #clientOptions: Client.Options;
  readonly keepAlive: boolean;
  inflight = 0;
  lastUsed = 0;
  closed = false;

  constructor(peer: HttpPeer, connections: number, onBroken?: BrokenConnectionHook) {
    const o = peer.options;
    this.keepAlive = o.idleTimeout !== 0;
    const idle = o.idleTimeout;
    this.#origin = `${peer.scheme}://${formatHost(peer.address.host)}:${peer.address.port}`;
    this.#clientOptions = {
      connect: createConnector(peer) as never,
      allowH2: peer.tls && o.alpn !== 'h1',
      // undici's own timeouts are replaced by the per-request readTimeout (0 = none, as Pingora).
      headersTimeout: 0,
      bodyTimeout: 0,
      // idleTimeout bounds how long an idle connection is kept; undefined keeps undici's
      // default (4 s, or the upstream's Keep-Alive hint), which avoids most stale-socket races.
      ...(idle !== undefined && idle > 0 ? { keepAliveTimeout: idle, keepAliveMaxTimeout: idle } : {}),
    };
    this.pool = new Pool(this.#origin, { ...this.#clientOptions, connections });
    if (onBroken !== undefined) {
      this.pool.on('disconnect', (_origin, _targets, err) => {
        const reason = brokenResponseReason(err);
        if (reason !== undefined) onBroken(peer.id, reason);
      });
    }
  }

  /** A one-off client with the pool's settings: its first request goes out on a new connection. */
  freshClient(): Client {
    return new Client(this.#origin, this.#clientOptions);
  }

  /**
   * Sends one request with the pool's keep-alive setting and the attempt's peer's `readTimeout`
   * (undici's headers and body timeout; 0 is none) — the peer's, not the pool's: peers that
   * differ only in timeouts share a pool, as in Pingora. Its events go to `handler`. `fresh`:
   * on a one-off client (a new connection), closed once the request is done.
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
    const dispatcher = fresh ? this.freshClient() : this.pool;
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
