import { isLbError, LbError } from '@switchyard/core';
import type { UpstreamOutcome } from '../../proxy-app.js';
import { H2_REFUSED_CODE } from './h2-upstream-errors.js';

/** Methods safe to send again after a connection failed before any response byte (RFC 9110 §9.2.2). */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Errors of a connection the upstream closed under us (RST, EOF, EPIPE), most often an idle pooled one. */
const DROPPED_CODES: ReadonlySet<string> = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);
const CONNECT_CODES: ReadonlySet<string> = new Set([
  'LB_ERR_CONNECT_FAILED',
  'LB_ERR_CONNECT_TIMEOUT',
  'LB_ERR_TLS_HANDSHAKE',
]);
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'LB_ERR_UPSTREAM_TIMEOUT',
]);

/**
 * What failed an upstream attempt:
 * - `'connect'`: the connector's `LbError` (connect, connect timeout, TLS handshake): nothing was sent;
 * - `'timeout'`: the upstream did not answer (or finish its body) within `readTimeout`;
 * - `'dropped'`: the connection was reset or closed under the request;
 * - `'refused'`: an HTTP/2 upstream refused the stream unprocessed (REFUSED_STREAM, or above a GOAWAY's last stream);
 * - `'other'`: anything else (a refused header, an app hook's error, a protocol error).
 */
export type FailureKind = 'connect' | 'timeout' | 'dropped' | 'refused' | 'other';

/** Classifies an error undici reported for an attempt, by its `code`. */
export function failureKind(err: unknown): FailureKind {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'other';
  if (CONNECT_CODES.has(code) && isLbError(err)) return 'connect';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (code === H2_REFUSED_CODE) return 'refused';
  return DROPPED_CODES.has(code) ? 'dropped' : 'other';
}

/** Where the failed attempt stood: everything the retry decision looks at besides the error. */
export interface AttemptProgress {
  /** The 1-based number of the attempt that failed. */
  readonly attempt: number;
  /** The server's `maxAttempts`. */
  readonly maxAttempts: number;
  /** The downstream request method. */
  readonly method: string;
  /**
   * Bytes already sent: some of the request body went upstream, or some of the response went
   * downstream (or the downstream request is gone). Such a request is never sent again.
   */
  readonly sent: boolean;
  /** The upstream answered with a final status before the failure. */
  readonly answered: boolean;
  /** This attempt was already sent again once on a brand-new connection. */
  readonly resent: boolean;
}

/**
 * - `'next-peer'`: a new attempt (`upstreamPeer` is called again);
 * - `'resend'`: the same request to the same peer on a brand-new connection, not counted as an attempt;
 * - `'fail'`: the request ends with the error.
 */
export type RetryDecision = 'next-peer' | 'resend' | 'fail';

/**
 * Whether and how a failed attempt is tried again. A pure function of the failure, whether its
 * error is `retryable` (for `'connect'`, the error `failToConnect` returned) and the progress:
 *
 * - nothing is ever tried again once bytes were sent;
 * - a connect failure goes to the next peer while attempts remain and the error is retryable;
 * - a dropped connection of an idempotent request with no response yet was most likely an idle
 *   pooled connection the upstream had closed: it is sent again once on a new connection, and if
 *   that one is dropped too, the peer is not serving and the next peer is tried while attempts remain;
 * - a refused HTTP/2 stream was not processed at all (RFC 9113 §8.7), so it is treated like a
 *   dropped connection whatever the method;
 * - timeouts and other failures end the request.
 */
export function decideRetry(kind: FailureKind, retryable: boolean, p: AttemptProgress): RetryDecision {
  if (p.sent) return 'fail';
  const attemptsLeft = p.attempt < p.maxAttempts;
  if (kind === 'connect') return retryable && attemptsLeft ? 'next-peer' : 'fail';
  if (p.answered) return 'fail';
  if (kind !== 'refused' && (kind !== 'dropped' || !IDEMPOTENT.has(p.method))) return 'fail';
  if (!p.resent) return 'resend';
  return attemptsLeft ? 'next-peer' : 'fail';
}

/** How the failed attempt is reported to upstream observers. */
export function attemptOutcome(kind: FailureKind, decision: RetryDecision): UpstreamOutcome {
  if (kind === 'connect') return 'connect-error';
  if (kind === 'timeout') return 'timeout';
  // A dropped connection that sends the request elsewhere counts against the peer like a refused one.
  return (kind === 'dropped' || kind === 'refused') && decision === 'next-peer' ? 'connect-error' : 'error';
}

/**
 * The error a failed attempt ends the request with or, for `'next-peer'`, the cause kept in case
 * no peer is left. `decided` is what `failToConnect` returned for a connect failure, else the
 * attempt's own error; an upstream's internal address appears only in the message, never in
 * what the client sees.
 */
export function attemptError(
  kind: FailureKind,
  decision: RetryDecision,
  decided: unknown,
  peerId: string | undefined,
): unknown {
  if (kind === 'connect') return decided;
  if (kind === 'timeout')
    return new LbError('LB_ERR_UPSTREAM_TIMEOUT', `upstream ${peerId} timed out`, { cause: decided });
  if (kind === 'dropped' && decision === 'next-peer') {
    return new LbError('LB_ERR_UPSTREAM_ERROR', `upstream ${peerId} dropped the connection`, { cause: decided });
  }
  if (kind === 'refused') {
    return new LbError('LB_ERR_UPSTREAM_ERROR', `upstream ${peerId} refused the stream`, { cause: decided });
  }
  return isLbError(decided)
    ? decided
    : new LbError('LB_ERR_UPSTREAM_ERROR', 'upstream request failed', { cause: decided });
}

/**
 * The error a request ends with when `upstreamPeer` threw `err`. On a retry, "no backend left"
 * (`LB_ERR_NO_HEALTHY_BACKEND`) means every candidate failed: the client learns the failure that
 * caused the retry (502) rather than a 503 that hides it.
 */
export function noPeerError(err: unknown, retryCause: unknown): unknown {
  if (retryCause !== undefined && isLbError(err) && err.code === 'LB_ERR_NO_HEALTHY_BACKEND') return retryCause;
  return err;
}
