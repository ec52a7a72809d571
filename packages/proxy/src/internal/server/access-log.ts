import type { Socket } from 'node:net';
import type { LbError } from '@switchyard/core';
import type { Logger } from 'pino';

const kBytesRead = Symbol('switchyard.bytesRead');
const kBytesWritten = Symbol('switchyard.bytesWritten');

/** A downstream socket with the byte counts at the end of its previous logged request. */
type Counted = Socket & { [kBytesRead]?: number; [kBytesWritten]?: number };

/** One access-log line's fields, logged at info with the message `request`. */
export interface AccessRecord {
  readonly method: string;
  /** The path only: query strings often carry tokens. */
  readonly path: string;
  /** The status sent; 499 when the client went away before a response. */
  readonly status: number;
  /** The id of the last peer tried, if any. */
  readonly backend: string | undefined;
  readonly attempts: number;
  /** From the request's arrival to its end, ms, one decimal. */
  readonly durationMs: number;
  /** Bytes read from and written to the downstream connection for this request. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** The code of the error that ended the request, if one did. */
  readonly error?: string;
  /**
   * Why the request failed, when it did: the error's message and causes (certificate error text,
   * connect errno, which timeout), `client closed the connection` for a 499, the parser's reason
   * for a malformed request. Logs only: it may name internal addresses.
   */
  readonly cause?: string;
  /** Present (true) when the retry budget refused a retry of this request. */
  readonly retryRefused?: true;
}

/** What a request reports for its access-log line, besides the byte counts. */
export interface AccessFacts {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly backend: string | undefined;
  readonly attempts: number;
  /** The retry budget refused a retry. @defaultValue false */
  readonly retryRefused?: boolean;
  readonly elapsedMs: number;
  /** See {@link AccessRecord.cause}. */
  readonly cause?: string | undefined;
}

/** The access-log record of one request; a pure function. */
export function accessRecord(
  facts: AccessFacts,
  bytesIn: number,
  bytesOut: number,
  error: LbError | undefined,
): AccessRecord {
  const record = {
    method: facts.method,
    path: facts.path,
    status: facts.status,
    backend: facts.backend,
    attempts: facts.attempts,
    durationMs: Math.round(facts.elapsedMs * 10) / 10,
    bytesIn,
    bytesOut,
  };
  const withError = error === undefined ? record : { ...record, error: error.code };
  const withCause = facts.cause === undefined ? withError : { ...withError, cause: facts.cause };
  return facts.retryRefused === true ? { ...withCause, retryRefused: true } : withCause;
}

/**
 * Bytes read from `socket` since the previous call for it (the counters are per connection and
 * a keep-alive connection carries many requests), and marks the current count.
 */
export function takeBytesRead(socket: Socket): number {
  const s = socket as Counted;
  const now = s.bytesRead;
  const since = now - (s[kBytesRead] ?? 0);
  s[kBytesRead] = now;
  return since;
}

/** Bytes written to `socket` since the previous call for it, as {@link takeBytesRead}. */
export function takeBytesWritten(socket: Socket): number {
  const s = socket as Counted;
  const now = s.bytesWritten;
  const since = now - (s[kBytesWritten] ?? 0);
  s[kBytesWritten] = now;
  return since;
}

/** Writes the access-log line of a request that just ended on `socket`. */
export function logAccess(log: Logger, facts: AccessFacts, socket: Socket, error: LbError | undefined): void {
  log.info(accessRecord(facts, takeBytesRead(socket), takeBytesWritten(socket), error), 'request');
}
