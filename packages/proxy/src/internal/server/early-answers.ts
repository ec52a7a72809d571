import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { LbError } from '@switchyard/core';
import { logAccess } from './access-log.js';
import { errorBody } from './error-response.js';
import { ALLOWED_METHODS } from './request-target.js';
import type { ServerState } from './server-state.js';

/**
 * Answers the server gives before a request reaches any phase, each with an access-log line:
 * `CONNECT` (405, never a tunnel), and what Node's parser or its head/request timers refuse
 * (400, 408, 413, 431), the answer Node itself would give.
 */

const REASONS: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
});

/** Codes of a client that went away before a request: nothing to answer, nothing to log. */
const GONE: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function noop(): void {}

/** A complete `Connection: close` response with a plain-text body; `extra` is more header lines. */
function closingResponse(status: number, body: string, extra: string): string {
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`
  );
}

/** The status Node answers a client error with (its `socketOnError`). */
export function clientErrorStatus(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

/** `CONNECT` is not forwarded: 405 with `Allow`, then the connection closes. */
export function refuseConnect(state: ServerState<unknown>, req: IncomingMessage, socket: Socket): void {
  socket.on('error', noop);
  const err = new LbError('LB_ERR_METHOD_NOT_ALLOWED', 'CONNECT is not forwarded');
  socket.end(closingResponse(405, errorBody(405, err), `Allow: ${ALLOWED_METHODS}\r\n`));
  const access = state.accessLog;
  if (access === undefined) return;
  const facts = { method: 'CONNECT', path: req.url ?? '', status: 405, backend: undefined, attempts: 0, elapsedMs: 0 };
  logAccess(access, facts, socket, err);
}

/**
 * Node's parser refused what arrived on `socket`, or its head/request timer expired: the answer
 * Node would give (written only when no response of this connection has started, as Node does),
 * the connection destroyed, and an access line whose `cause` is the parser's reason.
 */
export function answerClientError(state: ServerState<unknown>, err: Error & { code?: string }, socket: Socket): void {
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (!socket.writable || (code !== undefined && GONE.has(code))) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(code);
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
  // Node's own answer, byte for byte (no body: it may answer a HEAD).
  if (inFlight === undefined || !inFlight.headersSent) {
    socket.write(`HTTP/1.1 ${status} ${REASONS[status]}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy();
  const access = state.accessLog;
  // A request already under way (its body broke off or was malformed) gets its own line when it ends.
  if (access === undefined || inFlight !== undefined) return;
  const cause = code === undefined ? err.message : `${err.message} (${code})`;
  const facts = { method: '-', path: '-', status, backend: undefined, attempts: 0, elapsedMs: 0, cause };
  logAccess(access, facts, socket, new LbError('LB_ERR_BAD_REQUEST', err.message));
}
