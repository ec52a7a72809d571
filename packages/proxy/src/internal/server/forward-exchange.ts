import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  applyUpstreamRequestPolicy,
  type HttpPeer,
  invalidOption,
  isLbError,
  LbError,
  type RequestInfo,
} from '@switchyard/core';
import type { Session, UpstreamObserver, UpstreamOutcome, UpstreamRequest, UpstreamResponse } from '../../proxy-app.js';
import { forwardRequestHeaders, forwardResponseHeaders, normalizeIp } from './forward-headers.js';
import type { PoolEntry } from './pool-cache.js';
import type { ServerState } from './server-state.js';
import { openTunnel } from './server-tunnel.js';

const kExchange = Symbol('switchyard.exchange');
const kBytesRead = Symbol('switchyard.bytesRead');
const kBytesWritten = Symbol('switchyard.bytesWritten');

type Tagged = { [kExchange]?: Exchange<unknown> };
type Counted = Socket & { [kBytesRead]?: number; [kBytesWritten]?: number };

/** Methods safe to send again after a stale pooled connection failed before any response byte. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Errors of a pooled connection the upstream closed while idle (RST, EOF, EPIPE). */
const STALE_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);
const CONNECT_CODES = new Set(['LB_ERR_CONNECT_FAILED', 'LB_ERR_CONNECT_TIMEOUT', 'LB_ERR_TLS_HANDSHAKE']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'LB_ERR_UPSTREAM_TIMEOUT']);

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Fixed reasons shown to clients: they say what went wrong without naming internal addresses. */
const CLIENT_REASON: Partial<Record<string, string>> = {
  LB_ERR_NO_HEALTHY_BACKEND: 'no healthy backend',
  LB_ERR_CONNECT_FAILED: 'could not connect to an upstream',
  LB_ERR_CONNECT_TIMEOUT: 'upstream connect timed out',
  LB_ERR_TLS_HANDSHAKE: 'upstream TLS handshake failed',
  LB_ERR_UPSTREAM_TIMEOUT: 'upstream timed out',
  LB_ERR_UPSTREAM_ERROR: 'upstream error',
};

/** Responses whose socket writes wait for the end of this event-loop turn (see {@link flushTurn}). */
let heldThisTurn: Exchange<unknown>[] = [];

/**
 * Body bytes a response may hold back within a turn so that, when it completes in that turn,
 * head and body leave in one string write (one syscall, no writev, no allocation: Node writes
 * strings up to 16 KiB from stack storage). Larger or longer responses stream as they come.
 */
const HOLD_LIMIT = 8192;

/**
 * Writes the responses of this event-loop turn back to back. One upstream read can complete
 * many responses in a turn; written one by one between parser callbacks, each write wakes a
 * client that went back to sleep after the previous one (on loopback and VMs a wake-up is an
 * inter-processor interrupt, the largest single cost per request). Written together, the
 * client wakes once per turn.
 */
function flushTurn(): void {
  const batch = heldThisTurn;
  heldThisTurn = [];
  for (let i = 0; i < batch.length; i++) (batch[i] as Exchange<unknown>).endTurn();
}

// Listeners shared by every exchange: `this` is the emitter, the exchange hangs off it, so no
// closure is allocated per request.
function onResponseClose(this: ServerResponse & Tagged): void {
  this[kExchange]?.downstreamClosed();
}
function onResponseDrain(this: ServerResponse & Tagged): void {
  this[kExchange]?.resumeUpstream();
}
function onUpgradeResponseFinish(this: ServerResponse): void {
  this.socket?.end();
}

/**
 * One downstream request through the phases: it is the {@link Session} the app sees and the
 * undici dispatch handler (legacy callbacks, which undici calls without wrapping and with raw
 * header buffers) for each of its upstream attempts. Attempts never overlap: the next one
 * starts only after undici reported the previous one's end.
 */
export class Exchange<C> implements Session {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly method: string;
  readonly uri: string;
  readonly clientIp: string;
  readonly #state: ServerState<C>;
  readonly #start = performance.now();
  readonly #hasBody: boolean;
  /** Kept: `request.socket` is null once the response has finished. */
  readonly #socket: Counted;
  /** The raw socket of an `upgrade` request (no ServerResponse drives it). */
  readonly #upgradeSocket: Socket | undefined;
  readonly #upgradeHead: Buffer | undefined;
  #path: string | undefined;
  #requestInfo: RequestInfo | undefined;
  #ctx!: C;
  #attempts = 0;
  /** This attempt already resent once on a fresh connection after a stale pooled one failed. */
  #freshResent = false;
  #peer: HttpPeer | undefined;
  #entry: PoolEntry | undefined;
  #policy: unknown;
  #headers: string[] = [];
  #upgrade: string | undefined;
  #upstream: UpstreamRequest | undefined;
  #abort: ((err: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #drainWatched = false;
  /** Writes wait for the end of this turn (the exchange is in {@link heldThisTurn}). */
  #inTurn = false;
  /** Body chunks held back this turn, at most {@link HOLD_LIMIT} bytes; not yet given to the response. */
  #held: Buffer[] | undefined;
  #heldBytes = 0;
  /** The downstream socket is corked until the end of this turn (a body streaming past the hold). */
  #corked = false;
  /** The upstream response completed this turn: `end()` is due at the end of the turn. */
  #endDue = false;
  #attemptStart = 0;
  #attemptOpen = false;
  #status = 0;
  #finished = false;
  /** The connect failure that caused the current retry, reported if no peer is left. */
  #retryCause: LbError | undefined;

  constructor(
    state: ServerState<C>,
    req: IncomingMessage,
    res: ServerResponse,
    upgradeSocket?: Socket,
    upgradeHead?: Buffer,
  ) {
    this.#state = state;
    this.request = req;
    this.response = res;
    this.method = req.method ?? 'GET';
    this.uri = req.url ?? '/';
    this.#socket = req.socket;
    this.clientIp = normalizeIp(req.socket.remoteAddress);
    this.#hasBody = hasBody(req.rawHeaders);
    this.#upgradeSocket = upgradeSocket;
    this.#upgradeHead = upgradeHead;
  }

  get path(): string {
    if (this.#path === undefined) {
      const q = this.uri.indexOf('?');
      this.#path = q < 0 ? this.uri : this.uri.slice(0, q);
    }
    return this.#path;
  }

  get headers(): IncomingHttpHeaders {
    return this.request.headers;
  }

  get requestInfo(): RequestInfo {
    this.#requestInfo ??= {
      method: this.method,
      path: this.path,
      headers: this.request.headers,
      clientIp: this.clientIp,
    };
    return this.#requestInfo;
  }

  /** Runs the request through the phases. */
  start(): void {
    const state = this.#state;
    state.inflight++;
    const res = this.response as ServerResponse & Tagged;
    res[kExchange] = this as Exchange<unknown>;
    res.on('close', onResponseClose);
    if (state.closing) res.shouldKeepAlive = false;
    const app = state.app;
    try {
      this.#ctx = app.newCtx ? app.newCtx() : (defaultCtx() as C);
      if (this.request.rawHeaders.length > 2 * state.options.maxHeadersCount) {
        this.#fail(new LbError('LB_ERR_BAD_REQUEST', `more than ${state.options.maxHeadersCount} header fields`));
        return;
      }
      if (app.requestFilter === undefined) {
        this.#nextAttempt();
        return;
      }
      const handled = app.requestFilter(this, this.#ctx);
      if (typeof handled === 'boolean') this.#afterRequestFilter(handled);
      else
        handled.then(
          (h) => this.#afterRequestFilter(h),
          (err) => this.#fail(err),
        );
    } catch (err) {
      this.#fail(err);
    }
  }

  #afterRequestFilter(handled: boolean): void {
    if (!handled) {
      this.#nextAttempt();
      return;
    }
    this.#status = this.response.statusCode;
    this.#finish(undefined);
  }

  #nextAttempt(): void {
    if (this.#finished) return;
    this.#attempts++;
    this.#freshResent = false;
    const ctx = this.#ctx as { attempts?: unknown };
    if (typeof ctx === 'object' && ctx !== null && typeof ctx.attempts === 'number') ctx.attempts = this.#attempts;
    let peer: HttpPeer | Promise<HttpPeer>;
    try {
      peer = this.#state.app.upstreamPeer(this, this.#ctx);
    } catch (err) {
      this.#failNoPeer(err);
      return;
    }
    if (peer instanceof Promise) {
      peer.then(
        (p) => this.#toPeerSafely(p),
        (err) => this.#failNoPeer(err),
      );
    } else {
      this.#toPeerSafely(peer);
    }
  }

  /**
   * `upstreamPeer` threw. On a retry, "no backend left" means every candidate failed to
   * connect: the client learns that (502) rather than a 503 that hides it.
   */
  #failNoPeer(err: unknown): void {
    const cause = this.#retryCause;
    if (cause !== undefined && isLbError(err) && err.code === 'LB_ERR_NO_HEALTHY_BACKEND') this.#fail(cause);
    else this.#fail(err);
  }

  #toPeerSafely(peer: HttpPeer): void {
    try {
      if (typeof peer !== 'object' || peer === null || typeof peer.reuseKey !== 'function') {
        invalidOption('upstreamPeer result', 'an HttpPeer', peer);
      }
      this.#toPeer(peer);
    } catch (err) {
      this.#fail(err);
    }
  }

  #toPeer(peer: HttpPeer): void {
    if (this.#finished) return;
    this.#peer = peer;
    const policy = peer.options.httpUpstreamRequestPolicy;
    if (policy !== this.#policy) {
      const req = this.request;
      let result: ReturnType<typeof applyUpstreamRequestPolicy>;
      try {
        result = applyUpstreamRequestPolicy(
          { headers: req.rawHeaders, httpVersion: req.httpVersion, hasBody: this.#hasBody },
          policy,
        );
      } catch (err) {
        this.#fail(err);
        return;
      }
      // Framing (`finalizeUpstreamFraming`) is left to undici: it sends a body stream without
      // Content-Length as chunked itself, and refuses a Transfer-Encoding header from us.
      this.#upgrade =
        this.#upgradeSocket === undefined || result.upgrade === undefined
          ? undefined
          : result.upgrade === 'websocket'
            ? 'websocket'
            : (headerValue(req.rawHeaders, 'upgrade') ?? 'websocket');
      const state = this.#state;
      this.#headers = forwardRequestHeaders(result.headers, {
        clientIp: this.clientIp,
        proto: state.proto,
        trusted: state.trusted.size > 0 && state.trusted.has(this.clientIp),
      });
      this.#policy = policy;
    }
    const filter = this.#state.app.upstreamRequestFilter;
    if (filter === undefined) {
      this.#dispatch(this.method, this.uri, this.#headers);
      return;
    }
    // The filter may mutate what it gets; every attempt starts from the policy's output.
    const upstream: UpstreamRequest = { method: this.method, path: this.uri, headers: this.#headers.slice() };
    this.#upstream = upstream;
    try {
      const done = filter(this, upstream, this.#ctx);
      if (done instanceof Promise) {
        done.then(
          () => this.#dispatch(upstream.method, upstream.path, upstream.headers),
          (err) => this.#fail(err),
        );
        return;
      }
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#dispatch(upstream.method, upstream.path, upstream.headers);
  }

  #dispatch(method: string, path: string, headers: string[], fresh = false): void {
    if (this.#finished) return;
    const state = this.#state;
    const peer = this.#peer as HttpPeer;
    let entry: PoolEntry;
    try {
      entry = state.pools.get(peer);
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#entry = entry;
    entry.inflight++;
    this.#attemptStart = entry.lastUsed = performance.now();
    this.#attemptOpen = true;
    const observers = state.observers;
    for (let i = 0; i < observers.length; i++) notifyStart(state, observers[i], peer);
    const dispatcher = fresh ? entry.freshClient() : entry.pool;
    dispatcher.dispatch(
      {
        method,
        path,
        headers,
        body: this.#hasBody ? this.request : null,
        upgrade: this.#upgrade ?? null,
        headersTimeout: entry.readTimeout,
        bodyTimeout: entry.readTimeout,
        reset: !entry.keepAlive,
      },
      this as never,
    );
    // A one-off client: close it once its only request is done.
    if (fresh) dispatcher.close().catch(noop);
  }

  #endAttempt(outcome: UpstreamOutcome): void {
    if (!this.#attemptOpen) return;
    this.#attemptOpen = false;
    this.#abort = undefined;
    const entry = this.#entry as PoolEntry;
    entry.inflight--;
    const observers = this.#state.observers;
    if (observers.length === 0) return;
    const peer = this.#peer as HttpPeer;
    const ms = performance.now() - this.#attemptStart;
    for (let i = 0; i < observers.length; i++) {
      const onFinish = observers[i]?.onFinish;
      if (onFinish === undefined) continue;
      try {
        onFinish.call(observers[i], peer, outcome, ms);
      } catch (err) {
        this.#state.logger.error({ err }, 'upstream observer threw');
      }
    }
  }

  // --- undici handler (legacy callback API) ---

  onConnect(abort: (err: Error) => void): void {
    this.#abort = abort;
    if (this.#finished) abort(new Error('downstream closed'));
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, _statusText: string): boolean {
    if (this.#finished) return false;
    if (status < 200) return true;
    this.#status = status;
    this.#resume = resume;
    const headers = forwardResponseHeaders(raw, false);
    const filter = this.#state.app.responseFilter;
    if (filter === undefined) return this.#writeHead(status, headers);
    const response: UpstreamResponse = { status, headers };
    let done: void | Promise<void>;
    try {
      done = filter(this, response, this.#ctx);
    } catch (err) {
      this.#abortUpstream(err);
      return false;
    }
    if (done instanceof Promise) {
      done.then(
        () => {
          if (this.#writeHead(response.status, response.headers)) resume();
        },
        (err) => this.#abortUpstream(err),
      );
      return false;
    }
    return this.#writeHead(response.status, response.headers);
  }

  #writeHead(status: number, headers: string[]): boolean {
    if (this.#finished) return false;
    const res = this.response;
    if (this.#state.closing) res.shouldKeepAlive = false;
    this.#status = status;
    // writeHead only formats the head; it is written with the first body bytes or `end()`.
    this.#joinTurn();
    try {
      res.writeHead(status, headers);
    } catch (err) {
      // Node refused a header the upstream sent (invalid characters): a broken upstream response.
      this.#abortUpstream(new LbError('LB_ERR_UPSTREAM_ERROR', 'invalid upstream response header', { cause: err }));
      return false;
    }
    return true;
  }

  #joinTurn(): void {
    if (this.#inTurn) return;
    this.#inTurn = true;
    if (heldThisTurn.length === 0) setImmediate(flushTurn);
    heldThisTurn.push(this as Exchange<unknown>);
  }

  /**
   * A body past the hold (too large, or arriving in a later turn than its head): cork the socket
   * for the rest of the turn and write what was held first.
   */
  #corkTurn(): void {
    this.#joinTurn();
    if (this.#corked) return;
    const socket = this.#socket;
    if (socket.destroyed) return;
    this.#corked = true;
    socket.cork();
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    this.#heldBytes = 0;
    for (let i = 0; i < held.length; i++) this.#write(held[i] as Buffer);
  }

  /**
   * End of the turn: what was held goes out, and a completed response ends. A small response
   * completed in the turn leaves as one write: Node prepends the head to a latin1 string body
   * (latin1 maps bytes to characters one to one, so the bytes are unchanged).
   */
  endTurn(): void {
    this.#inTurn = false;
    const held = this.#held;
    const heldBytes = this.#heldBytes;
    this.#held = undefined;
    this.#heldBytes = 0;
    const endDue = this.#endDue;
    this.#endDue = false;
    if (this.#corked) {
      this.#corked = false;
      // end() uncorks the socket fully.
      if (!endDue || this.#finished) this.#socket.uncork();
    }
    if (this.#finished) return;
    if (held !== undefined) {
      const body = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldBytes);
      if (endDue) this.#writeWhole(body);
      else this.#write(body);
    }
    if (!endDue) return;
    this.response.end();
    this.#finish(undefined);
  }

  /**
   * Head and whole body as one string in one write. Corked by us, Node neither corks the socket
   * itself (it would uncork on the next tick) nor adds the empty write `end()` makes while data is
   * pending, so one buffered chunk leaves as one `write`, not a `writev`.
   */
  #writeWhole(body: Buffer): void {
    const socket = this.#socket;
    socket.cork();
    this.response.write(body.toString('latin1'), 'latin1');
    socket.uncork();
  }

  onData(chunk: Buffer): boolean {
    if (this.#finished) return false;
    if (this.#inTurn && !this.#corked && this.#heldBytes + chunk.length <= HOLD_LIMIT) {
      if (this.#held === undefined) this.#held = [chunk];
      else this.#held.push(chunk);
      this.#heldBytes += chunk.length;
      return true;
    }
    this.#corkTurn();
    return this.#write(chunk);
  }

  #write(chunk: Buffer): boolean {
    const ok = this.response.write(chunk);
    if (!ok && !this.#drainWatched) {
      this.#drainWatched = true;
      this.response.on('drain', onResponseDrain);
    }
    return ok;
  }

  /** The downstream drained: let undici read from the upstream again. */
  resumeUpstream(): void {
    this.#resume?.();
  }

  onComplete(_trailers: unknown): void {
    if (this.#finished) return;
    this.#endAttempt(this.#status >= 500 ? 'http-5xx' : 'success');
    if (this.#inTurn) {
      this.#endDue = true;
      return;
    }
    this.response.end();
    this.#finish(undefined);
  }

  onUpgrade(status: number, raw: Buffer[], upstream: Socket): void {
    const downstream = this.#upgradeSocket;
    if (this.#finished || downstream === undefined) {
      upstream.destroy();
      return;
    }
    this.#endAttempt('success');
    this.#status = status;
    this.response.detachSocket(downstream);
    openTunnel(this.#state.tunnels, downstream, upstream, status, forwardResponseHeaders(raw, true), this.#upgradeHead);
    this.#finish(undefined);
  }

  onError(err: Error): void {
    if (this.#finished) {
      this.#endAttempt('error');
      return;
    }
    const code = (err as { code?: unknown }).code;
    const state = this.#state;
    if (typeof code === 'string' && CONNECT_CODES.has(code) && isLbError(err)) {
      this.#endAttempt('connect-error');
      const failToConnect = state.app.failToConnect;
      let decided: LbError = err;
      if (failToConnect !== undefined) {
        try {
          decided = failToConnect(this, this.#peer as HttpPeer, err, this.#ctx);
        } catch (thrown) {
          this.#fail(thrown);
          return;
        }
      }
      if (decided.retryable && this.#attempts < state.maxAttempts && this.#canResend()) {
        this.#retryCause = decided;
        this.#nextAttempt();
        return;
      }
      this.#fail(decided);
      return;
    }
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
      this.#endAttempt('timeout');
      this.#fail(new LbError('LB_ERR_UPSTREAM_TIMEOUT', `upstream ${this.#peer?.id} timed out`, { cause: err }));
      return;
    }
    const dropped =
      typeof code === 'string' &&
      STALE_SOCKET_CODES.has(code) &&
      this.#status === 0 &&
      IDEMPOTENT.has(this.method) &&
      this.#canResend();
    if (dropped && !this.#freshResent) {
      // Most likely a pooled keep-alive connection the upstream had closed: nothing reached it.
      // Send again to the same peer on a brand-new connection (the pool's other idle sockets may
      // be just as dead), without counting an attempt.
      this.#endAttempt('error');
      this.#freshResent = true;
      const u = this.#upstream;
      if (u === undefined) this.#dispatch(this.method, this.uri, this.#headers, true);
      else this.#dispatch(u.method, u.path, u.headers, true);
      return;
    }
    if (dropped && this.#attempts < state.maxAttempts) {
      // A new connection was dropped too before any response byte: the peer is not serving. An
      // idempotent request whose body did not start may go to the next backend (RFC 9110 §9.2.2).
      this.#endAttempt('connect-error');
      this.#retryCause = new LbError('LB_ERR_UPSTREAM_ERROR', `upstream ${this.#peer?.id} dropped the connection`, {
        cause: err,
      });
      this.#nextAttempt();
      return;
    }
    this.#endAttempt('error');
    this.#fail(isLbError(err) ? err : new LbError('LB_ERR_UPSTREAM_ERROR', 'upstream request failed', { cause: err }));
  }

  /** Nothing of the request has gone upstream and nothing of a response downstream. */
  #canResend(): boolean {
    return !this.response.headersSent && !this.request.readableDidRead && !this.request.destroyed;
  }

  #abortUpstream(err: unknown): void {
    const abort = this.#abort;
    if (abort !== undefined) abort(err instanceof Error ? err : new Error(String(err)));
    else this.#fail(err);
  }

  /** The downstream connection closed; before the response ended that is a client abort. */
  downstreamClosed(): void {
    if (this.#finished) return;
    this.#abort?.(new Error('downstream closed before the response ended'));
    this.#endAttempt('error');
    this.#status = this.#status === 0 ? 499 : this.#status;
    this.#finish(undefined);
  }

  /** Ends the request with `err`: its status if nothing was sent yet, else a cut connection. */
  #fail(thrown: unknown): void {
    if (this.#finished) return;
    const err = isLbError(thrown) ? thrown : undefined;
    const status = err === undefined ? 500 : err.status;
    if (err === undefined) this.#state.logger.error({ err: thrown }, 'proxy phase threw');
    const res = this.response;
    if (res.headersSent) {
      res.destroy();
    } else {
      this.#status = status;
      const text = STATUS_TEXT[status] ?? 'Error';
      // A bad request's own reason is shown; upstream errors get a fixed reason per code, since
      // their messages could name internal addresses.
      const reason = err === undefined ? undefined : status === 400 ? err.message : CLIENT_REASON[err.code];
      const body = reason === undefined ? `${status} ${text}\n` : `${status} ${text}: ${reason}\n`;
      res.shouldKeepAlive = res.shouldKeepAlive && !this.#state.closing && this.#upgradeSocket === undefined;
      res.writeHead(status, [
        'content-type',
        'text/plain; charset=utf-8',
        'content-length',
        String(Buffer.byteLength(body)),
      ]);
      res.end(body);
    }
    this.#finish(err ?? new LbError('LB_ERR_UPSTREAM_ERROR', 'proxy phase failed', { cause: thrown }));
  }

  #finish(error: LbError | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    const state = this.#state;
    const app = state.app;
    const access = state.accessLog;
    try {
      if (access !== undefined) this.#accessLog(access, error);
      app.logging?.(this, error, this.#ctx);
    } catch (err) {
      state.logger.error({ err }, 'logging phase threw');
    } finally {
      state.inflight--;
      state.onSettled?.();
    }
  }

  #accessLog(log: NonNullable<ServerState<C>['accessLog']>, error: LbError | undefined): void {
    const socket = this.#socket;
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    const bytesIn = read - (socket[kBytesRead] ?? 0);
    const bytesOut = written - (socket[kBytesWritten] ?? 0);
    socket[kBytesRead] = read;
    socket[kBytesWritten] = written;
    log.info(
      {
        method: this.method,
        // The path only: query strings often carry tokens.
        path: this.path,
        status: this.#status,
        backend: this.#peer?.id,
        attempts: this.#attempts,
        durationMs: Math.round((performance.now() - this.#start) * 10) / 10,
        bytesIn,
        bytesOut,
        ...(error === undefined ? {} : { error: error.code }),
      },
      'request',
    );
  }
}

/** Wires the ServerResponse made for an `upgrade` event to its raw socket. */
export function upgradeResponse(res: ServerResponse, socket: Socket): void {
  res.assignSocket(socket);
  res.shouldKeepAlive = false;
  res.on('finish', onUpgradeResponseFinish);
}

function noop(): void {}

/** An observer's bug must not break the request it observes. */
function notifyStart<C>(state: ServerState<C>, observer: UpstreamObserver | undefined, peer: HttpPeer): void {
  if (observer?.onStart === undefined) return;
  try {
    observer.onStart(peer);
  } catch (err) {
    state.logger.error({ err }, 'upstream observer threw');
  }
}

function defaultCtx(): { triedBackends: Set<string>; attempts: number } {
  return { triedBackends: new Set(), attempts: 0 };
}

/** A request body exists when Content-Length is non-zero or Transfer-Encoding is present (RFC 9112 §6.3). */
function hasBody(raw: readonly string[]): boolean {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if ((raw[i + 1] as string).trim() !== '0') return true;
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      return true;
    }
  }
  return false;
}

function headerValue(raw: readonly string[], lower: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === lower) return raw[i + 1];
  }
  return undefined;
}
