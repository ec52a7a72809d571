import type { IncomingHttpHeaders } from 'node:http2';
import { LbError } from '@switchyard/core';
import { errorReason, errorStatus } from './error-response.js';
import type { H2Downstream } from './h2-downstream.js';
import { endWithTrailers, responseEnded } from './h2-writer.js';

// gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md): a call is an HTTP/2 request whose content-type is
// `application/grpc` or `application/grpc+<format>`; its outcome travels in the `grpc-status` and
// `grpc-message` trailers (or, for a call that fails before any message, in the one HEADERS frame of
// a "trailers-only" response with HTTP status 200). gRPC-Web (`application/grpc-web…`) is another
// protocol, carried over HTTP/1.1 too, and is treated as plain HTTP.

const GRPC_CONTENT_TYPE = /^application\/grpc(?:[+;]|$)/i;

/** The gRPC status codes this proxy answers with (grpc/doc/statuscodes.md). */
export const GRPC_CODES = Object.freeze({
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  INTERNAL: 13,
  UNAVAILABLE: 14,
});

/** Whether the HTTP/2 request with the head `headers` is a gRPC call. */
export function isGrpcCall(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && GRPC_CONTENT_TYPE.test(type);
}

/**
 * The gRPC status for a failure of the proxy itself: no backend, a connect or upstream failure →
 * 14 UNAVAILABLE (the client may try again); an upstream timeout, `grpc-timeout` included → 4
 * DEADLINE_EXCEEDED; a request the proxy refused (400) or a phase that threw → 13 INTERNAL, as
 * gRPC maps those HTTP statuses.
 */
export function grpcStatusFor(err: LbError | undefined): number {
  const status = errorStatus(err);
  if (status === 504) return GRPC_CODES.DEADLINE_EXCEEDED;
  if (status === 502 || status === 503) return GRPC_CODES.UNAVAILABLE;
  if (status === 400 || status === 500) return GRPC_CODES.INTERNAL;
  return GRPC_CODES.UNKNOWN;
}

/**
 * `grpc-message` is percent-encoded: every byte outside printable ASCII, and `%` itself, as `%XX`
 * of its UTF-8 bytes.
 */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The `grpc-status` and `grpc-message` fields for a failure of the proxy itself. */
export function grpcFailureFields(err: LbError | undefined): Record<string, string> {
  const status = errorStatus(err);
  return {
    'grpc-status': String(grpcStatusFor(err)),
    'grpc-message': encodeGrpcMessage(`switchyard: ${errorReason(status, err)}`),
  };
}

/**
 * Ends a gRPC call the proxy failed, in gRPC's terms: before the response head, a trailers-only
 * response (HTTP 200, `content-type: application/grpc`, `grpc-status`, `grpc-message`); after it,
 * trailers with the same fields, so the client reads a status instead of a reset stream. Returns
 * the HTTP status sent (200), or 0 when the stream was already gone.
 */
export function answerGrpcFailure(downstream: H2Downstream, err: LbError | undefined): number {
  const stream = downstream.stream;
  if (stream.destroyed || responseEnded(downstream)) return 0;
  const fields = grpcFailureFields(err);
  if (stream.headersSent) {
    endWithTrailers(downstream, fieldPairs(fields));
    return downstream.status;
  }
  // Trailers-only: one HEADERS frame that ends the stream (gRPC clients read the status only from
  // a HEADERS frame carrying END_STREAM; headers followed by an empty DATA frame would not do).
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...fields }, { endStream: true });
  // Whatever the client still sends is read and dropped, so its flow-control window never stalls.
  downstream.body.resume();
  return 200;
}

/** A fields object as flat pairs. */
export function fieldPairs(fields: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(fields)) out.push(name, fields[name] as string);
  return out;
}

/** `grpc-timeout` units in milliseconds. */
const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
});

/** The longest delay a timer takes (setTimeout fires at once beyond it). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The `grpc-timeout` value in milliseconds (at least 1), or `undefined` when the field is absent,
 * malformed (the protocol's grammar: 1 to 8 digits and one of `H M S m u n`) or beyond what a timer
 * can wait (about 24.8 days).
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return undefined;
  const ms = Math.ceil(Number(match[1]) * (UNIT_MS[match[2] as string] as number));
  if (ms > MAX_TIMER_MS) return undefined;
  return Math.max(ms, 1);
}

/**
 * Bounds a gRPC call by its `grpc-timeout`: when it elapses before the response ended, `abort` is
 * called with `LB_ERR_UPSTREAM_TIMEOUT` (the attempt is cut, its upstream stream reset, and the
 * client answered DEADLINE_EXCEEDED). The timer goes when the downstream stream closes.
 */
export function armGrpcTimeout(downstream: H2Downstream, abort: (err: LbError) => void): void {
  const raw = downstream.headers['grpc-timeout'];
  const ms = parseGrpcTimeout(raw);
  if (ms === undefined) return;
  const timer = setTimeout(() => {
    abort(new LbError('LB_ERR_UPSTREAM_TIMEOUT', `grpc-timeout ${String(raw)} elapsed`));
  }, ms);
  downstream.stream.once('close', () => clearTimeout(timer));
}
