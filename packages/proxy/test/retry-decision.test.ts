import { LbError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import {
  type AttemptProgress,
  attemptError,
  attemptOutcome,
  decideRetry,
  failureKind,
  noPeerError,
} from '../src/internal/server/retry-decision.js';

/** An error as undici or Node report it: a plain Error with a `code`. */
function coded(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** A first attempt of a GET with nothing sent, nothing answered; `over` changes fields. */
function progress(over: Partial<AttemptProgress> = {}): AttemptProgress {
  return { attempt: 1, maxAttempts: 3, method: 'GET', sent: false, answered: false, resent: false, ...over };
}

describe('failureKind', () => {
  it('classifies the connector errors as connect failures only when they are LbErrors', () => {
    expect(failureKind(new LbError('LB_ERR_CONNECT_FAILED', 'x'))).toBe('connect');
    expect(failureKind(new LbError('LB_ERR_CONNECT_TIMEOUT', 'x'))).toBe('connect');
    expect(failureKind(new LbError('LB_ERR_TLS_HANDSHAKE', 'x'))).toBe('connect');
    expect(failureKind(coded('LB_ERR_CONNECT_FAILED'))).toBe('other');
  });

  it('classifies read timeouts, dropped connections and the rest', () => {
    expect(failureKind(coded('UND_ERR_HEADERS_TIMEOUT'))).toBe('timeout');
    expect(failureKind(coded('UND_ERR_BODY_TIMEOUT'))).toBe('timeout');
    expect(failureKind(new LbError('LB_ERR_UPSTREAM_TIMEOUT', 'x'))).toBe('timeout');
    for (const code of ['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']) {
      expect(failureKind(coded(code))).toBe('dropped');
    }
    expect(failureKind(coded('UND_ERR_ABORTED'))).toBe('other');
    expect(failureKind(new Error('no code'))).toBe('other');
    expect(failureKind(Object.assign(new Error('numeric'), { code: 5 }))).toBe('other');
    expect(failureKind(undefined)).toBe('other');
  });
});

describe('decideRetry', () => {
  it('sends a retryable connect failure to the next peer while attempts remain', () => {
    expect(decideRetry('connect', true, progress())).toBe('next-peer');
    expect(decideRetry('connect', true, progress({ attempt: 2 }))).toBe('next-peer');
    expect(decideRetry('connect', true, progress({ attempt: 3 }))).toBe('fail');
    expect(decideRetry('connect', false, progress())).toBe('fail');
  });

  it('retries a connect failure whatever the method: nothing reached the upstream', () => {
    expect(decideRetry('connect', true, progress({ method: 'POST' }))).toBe('next-peer');
  });

  it('never tries again once bytes were sent', () => {
    for (const kind of ['connect', 'timeout', 'dropped', 'other'] as const) {
      expect(decideRetry(kind, true, progress({ sent: true }))).toBe('fail');
    }
  });

  it('resends a dropped idempotent request once on a new connection, then moves to the next peer', () => {
    expect(decideRetry('dropped', false, progress())).toBe('resend');
    // The resend does not count as an attempt, even on the last one.
    expect(decideRetry('dropped', false, progress({ attempt: 3 }))).toBe('resend');
    expect(decideRetry('dropped', false, progress({ resent: true }))).toBe('next-peer');
    expect(decideRetry('dropped', false, progress({ resent: true, attempt: 3 }))).toBe('fail');
  });

  it('does not resend a dropped request that is not idempotent or was already answered', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) {
      expect(decideRetry('dropped', false, progress({ method }))).toBe('resend');
    }
    for (const method of ['POST', 'PATCH', 'CONNECT', 'get']) {
      expect(decideRetry('dropped', false, progress({ method }))).toBe('fail');
    }
    expect(decideRetry('dropped', false, progress({ answered: true }))).toBe('fail');
  });

  it('ends the request on a timeout or any other failure', () => {
    expect(decideRetry('timeout', true, progress())).toBe('fail');
    expect(decideRetry('other', true, progress())).toBe('fail');
  });
});

describe('attemptOutcome', () => {
  it('reports what observers (outlier detection) count against the peer', () => {
    expect(attemptOutcome('connect', 'next-peer')).toBe('connect-error');
    expect(attemptOutcome('connect', 'fail')).toBe('connect-error');
    expect(attemptOutcome('timeout', 'fail')).toBe('timeout');
    expect(attemptOutcome('dropped', 'resend')).toBe('error');
    expect(attemptOutcome('dropped', 'next-peer')).toBe('connect-error');
    expect(attemptOutcome('dropped', 'fail')).toBe('error');
    expect(attemptOutcome('other', 'fail')).toBe('error');
  });
});

describe('attemptError', () => {
  it('keeps the error failToConnect decided on for a connect failure', () => {
    const decided = new LbError('LB_ERR_CONNECT_FAILED', 'nope', { retryable: false });
    expect(attemptError('connect', 'fail', decided, 'a:1')).toBe(decided);
  });

  it('turns a read timeout into LB_ERR_UPSTREAM_TIMEOUT (504) with the cause', () => {
    const cause = coded('UND_ERR_HEADERS_TIMEOUT');
    const err = attemptError('timeout', 'fail', cause, '10.0.0.1:80') as LbError;
    expect(err.code).toBe('LB_ERR_UPSTREAM_TIMEOUT');
    expect(err.status).toBe(504);
    expect(err.message).toContain('10.0.0.1:80');
    expect(err.cause).toBe(cause);
  });

  it('names a connection dropped twice as the reason to move on, else a plain upstream error', () => {
    const cause = coded('ECONNRESET');
    const moved = attemptError('dropped', 'next-peer', cause, 'a:1') as LbError;
    expect(moved.code).toBe('LB_ERR_UPSTREAM_ERROR');
    expect(moved.message).toBe('upstream a:1 dropped the connection');
    const failed = attemptError('dropped', 'fail', cause, 'a:1') as LbError;
    expect(failed.code).toBe('LB_ERR_UPSTREAM_ERROR');
    expect(failed.message).toBe('upstream request failed');
    expect(failed.cause).toBe(cause);
  });

  it('passes an LbError through and wraps anything else', () => {
    const own = new LbError('LB_ERR_BAD_REQUEST', 'bad');
    expect(attemptError('other', 'fail', own, 'a:1')).toBe(own);
    const wrapped = attemptError('other', 'fail', new Error('boom'), 'a:1') as LbError;
    expect(wrapped.code).toBe('LB_ERR_UPSTREAM_ERROR');
    expect(wrapped.status).toBe(502);
  });
});

describe('noPeerError', () => {
  const noBackend = new LbError('LB_ERR_NO_HEALTHY_BACKEND', 'none left');
  const cause = new LbError('LB_ERR_CONNECT_FAILED', 'refused');

  it('reports the failure that caused the retry when no backend is left', () => {
    expect(noPeerError(noBackend, cause)).toBe(cause);
  });

  it('keeps the error on a first attempt or for any other error', () => {
    expect(noPeerError(noBackend, undefined)).toBe(noBackend);
    const other = new Error('app bug');
    expect(noPeerError(other, cause)).toBe(other);
  });
});

describe('refused HTTP/2 streams', () => {
  it('classifies the HTTP/2 client’s refused-stream code as refused', () => {
    expect(failureKind(coded('H2_REFUSED_STREAM'))).toBe('refused');
  });

  it('resends a refused stream whatever the method, then moves to the next peer, never once bytes were sent', () => {
    for (const method of ['GET', 'POST', 'PATCH']) {
      expect(decideRetry('refused', false, progress({ method }))).toBe('resend');
      expect(decideRetry('refused', false, progress({ method, resent: true }))).toBe('next-peer');
    }
    expect(decideRetry('refused', false, progress({ resent: true, attempt: 3 }))).toBe('fail');
    expect(decideRetry('refused', false, progress({ method: 'POST', sent: true }))).toBe('fail');
    expect(decideRetry('refused', false, progress({ answered: true }))).toBe('fail');
  });

  it('counts a refused stream sent elsewhere like a dropped connection, and says it was refused', () => {
    expect(attemptOutcome('refused', 'next-peer')).toBe('connect-error');
    expect(attemptOutcome('refused', 'resend')).toBe('error');
    const cause = coded('H2_REFUSED_STREAM');
    const err = attemptError('refused', 'next-peer', cause, 'a:1') as LbError;
    expect(err.code).toBe('LB_ERR_UPSTREAM_ERROR');
    expect(err.message).toBe('upstream a:1 refused the stream');
    expect(err.cause).toBe(cause);
  });
});
