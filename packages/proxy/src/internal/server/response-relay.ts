import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isLbError, LbError } from '@switchyard/core';
import type { UpstreamResponse } from '../../proxy-app.js';
import { recordOf, requestEnded } from './access-log.js';
import { errorBody, errorHeaders, errorStatus } from './error-response.js';
import { failureCause } from './failure-cause.js';
import { forwardResponseHeaders } from './forward-headers.js';
import { answerGrpcFailure, isGrpcCall } from './grpc-call.js';
import type { H2Downstream } from './h2-downstream.js';
import { sessionSocket } from './h2-session-socket.js';
import { H2Writer } from './h2-writer.js';
import type { ProxySession } from './proxy-session.js';
import type { ResponseOwner, ResponseWriter } from './response-writer.js';
import type { ServerState } from './server-state.js';
import { openTunnel } from './server-tunnel.js';
import { TurnWriter } from './turn-writer.js';

/** What the relay needs from the attempt loop that feeds it. */
export interface AttemptSource {
  /** Upstream attempts made so far. */
  readonly attempts: number;
  /** The id of the peer of the latest attempt, if any. */
  readonly peerId: string | undefined;
  /** A retry was refused by the retry budget. */
  readonly retryRefused: boolean;
  /** Cuts the running attempt (undici then reports `err`), or ends the request with `err` when none runs. */
  abortUpstream(err: unknown): void;
  /** The client went away: the running attempt, if any, is cut and counted as an error. */
  cancelAttempt(): void;
}

/**
 * The downstream side of one request: the upstream response head (through the app's
 * `responseFilter`) and body go out through a {@link TurnWriter}, an upgrade becomes a tunnel, a
 * failure becomes an error response (or a cut connection once bytes were sent), and the request
 * ends exactly once with its access-log line and the app's `logging` phase.
 */
export class ResponseRelay<C> implements ResponseOwner {
  /** The app's per-request context, set once before the first phase. */
  ctx!: C;
  readonly #state: ServerState<C>;
  readonly #session: ProxySession;
  readonly #source: AttemptSource;
  readonly #writer: ResponseWriter;
  readonly #start = performance.now();
  /** Kept: `request.socket` is null once the response has finished. */
  readonly #socket: Socket;
  /** The raw socket of an `upgrade` request (no ServerResponse drives it). */
  readonly #upgradeSocket: Socket | undefined;
  readonly #upgradeHead: Buffer | undefined;
  /** The request is a gRPC call: the proxy's own failures are answered in gRPC's terms. */
  readonly grpc: boolean;
  #resume: (() => void) | undefined;
  #status = 0;
  #finished = false;
  /** The client went away (its connection closed, or its HTTP/2 stream was reset). */
  #downstreamGone = false;

  constructor(
    state: ServerState<C>,
    session: ProxySession,
    source: AttemptSource,
    upgradeSocket: Socket | undefined,
    upgradeHead: Buffer | undefined,
  ) {
    this.#state = state;
    this.#session = session;
    this.#source = source;
    const downstream = session.downstream;
    if (downstream !== undefined) {
      // Streams share their session's socket: the access log counts the connection's bytes.
      this.#socket = sessionSocket(downstream.stream.session) as Socket;
      this.#writer = new H2Writer(downstream, this);
    } else {
      this.#socket = session.h1Request.socket;
      this.#writer = new TurnWriter(session.h1Response, this.#socket, this, state);
    }
    this.#upgradeSocket = upgradeSocket;
    this.#upgradeHead = upgradeHead;
    this.grpc = downstream !== undefined && isGrpcCall(downstream.headers);
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** The downstream connection is gone (closed or reset by the client): nothing can reach it any more. */
  get clientGone(): boolean {
    return this.#downstreamGone || this.#socket.destroyed;
  }

  /** The status sent or about to be sent; 0 before any. */
  get status(): number {
    return this.#status;
  }

  /**
   * The request starts: counted in flight (until it ends), its app context made, its head
   * checked against `maxHeadersCount`. `false` when it already ended (with an error response).
   */
  begin(): boolean {
    const state = this.#state;
    state.inflight++;
    if (state.closing && !this.#session.h2) this.#session.h1Response.shouldKeepAlive = false;
    const { app, options } = state;
    try {
      this.ctx = app.newCtx ? app.newCtx() : (defaultCtx() as C);
    } catch (err) {
      this.fail(err);
      return false;
    }
    if (this.#session.rawHeaders.length <= 2 * options.maxHeadersCount) return true;
    this.fail(new LbError('LB_ERR_BAD_REQUEST', `more than ${options.maxHeadersCount} header fields`));
    return false;
  }

  /** A final upstream response head: `false` pauses the upstream until `resume` is called. */
  head(status: number, raw: readonly (Buffer | string)[], resume: () => void): boolean {
    if (this.#finished) return false;
    this.#status = status;
    this.#resume = resume;
    const headers = forwardResponseHeaders(raw, false);
    const filter = this.#state.app.responseFilter;
    if (filter === undefined) return this.#writeHead(status, headers);
    const response: UpstreamResponse = { status, headers };
    let done: void | Promise<void>;
    try {
      done = filter(this.#session, response, this.ctx);
    } catch (err) {
      this.#source.abortUpstream(err);
      return false;
    }
    if (done instanceof Promise) {
      done.then(
        () => {
          if (this.#writeHead(response.status, response.headers)) resume();
        },
        (err) => this.#source.abortUpstream(err),
      );
      return false;
    }
    return this.#writeHead(response.status, response.headers);
  }

  #writeHead(status: number, headers: string[]): boolean {
    if (this.#finished) return false;
    this.#status = status;
    try {
      this.#writer.head(status, headers);
    } catch (err) {
      // Node refused a header the upstream sent (invalid characters): a broken upstream response.
      const broken = new LbError('LB_ERR_UPSTREAM_ERROR', 'invalid upstream response header', { cause: err });
      this.#source.abortUpstream(broken);
      return false;
    }
    return true;
  }

  /** One upstream body chunk; `false` pauses the upstream until the downstream drains. */
  chunk(data: Buffer): boolean {
    if (this.#finished) return false;
    return this.#writer.chunk(data);
  }

  /** The upstream body is complete; `trailers` (flat pairs) go out after it where the downstream carries them. */
  complete(trailers?: string[]): void {
    if (!this.#finished) this.#writer.end(trailers);
  }

  /** The upstream accepted the upgrade: pipe the two sockets together and end the request. */
  upgrade(status: number, raw: Buffer[] | string[] | null, upstream: Duplex): void {
    const downstream = this.#upgradeSocket;
    if (this.#finished || downstream === undefined) {
      upstream.destroy();
      return;
    }
    this.#status = status;
    this.#session.h1Response.detachSocket(downstream);
    const headers = forwardResponseHeaders(raw ?? [], true);
    openTunnel(this.#state.tunnels, downstream, upstream, status, headers, this.#upgradeHead);
    this.#finish(undefined);
  }

  /** `requestFilter` answered the request itself. */
  answered(): void {
    const downstream = this.#session.downstream;
    // On HTTP/2 the app answered through the compatibility response (which it built by reading it).
    this.#status = downstream !== undefined ? downstream.status : this.#session.h1Response.statusCode;
    this.#finish(undefined);
  }

  /** Ends the request with `thrown`: its error response if nothing was sent yet, else a cut connection. */
  fail(thrown: unknown): void {
    if (this.#finished) return;
    const err = isLbError(thrown) ? thrown : undefined;
    if (err === undefined) this.#state.logger.error({ err: thrown }, 'proxy phase threw');
    const downstream = this.#session.downstream;
    if (this.grpc) {
      const sent = answerGrpcFailure(downstream as H2Downstream, err);
      if (sent !== 0) this.#status = sent;
    } else if (downstream !== undefined ? downstream.headersSent : this.#session.h1Response.headersSent) {
      this.#writer.cut();
    } else {
      const status = errorStatus(err);
      const body = errorBody(status, err);
      this.#status = status;
      if (downstream !== undefined) {
        downstream.answer(status, errorHeaders(body, status), body);
      } else {
        const h1 = this.#session.h1Response;
        h1.shouldKeepAlive = h1.shouldKeepAlive && !this.#state.closing && this.#upgradeSocket === undefined;
        h1.writeHead(status, errorHeaders(body, status) as unknown as Record<string, string>);
        h1.end(body);
      }
    }
    this.#finish(err ?? new LbError('LB_ERR_UPSTREAM_ERROR', 'proxy phase failed', { cause: thrown }));
  }

  resumeUpstream(): void {
    this.#resume?.();
  }

  /**
   * The client went away before the response ended: logged 499 (as nginx does) with the bytes
   * moved so far, whatever status had started to go out, and the running attempt is cancelled,
   * which observers do not count against the upstream.
   */
  downstreamClosed(): void {
    if (this.#finished || this.#downstreamGone) return;
    // Set first: undici may report the cancelled attempt's error synchronously, and the attempt
    // loop must see a client that is gone (an HTTP/2 stream's reset leaves its socket open).
    this.#downstreamGone = true;
    this.#status = 499;
    this.#source.cancelAttempt();
    this.#finish(undefined, 'client closed the connection');
  }

  responseEnded(): void {
    this.#finish(undefined);
  }

  #finish(error: LbError | undefined, cause = error === undefined ? undefined : failureCause(error)): void {
    if (this.#finished) return;
    this.#finished = true;
    const state = this.#state;
    const session = this.#session;
    try {
      const access = state.accessLog;
      if (access !== undefined || state.endObservers.length > 0) {
        const source = this.#source;
        const facts = {
          method: session.method,
          path: session.path,
          status: this.#status,
          backend: source.peerId,
          attempts: source.attempts,
          retryRefused: source.retryRefused,
          elapsedMs: performance.now() - this.#start,
          cause,
        };
        requestEnded(state, access, recordOf(facts, this.#socket, error));
      }
      state.app.logging?.(session, error, this.ctx);
    } catch (err) {
      state.logger.error({ err }, 'logging phase threw');
    } finally {
      state.inflight--;
      state.onSettled?.();
    }
  }
}

function defaultCtx(): { triedBackends: Set<string>; attempts: number } {
  return { triedBackends: new Set(), attempts: 0 };
}
