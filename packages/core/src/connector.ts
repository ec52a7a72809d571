import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { LbError } from './errors.js';
import type { HttpPeer } from './http-peer.js';
import type { ProxyTarget } from './internal/connect-proxy.js';
import { type Prepared, prepare } from './internal/prepared-peer.js';
import { watchWrites } from './internal/write-timeout.js';
import type { PeerOptions } from './peer-options.js';

/**
 * Bytes an upstream connection's writes may queue before `write()` asks the writer to wait
 * (Node's default is 16 KiB). Above one socket read (64 KiB): a request body relayed chunk by
 * chunk is then not paused and resumed after every chunk, which costs more than the copy. Still
 * a small bound per connection; for TLS it is the TLS socket's buffer, both ways.
 */
const WRITE_BUFFER_BYTES = 128 * 1024;

/** How a {@link Connector} reports: an error, or the connected (and, for TLS peers, handshaken) socket. */
export type ConnectCallback = (err: Error | null, socket: Socket | null) => void;

/** undici's `connect` option signature; the first argument (undici's own options) is ignored. */
export type Connector = (opts: unknown, callback: ConnectCallback) => void;

/** Limits a caller adds on top of the peer's own timeouts. */
export interface ConnectLimits {
  /**
   * A cap on the whole connect (TCP, CONNECT tunnel and TLS), in ms, beside the peer's
   * `connectionTimeout` and `totalConnectionTimeout`. @defaultValue undefined (none)
   */
  readonly timeoutMs?: number;
  /** Abandons the attempt when aborted (only for {@link connectPeer}). @defaultValue undefined */
  readonly signal?: AbortSignal;
}

/**
 * The one way Switchyard reaches a peer, used by the proxy's connection pools and by health
 * checks alike: TCP (bound to `bindTo`, with `tcpKeepalive`), an optional CONNECT tunnel
 * through the peer's proxy, then TLS with the peer's SNI, ALPN, CA (`ca`, `useSystemCerts`),
 * client certificate and verification settings (`verifyCert`, `verifyHostname`,
 * `alternativeCn`). The TLS secure context and the parsed proxy are computed once per peer and
 * rebuilt when an option they depend on changes; each connect reads the peer's current options.
 * The returned function has undici's `connect` signature.
 *
 * Failures are `LbError`s with the underlying error as `cause`: `LB_ERR_CONNECT_TIMEOUT`
 * (`connectionTimeout`, `totalConnectionTimeout` or `limits.timeoutMs`), `LB_ERR_TLS_HANDSHAKE`,
 * `LB_ERR_CONNECT_FAILED` (refused, unreachable, the proxy refused the tunnel). With
 * `writeTimeout`, a socket whose writes stay blocked that long is destroyed with
 * `LB_ERR_UPSTREAM_TIMEOUT`. Keepalive: Node sets the idle time only; `interval` and `count`
 * stay the system's.
 */
export function createConnector(peer: HttpPeer, limits: ConnectLimits = {}): Connector {
  // Build the secure context now rather than on the pool's first connection.
  prepare(peer);
  return function connect(_opts: unknown, callback: ConnectCallback): void {
    new Attempt(peer, prepare(peer), limits, callback).start();
  };
}

/**
 * Connects to `peer` as {@link createConnector} does and resolves with the socket (a
 * `TLSSocket` for TLS peers), or rejects with the same `LbError`s. Aborting `limits.signal`
 * abandons the attempt (closing what it opened) and rejects with `LB_ERR_CONNECT_FAILED`.
 */
export function connectPeer(peer: HttpPeer, limits: ConnectLimits = {}): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const attempt = new Attempt(peer, prepare(peer), limits, (err, socket) => {
      limits.signal?.removeEventListener('abort', onAbort);
      if (err !== null || socket === null) reject(err);
      else resolve(socket);
    });
    const onAbort = (): void => attempt.abort(limits.signal?.reason);
    if (limits.signal?.aborted) {
      onAbort();
      return;
    }
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    attempt.start();
  });
}

type FailCode = 'LB_ERR_CONNECT_FAILED' | 'LB_ERR_CONNECT_TIMEOUT' | 'LB_ERR_TLS_HANDSHAKE';

class Attempt {
  /** The peer's options when the attempt started; a later assignment applies to the next connect. */
  readonly options: PeerOptions;
  #done = false;
  #timers: NodeJS.Timeout[] = [];
  #tcpTimer: NodeJS.Timeout | undefined;
  #socket: Socket | undefined;
  #tlsSocket: TLSSocket | undefined;
  #proxyRequest: ReturnType<typeof httpRequest> | undefined;

  constructor(
    readonly peer: HttpPeer,
    readonly prepared: Prepared,
    readonly limits: ConnectLimits,
    readonly callback: ConnectCallback,
  ) {
    this.options = { ...peer.options };
  }

  start(): void {
    const o = this.options;
    if (o.connectionTimeout !== undefined) {
      this.#tcpTimer = this.#limit('connectionTimeout', o.connectionTimeout);
    }
    if (o.totalConnectionTimeout !== undefined) this.#limit('totalConnectionTimeout', o.totalConnectionTimeout);
    if (this.limits.timeoutMs !== undefined) this.#limit("the caller's limit", this.limits.timeoutMs);
    if (this.prepared.proxy) this.#viaProxy(this.prepared.proxy);
    else this.#tcp();
  }

  /** Abandons the attempt, reporting `LB_ERR_CONNECT_FAILED` unless it already ended. */
  abort(reason: unknown): void {
    this.#fail('LB_ERR_CONNECT_FAILED', `connecting to ${this.peer.id} was aborted`, reason);
  }

  #limit(what: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(
      () =>
        this.#fail('LB_ERR_CONNECT_TIMEOUT', `connecting to ${this.peer.id} exceeded ${what} (${ms} ms)`, undefined),
      ms,
    );
    this.#timers.push(timer);
    return timer;
  }

  #tcpDone(): void {
    clearTimeout(this.#tcpTimer);
  }

  #tcp(): void {
    const bindTo = this.options.bindTo;
    // A socket takes its stream's options too; Node's type definitions leave them out.
    const options = {
      host: this.peer.address.host,
      port: this.peer.address.port,
      noDelay: true,
      writableHighWaterMark: WRITE_BUFFER_BYTES,
      ...(bindTo === undefined ? {} : { localAddress: bindTo }),
    };
    const socket = netConnect(options);
    this.#socket = socket;
    socket.once('error', (err) => this.#fail('LB_ERR_CONNECT_FAILED', `connect to ${this.peer.id} failed`, err));
    socket.once('connect', () => {
      this.#tcpDone();
      this.#connected(socket);
    });
  }

  #viaProxy(proxy: ProxyTarget): void {
    const bindTo = this.options.bindTo;
    const make = proxy.https ? httpsRequest : httpRequest;
    const req = make({
      host: proxy.host,
      port: proxy.port,
      method: 'CONNECT',
      path: this.peer.id,
      headers: { host: this.peer.id, ...proxy.headers },
      agent: false,
      ...(bindTo === undefined ? {} : { localAddress: bindTo }),
    });
    this.#proxyRequest = req;
    req.once('error', (err) => this.#fail('LB_ERR_CONNECT_FAILED', `CONNECT via proxy ${proxy.label} failed`, err));
    req.once('connect', (res: IncomingMessage, socket: Socket) => {
      this.#tcpDone();
      this.#socket = socket;
      if (res.statusCode !== 200) {
        const msg = `proxy ${proxy.label} answered CONNECT ${this.peer.id} with ${res.statusCode}`;
        this.#fail('LB_ERR_CONNECT_FAILED', msg, undefined);
        return;
      }
      this.#connected(socket);
    });
    req.end();
  }

  #connected(socket: Socket): void {
    if (this.#done) return;
    const keepalive = this.options.tcpKeepalive;
    if (keepalive !== undefined) socket.setKeepAlive(true, keepalive.idle);
    const tls = this.prepared.tls;
    if (tls === undefined) {
      this.#succeed(socket);
      return;
    }
    const tlsOptions = { ...tls, socket, highWaterMark: WRITE_BUFFER_BYTES };
    const tlsSocket = tlsConnect(tlsOptions);
    this.#tlsSocket = tlsSocket;
    socket.removeAllListeners('error');
    tlsSocket.once('error', (err) =>
      this.#fail('LB_ERR_TLS_HANDSHAKE', `TLS handshake with ${this.peer.id} failed: ${err.message}`, err),
    );
    tlsSocket.once('secureConnect', () => this.#succeed(tlsSocket));
  }

  #succeed(socket: Socket): void {
    if (this.#done) {
      socket.destroy();
      return;
    }
    this.#done = true;
    this.#clearTimers();
    socket.removeAllListeners('error');
    const writeTimeout = this.options.writeTimeout;
    if (writeTimeout !== undefined) watchWrites(socket, writeTimeout, this.peer.id);
    this.callback(null, socket);
  }

  #fail(code: FailCode, msg: string, cause: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearTimers();
    // Swallow late errors from the sockets being abandoned.
    for (const s of [this.#tlsSocket, this.#socket]) {
      s?.on('error', noop);
      s?.destroy();
    }
    this.#proxyRequest?.on('error', noop);
    this.#proxyRequest?.destroy();
    this.callback(new LbError(code, msg, { cause }), null);
  }

  #clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = [];
  }
}

function noop(): void {}
