import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import {
  applyUpstreamRequestPolicy,
  type HttpPeer,
  invalidOption,
  LbError,
  rawHeadersHaveBody,
  rawHeaderValue,
} from '@switchyard/core';
import type { Dispatcher } from 'undici';
import type { UpstreamOutcome, UpstreamRequest } from '../../proxy-app.js';
import { sendAsterisk } from './asterisk-dispatch.js';
import { forwardRequestHeaders, upgradeToken } from './forward-headers.js';
import { armGrpcTimeout } from './grpc-call.js';
import { H2Downstream } from './h2-downstream.js';
import { wantsTrailers } from './h2-request-rules.js';
import type { PoolEntry } from './pool-cache.js';
import { ProxySession } from './proxy-session.js';
import { requestTarget } from './request-target.js';
import { type AttemptSource, ResponseRelay } from './response-relay.js';
import { attemptError, attemptOutcome, decideRetry, failureKind, noPeerError } from './retry-decision.js';
import type { ServerState } from './server-state.js';
import { trailerPairs } from './trailers.js';
import { checkTransferCodings } from './transfer-coding.js';
import { attemptAnswered, attemptEnded, attemptStarted } from './upstream-attempt.js';
import { logRefusedResponse, relayEarlyHints, upstreamFramingProblem } from './upstream-response-check.js';

/**
 * One downstream request's attempt loop: `requestFilter`, then per attempt `upstreamPeer` →
 * upstream request policy → `upstreamRequestFilter` → dispatch to the peer's pool, with itself as
 * undici's dispatch handler (legacy callbacks, which undici calls without wrapping and with raw
 * header buffers). Response events go to its {@link ResponseRelay}; a failed attempt is tried
 * again as {@link decideRetry} says. Apps see only its {@link ProxySession}. Attempts never
 * overlap: the next starts only after undici reported the previous one's end.
 */
export class Exchange<C> implements Dispatcher.DispatchHandler, AttemptSource {
  readonly #state: ServerState<C>;
  readonly #session: ProxySession;
  readonly #relay: ResponseRelay<C>;
  readonly #hasBody: boolean;
  readonly #isUpgrade: boolean;
  #attempts = 0;
  /** This attempt was already sent again on a fresh connection after a dropped one. */
  #resent = false;
  #peer: HttpPeer | undefined;
  #entry: PoolEntry | undefined;
  #policy: unknown;
  /** The cached headers were made for an HTTP/2 client and a peer that may speak HTTP/2. */
  #mayH2 = false;
  /** The request headers for the current policy (set before the first dispatch). */
  #headers: string[] | undefined;
  #upgrade: string | undefined;
  /** The authority of an absolute-form target, which replaces `Host` upstream. */
  #authority: string | undefined;
  #upstream: UpstreamRequest | undefined;
  #abort: ((err?: Error) => void) | undefined;
  #attemptStart = 0;
  #attemptOpen = false;
  /** The failure that caused the current retry, reported if no peer is left. */
  #retryCause: unknown;
  #retryRefused = false;

  constructor(
    state: ServerState<C>,
    req: IncomingMessage | H2Downstream,
    res: ServerResponse | undefined,
    upgradeSocket?: Socket,
    upgradeHead?: Buffer,
  ) {
    this.#state = state;
    this.#session =
      req instanceof H2Downstream ? new ProxySession(undefined, undefined, req) : new ProxySession(req, res);
    this.#relay = new ResponseRelay(state, this.#session, this, upgradeSocket, upgradeHead);
    // An HTTP/2 request has a body unless its HEADERS frame ended the stream.
    this.#hasBody = req instanceof H2Downstream ? !req.stream.endAfterHeaders : rawHeadersHaveBody(req.rawHeaders);
    this.#isUpgrade = upgradeSocket !== undefined;
  }

  get attempts(): number {
    return this.#attempts;
  }

  get peerId(): string | undefined {
    return this.#peer?.id;
  }

  get retryRefused(): boolean {
    return this.#retryRefused;
  }

  /** Runs the request through the phases. */
  start(): void {
    const relay = this.#relay;
    if (!relay.begin()) return;
    const session = this.#session;
    try {
      // The HTTP/1.1 view of an HTTP/2 head (`:authority` as Host): the same checks apply.
      const raw = session.rawHeaders;
      const target = requestTarget(session.method, session.uri, session.httpVersion, raw);
      if (target.uri !== session.uri) session.retarget(target.uri);
      this.#authority = target.authority;
      checkTransferCodings(raw);
    } catch (err) {
      // A refused request's body (if any) is not read: the connection closes after the answer.
      if (!session.h2) session.h1Response.shouldKeepAlive = false;
      relay.fail(err);
      return;
    }
    if (relay.grpc) armGrpcTimeout(session.downstream as H2Downstream, (err) => this.abortUpstream(err));
    const requestFilter = this.#state.app.requestFilter;
    if (requestFilter === undefined) {
      this.#nextAttempt();
      return;
    }
    try {
      const handled = requestFilter(this.#session, relay.ctx);
      if (typeof handled === 'boolean') this.#afterRequestFilter(handled);
      else
        handled.then(
          (h) => this.#afterRequestFilter(h),
          (err) => relay.fail(err),
        );
    } catch (err) {
      relay.fail(err);
    }
  }

  #afterRequestFilter(handled: boolean): void {
    if (handled) this.#relay.answered();
    else this.#nextAttempt();
  }

  #nextAttempt(): void {
    const relay = this.#relay;
    if (relay.finished) return;
    this.#attempts++;
    this.#resent = false;
    if (this.#attempts === 1) this.#state.retryBudget?.request();
    const ctx = relay.ctx as { attempts?: unknown };
    if (typeof ctx === 'object' && ctx !== null && typeof ctx.attempts === 'number') ctx.attempts = this.#attempts;
    let peer: HttpPeer | Promise<HttpPeer>;
    try {
      peer = this.#state.app.upstreamPeer(this.#session, relay.ctx);
    } catch (err) {
      relay.fail(noPeerError(err, this.#retryCause));
      return;
    }
    if (peer instanceof Promise) {
      peer.then(
        (p) => this.#toPeerSafely(p),
        (err) => relay.fail(noPeerError(err, this.#retryCause)),
      );
    } else {
      this.#toPeerSafely(peer);
    }
  }

  #toPeerSafely(peer: HttpPeer): void {
    try {
      if (typeof peer !== 'object' || peer === null || typeof peer.reuseKey !== 'function') {
        invalidOption('upstreamPeer result', 'an HttpPeer', peer);
      }
      this.#toPeer(peer);
    } catch (err) {
      this.#relay.fail(err);
    }
  }

  #toPeer(peer: HttpPeer): void {
    if (this.#relay.finished) return;
    this.#peer = peer;
    const session = this.#session;
    const policy = peer.options.httpUpstreamRequestPolicy;
    const mayH2 = peer.options.alpn !== 'h1' && this.#session.h2;
    if (policy !== this.#policy || mayH2 !== this.#mayH2) {
      const raw = session.rawHeaders;
      // Throws LB_ERR_BAD_REQUEST for a request the policy rejects. Framing (`finalizeUpstreamFraming`)
      // is left to undici: it sends a body stream without Content-Length as chunked itself, and
      // refuses a Transfer-Encoding header from us.
      const result = applyUpstreamRequestPolicy(
        { headers: raw, httpVersion: session.httpVersion, hasBody: this.#hasBody },
        policy,
      );
      this.#upgrade = this.#isUpgrade ? upgradeToken(result.upgrade, raw) : undefined;
      // TE is hop-by-hop, but `te: trailers` from an HTTP/2 client (gRPC) says the client takes
      // trailers, which this proxy relays: an upstream that may speak HTTP/2 is told the same.
      if (mayH2 && wantsTrailers(session.receivedRawHeaders) && rawHeaderValue(result.headers, 'te') === undefined) {
        result.headers.push('te', 'trailers');
      }
      const { proto, trusted } = this.#state;
      const ip = session.clientIp;
      const isTrusted = trusted.size > 0 && trusted.has(ip);
      const mode = this.#state.options.forwardedHeaders;
      this.#headers = forwardRequestHeaders(result.headers, ip, proto, isTrusted, mode, this.#authority);
      this.#policy = policy;
      this.#mayH2 = mayH2;
    }
    const headers = this.#headers as string[];
    const filter = this.#state.app.upstreamRequestFilter;
    if (filter === undefined) {
      this.#dispatch(session.method, session.uri, headers);
      return;
    }
    // The filter may mutate what it gets; every attempt starts from the policy's output.
    const upstream: UpstreamRequest = { method: session.method, path: session.uri, headers: headers.slice() };
    this.#upstream = upstream;
    const done = filter(session, upstream, this.#relay.ctx);
    if (done instanceof Promise) {
      done.then(
        () => this.#dispatch(upstream.method, upstream.path, upstream.headers),
        (err) => this.#relay.fail(err),
      );
      return;
    }
    this.#dispatch(upstream.method, upstream.path, upstream.headers);
  }

  #dispatch(method: string, path: string, headers: string[], fresh = false): void {
    if (this.#relay.finished) return;
    const state = this.#state;
    const peer = this.#peer as HttpPeer;
    let entry: PoolEntry;
    try {
      entry = state.pools.get(peer);
    } catch (err) {
      this.#relay.fail(err);
      return;
    }
    this.#entry = entry;
    this.#attemptStart = attemptStarted(state, peer, entry);
    this.#attemptOpen = true;
    const session = this.#session;
    if (path === '*') {
      const body = this.#hasBody ? (session.bodyFor(false) as Readable) : null;
      sendAsterisk(peer, headers, body, peer.options.readTimeout ?? 0, this);
      return;
    }
    // Typed as the pool's Readable: undici takes the async iterable an HTTP/2 stream's body is for it.
    const body = this.#hasBody ? (session.bodyFor(peer.options.alpn !== 'h2') as Readable) : null;
    entry.dispatch(method, path, headers, body, this.#upgrade ?? null, this, fresh, peer.options.readTimeout ?? 0);
  }

  #endAttempt(outcome: UpstreamOutcome, error?: string): void {
    if (!this.#attemptOpen) return;
    this.#attemptOpen = false;
    this.#abort = undefined;
    attemptEnded(this.#state, this.#peer as HttpPeer, this.#entry as PoolEntry, outcome, this.#attemptStart, error);
  }

  abortUpstream(err: unknown): void {
    const abort = this.#abort;
    if (abort !== undefined) abort(err instanceof Error ? err : new Error(String(err)));
    else this.#relay.fail(err);
  }

  cancelAttempt(): void {
    const abort = this.#abort;
    // Ended first: undici may report the abort synchronously, and it is no failure of the upstream.
    this.#endAttempt('cancelled');
    abort?.(new Error('downstream closed before the response ended'));
  }

  // --- undici dispatch handler (legacy callback API) ---

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#relay.finished) abort(new Error('downstream closed'));
  }

  onHeaders(status: number, raw: (Buffer | string)[], resume: () => void, _statusText: string): boolean {
    if (this.#relay.finished) return false;
    if (status < 200) {
      if (status === 103 && !this.#session.h2) relayEarlyHints(this.#session.h1Response, raw);
      return true;
    }
    const http1 = this.#peer?.options.alpn === 'h1';
    const problem = upstreamFramingProblem(status, raw, this.#session.method, http1);
    if (problem !== undefined) {
      // Aborting mid-response makes undici destroy the connection: it is never reused.
      logRefusedResponse(this.#state.logger, this.#peer?.id, problem);
      this.abortUpstream(new LbError('LB_ERR_UPSTREAM_ERROR', `upstream response refused: ${problem}`));
      return false;
    }
    if (this.#attemptOpen) attemptAnswered(this.#state, this.#peer as HttpPeer, status, this.#attemptStart);
    return this.#relay.head(status, raw, resume);
  }

  onData(chunk: Buffer): boolean {
    return this.#relay.chunk(chunk);
  }

  onComplete(trailers: string[] | Record<string, string | string[]> | null): void {
    const relay = this.#relay;
    if (relay.finished) return;
    this.#endAttempt(relay.status >= 500 ? 'http-5xx' : 'success');
    relay.complete(trailers === null ? undefined : trailerPairs(trailers));
  }

  onUpgrade(status: number, raw: Buffer[] | string[] | null, upstream: Duplex): void {
    if (this.#relay.finished || !this.#isUpgrade) {
      upstream.destroy();
      return;
    }
    attemptAnswered(this.#state, this.#peer as HttpPeer, status, this.#attemptStart);
    this.#endAttempt('success');
    this.#relay.upgrade(status, raw, upstream);
  }

  onError(err: Error): void {
    const relay = this.#relay;
    if (relay.finished) {
      this.#endAttempt('error');
      return;
    }
    const kind = failureKind(err);
    if (relay.clientGone) {
      // The client went away (its upload broke off, or its connection closed): a 499, and not the
      // upstream's fault unless connecting to it had failed on its own.
      if (kind === 'connect') this.#endAttempt('connect-error', (err as LbError).code);
      else this.#endAttempt('cancelled');
      relay.downstreamClosed();
      return;
    }
    let decided: unknown = err;
    if (kind === 'connect') {
      this.#endAttempt('connect-error', (err as LbError).code);
      const failToConnect = this.#state.app.failToConnect;
      try {
        if (failToConnect !== undefined) {
          decided = failToConnect(this.#session, this.#peer as HttpPeer, err as LbError, relay.ctx);
        }
      } catch (thrown) {
        relay.fail(thrown);
        return;
      }
    }
    let decision = decideRetry(kind, (decided as { retryable?: unknown } | undefined)?.retryable === true, {
      attempt: this.#attempts,
      maxAttempts: this.#state.maxAttempts,
      method: this.#session.method,
      sent: this.#session.requestStarted,
      answered: relay.status !== 0,
      resent: this.#resent,
    });
    // The error the attempt failed with (and the request, if no retry follows).
    const error = attemptError(kind, decision, decided, this.#peer?.id);
    this.#endAttempt(attemptOutcome(kind, decision), relay.status === 0 ? errorCode(error) : undefined);
    if (decision !== 'fail' && this.#state.retryBudget?.tryRetry() === false) {
      // Over the retry budget: the request ends with the failure it would have retried.
      decision = 'fail';
      this.#retryRefused = true;
    }
    // A resend is routine (a pooled connection the upstream had closed); anything else is worth a reason.
    if (decision !== 'resend') this.#state.warnings.failed((this.#peer as HttpPeer).id, kind, err);
    if (decision === 'resend') {
      // Most likely a pooled keep-alive connection the upstream had closed: nothing reached it.
      // Send again to the same peer on a brand-new connection (the pool's other idle sockets may
      // be just as dead), without counting an attempt.
      this.#resent = true;
      const u = this.#upstream;
      if (u !== undefined) this.#dispatch(u.method, u.path, u.headers, true);
      else this.#dispatch(this.#session.method, this.#session.uri, this.#headers as string[], true);
      return;
    }
    if (decision === 'fail') {
      relay.fail(error);
      return;
    }
    this.#retryCause = error;
    this.#nextAttempt();
  }
}

/** The `LB_ERR_*` code an unanswered attempt is reported with. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('LB_ERR_') ? code : 'LB_ERR_UPSTREAM_ERROR';
}
