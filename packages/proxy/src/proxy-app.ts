import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { HttpPeer, LbError, RequestInfo } from '@switchyard/core';
import type { Logger } from 'pino';
import type { AccessRecord } from './internal/server/access-log.js';
import type { RetryBudget, RetryBudgetOptions } from './retry-budget.js';

/**
 * One downstream request as the phases of a {@link ProxyApp} see it: the same object in every
 * phase of the request, holding its data only (none of the machinery that forwards it).
 */
export interface Session {
  /**
   * The downstream request: `node:http`'s for HTTP/1.1, `node:http2`'s compatibility request for
   * an HTTP/2 stream (`'stream' in request` tells them apart; its `rawHeaders` and `headers`
   * include the pseudo-header fields, the session's `headers` do not).
   *
   * On HTTP/2 the proxy serves the stream itself and builds the compatibility request and
   * response only when a phase first reads `request` or `response` (a few µs per stream; the
   * session's own fields cost nothing). From then on the request body is read through this
   * request.
   */
  readonly request: IncomingMessage | Http2ServerRequest;
  /**
   * The downstream response (`node:http`'s, or `node:http2`'s compatibility response for an HTTP/2
   * stream; both have `writeHead`, `setHeader`, `write` and `end`): a `requestFilter` that answers
   * by itself writes here and returns `true`.
   *
   * On HTTP/2, reading it builds it (see `request`); once built, the proxy writes that stream's
   * response (head, body, trailers, its own error answers) through it, never around it, so its
   * `headersSent`, `statusCode` and `writableEnded` stay true in later phases. A phase that
   * answers through it must return `true` from `requestFilter` (as on HTTP/1.1): the proxy then
   * treats the request as answered and forwards nothing.
   */
  readonly response: ServerResponse | Http2ServerResponse;
  readonly method: string;
  /** The request target as received: path + query. */
  readonly uri: string;
  /** The path without the query string. */
  readonly path: string;
  /**
   * The downstream request headers (lower-case names). For HTTP/2 the same fields an HTTP/1.1
   * request would carry: no pseudo-header fields, `:authority` as `host`.
   */
  readonly headers: IncomingHttpHeaders;
  /** The socket's remote address (not `X-Forwarded-For`). */
  readonly clientIp: string;
  /** The same request in core's shape, for selectors. */
  readonly requestInfo: RequestInfo;
}

/** The request about to go upstream; `upstreamRequestFilter` may change any field. */
export interface UpstreamRequest {
  method: string;
  /** Path + query sent upstream. */
  path: string;
  /** Raw header name/value pairs, flat: `[name0, value0, name1, value1, …]`. Mutable. */
  headers: string[];
}

/** The upstream response head before it goes downstream; `responseFilter` may change it. */
export interface UpstreamResponse {
  status: number;
  /** Raw header name/value pairs, flat. Mutable. */
  headers: string[];
}

/**
 * A proxy application: Pingora's `ProxyHttp` phases. Only `upstreamPeer` is required.
 * Order per request: `newCtx` → `requestFilter` → (`upstreamPeer` → connect →
 * `upstreamRequestFilter`, repeated on retryable connect failures) → `responseFilter` → `logging`.
 */
export interface ProxyApp<C = ProxyCtx> {
  /** A fresh per-request context. @defaultValue a {@link ProxyCtx} `{ triedBackends: new Set(), attempts: 0 }` */
  newCtx?(): C;
  /** Runs first; return `true` when the filter has already answered through `session.response`. */
  requestFilter?(session: Session, ctx: C): boolean | Promise<boolean>;
  /**
   * Chooses the upstream for one attempt; called again on every retry. Throw an `LbError`
   * (e.g. `LB_ERR_NO_HEALTHY_BACKEND` → 503) to end the request with that error's status.
   */
  upstreamPeer(session: Session, ctx: C): HttpPeer | Promise<HttpPeer>;
  /** Edits the upstream request head after the upstream request policy and `X-Forwarded-*` were applied. */
  upstreamRequestFilter?(session: Session, request: UpstreamRequest, ctx: C): void | Promise<void>;
  /** Edits the upstream response head before it is sent downstream. */
  responseFilter?(session: Session, response: UpstreamResponse, ctx: C): void | Promise<void>;
  /**
   * Called when connecting to `peer` failed (nothing was sent upstream). Return the error to use;
   * its `retryable` decides whether another attempt (a new `upstreamPeer` call) is made.
   * @defaultValue returns `error` unchanged (connect failures are retryable by default)
   */
  failToConnect?(session: Session, peer: HttpPeer, error: LbError, ctx: C): LbError;
  /** Runs once per request at the very end; `error` is what ended it, if anything did. */
  logging?(session: Session, error: LbError | undefined, ctx: C): void;
}

/**
 * The default ctx. `createUpstreamPeer` records the backends it tried in `triedBackends`.
 * Before every `upstreamPeer` call the server sets `attempts` to the 1-based number of the
 * attempt about to be made (on any ctx that has a numeric `attempts` field).
 */
export interface ProxyCtx {
  readonly triedBackends: Set<string>;
  attempts: number;
}

/**
 * How one upstream attempt ended. `'cancelled'`: the client went away first (its request is
 * logged 499); like `'error'` (a failure that is not the upstream's own, such as a stale pooled
 * connection sent again) it says nothing about the upstream's health.
 */
export type UpstreamOutcome = 'success' | 'connect-error' | 'timeout' | 'http-5xx' | 'error' | 'cancelled';

/**
 * Hooks the server calls around each upstream attempt (the balancer feeds outlier detection
 * and load tracking from them, metrics count them). `onFinish` is called exactly once for each
 * `onStart`; `onHeaders` at most once in between. `onRequestEnd` is called once per downstream
 * request, after its last attempt.
 */
export interface UpstreamObserver {
  onStart?(peer: HttpPeer): void;
  /** The attempt got its final response head (`status` ≥ 200, or 101 for an upgrade) `durationMs` after `onStart`. */
  onHeaders?(peer: HttpPeer, status: number, durationMs: number): void;
  /**
   * `durationMs` runs from `onStart` until the response ended, failed or the client aborted.
   * `error` is the `LB_ERR_*` code of an attempt that ended without a response head because of the
   * upstream or the connection to it; `undefined` when it was answered or the client went away first.
   */
  onFinish?(peer: HttpPeer, outcome: UpstreamOutcome, durationMs: number, error?: string): void;
  /** The downstream request ended; `record` is the same one the access log writes (computed only when wanted). */
  onRequestEnd?(record: AccessRecord): void;
}

/**
 * Which forwarding fields the proxy emits upstream: `X-Forwarded-For` / `-Proto` / `-Host` and
 * `X-Real-IP` (`'x-forwarded'`), RFC 7239 `Forwarded` (`'rfc7239'`), or both.
 */
export type ForwardedHeaders = 'x-forwarded' | 'rfc7239' | 'both';

/** Certificate and key (PEM) to serve downstream HTTPS with. */
export interface ProxyTlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** Options of {@link ProxyServer}; every field has a default in `PROXY_SERVER_DEFAULTS`. */
export interface ProxyServerOptions {
  /** Serve HTTPS with this certificate; plain HTTP when absent. @defaultValue undefined */
  readonly tls: ProxyTlsOptions | undefined;
  /** Upper bound on upstream attempts per request (first try + retries). @defaultValue 3 */
  readonly maxAttempts: number;
  /**
   * The server's retry budget: every retry (a next-peer attempt or a resend on a fresh
   * connection) must fit in it, or the request fails with the error that would have been
   * retried. Budget options (a {@link RetryBudget} is built from them), a `RetryBudget` to share
   * or read, or `false` for none. The server's budget is `ProxyServer.retryBudget`.
   * @defaultValue `{}` (a budget with `RETRY_BUDGET_DEFAULTS`: 20% of the last 10 s's requests, at least 10/s)
   */
  readonly retryBudget: Partial<Omit<RetryBudgetOptions, 'now'>> | RetryBudget | false;
  /** Where errors, transitions and the access log go. @defaultValue a disabled logger */
  readonly logger: Logger | undefined;
  /** Write one access-log line per request at info. @defaultValue true */
  readonly accessLog: boolean;
  /**
   * Client IPs whose incoming `Forwarded`, `X-Real-IP` and `X-Forwarded-*` are believed and
   * appended to; every other client's are replaced by what the proxy saw. @defaultValue []
   */
  readonly trustedProxies: readonly string[];
  /** The forwarding fields emitted upstream. @defaultValue 'x-forwarded' */
  readonly forwardedHeaders: ForwardedHeaders;
  /** Called around every upstream attempt. @defaultValue [] */
  readonly observers: readonly UpstreamObserver[];
  /** Upper bound on upstream connection pools (one per `HttpPeer.reuseKey()`); the least recently used is closed. @defaultValue 1024 */
  readonly maxPools: number;
  /** Connections per upstream pool. @defaultValue 128 (Pingora's keepalive pool size) */
  readonly connectionsPerPool: number;
  /** A pool unused this long is closed, ms. @defaultValue 300000 */
  readonly poolIdleMs: number;
  /** Time allowed to receive a downstream request's headers, ms. @defaultValue 20000 */
  readonly headersTimeout: number;
  /** Time allowed to receive a whole downstream request, ms; 0 disables. @defaultValue 300000 */
  readonly requestTimeout: number;
  /** Largest downstream request head, bytes. @defaultValue 16384 */
  readonly maxHeaderSize: number;
  /**
   * Most header fields in a downstream request; more is answered 400 (Node alone would drop the
   * excess silently and forward the rest). @defaultValue 2000 (Node's `maxHeadersCount`)
   */
  readonly maxHeadersCount: number;
  /** How long an idle downstream keep-alive connection is kept, ms. @defaultValue 5000 */
  readonly keepAliveTimeout: number;
  /**
   * With `tls`, also offer HTTP/2 (ALPN `h2` before `http/1.1`); every stream is balanced on its
   * own. Without `tls` it has no effect (see `h2c`). @defaultValue true
   */
  readonly http2: boolean;
  /**
   * Without `tls`, also accept HTTP/2 with prior knowledge (h2c) on the same port, told apart
   * from HTTP/1.1 by the connection preface. @defaultValue false
   */
  readonly h2c: boolean;
}

/** Options of {@link ProxyServer.close}; defaults in `PROXY_CLOSE_DEFAULTS`. */
export interface ProxyCloseOptions {
  /**
   * In-flight requests get this long (from the call) to finish; then what is left is destroyed.
   * @defaultValue 10000
   */
  readonly deadlineMs: number;
  /**
   * Idle keep-alive connections stay open this long (at most `deadlineMs`, and only while any
   * connection is open) so requests already on their way are answered, with `Connection: close`;
   * then they are half-closed (a FIN, never a reset). 0 closes them at once.
   * @defaultValue 0 (`switchyard serve`: `server.drainMs`, 5000)
   */
  readonly drainMs: number;
}

/** A running reverse proxy made by `createProxyServer`. */
export interface ProxyServer {
  /** The underlying `node:http` (or `node:https`) server. */
  readonly server: Server;
  /** `true` once `close()` was called: responses carry `Connection: close` (a readiness probe should fail). */
  readonly draining: boolean;
  /** The retry budget every retry of this server draws on (its `refused` counts refusals); undefined with `retryBudget: false`. */
  readonly retryBudget: RetryBudget | undefined;
  /** Starts listening; resolves with the bound address. @defaultValue host `'127.0.0.1'` */
  listen(port: number, host?: string): Promise<{ host: string; port: number }>;
  /**
   * Closes the listening socket only: open connections keep being served as before, until
   * `close()`. Lets a cluster primary have every worker stop accepting before any of them starts
   * telling clients to reconnect. Idempotent; `close()` calls it.
   */
  stopAccepting(): void;
  /**
   * Graceful shutdown without resets: stops accepting; every response from now on carries
   * `Connection: close`; idle connections are kept for `drainMs` (requests arriving on them are
   * served), then half-closed with a FIN, their input read and discarded until the client closes;
   * a connection whose in-flight response ends is closed by that response. Resolves when every
   * request has finished and every connection and upstream pool is closed, or at `deadlineMs`,
   * when what is left (requests, connections, tunnels, pools) is destroyed.
   * @throws LbError `LB_ERR_INVALID_OPTION` (the promise rejects) for a deadline or drain outside 0–2^31 - 1.
   */
  close(options?: Partial<ProxyCloseOptions>): Promise<void>;
}
