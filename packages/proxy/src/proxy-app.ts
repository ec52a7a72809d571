import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { HttpPeer, LbError, RequestInfo } from '@switchyard/core';
import type { Logger } from 'pino';

/**
 * One downstream request as the phases of a {@link ProxyApp} see it: the same object in every
 * phase of the request, holding its data only (none of the machinery that forwards it).
 */
export interface Session {
  /**
   * The downstream request: `node:http`'s for HTTP/1.1, `node:http2`'s compatibility request for
   * an HTTP/2 stream (`'stream' in request` tells them apart; its `rawHeaders` and `headers`
   * include the pseudo-header fields, the session's `headers` do not).
   */
  readonly request: IncomingMessage | Http2ServerRequest;
  /**
   * The downstream response (`node:http`'s, or `node:http2`'s compatibility response for an HTTP/2
   * stream; both have `writeHead`, `setHeader`, `write` and `end`): a `requestFilter` that answers
   * by itself writes here and returns `true`.
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

/** How one upstream attempt ended. */
export type UpstreamOutcome = 'success' | 'connect-error' | 'timeout' | 'http-5xx' | 'error';

/**
 * Hooks the server calls around each upstream attempt (the balancer feeds outlier detection
 * and load tracking from them). `onFinish` is called exactly once for each `onStart`.
 */
export interface UpstreamObserver {
  onStart?(peer: HttpPeer): void;
  /** `durationMs` runs from `onStart` until the response ended, failed or the client aborted. */
  onFinish?(peer: HttpPeer, outcome: UpstreamOutcome, durationMs: number): void;
}

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
  /** Where errors, transitions and the access log go. @defaultValue a disabled logger */
  readonly logger: Logger | undefined;
  /** Write one access-log line per request at info. @defaultValue true */
  readonly accessLog: boolean;
  /** Client IPs whose incoming `X-Forwarded-*` are believed and appended to. @defaultValue [] */
  readonly trustedProxies: readonly string[];
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

/** A running reverse proxy made by `createProxyServer`. */
export interface ProxyServer {
  /** The underlying `node:http` (or `node:https`) server. */
  readonly server: Server;
  /** Starts listening; resolves with the bound address. @defaultValue host `'127.0.0.1'` */
  listen(port: number, host?: string): Promise<{ host: string; port: number }>;
  /**
   * Graceful shutdown: stops accepting, lets in-flight requests finish for up to `deadlineMs`
   * (then destroys what is left), closes idle downstream connections and every upstream pool.
   * @defaultValue deadlineMs 10000
   */
  close(options?: { deadlineMs?: number }): Promise<void>;
}
