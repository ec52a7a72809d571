import type { LbError } from '@switchyard/core';
import { ALLOWED_METHODS } from './request-target.js';

const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad Request',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
});

/** Fixed reasons shown to clients: they say what went wrong without naming internal addresses. */
const CLIENT_REASON: Readonly<Partial<Record<string, string>>> = Object.freeze({
  LB_ERR_NO_HEALTHY_BACKEND: 'no healthy backend',
  LB_ERR_CONNECT_FAILED: 'could not connect to an upstream',
  LB_ERR_CONNECT_TIMEOUT: 'upstream connect timed out',
  LB_ERR_TLS_HANDSHAKE: 'upstream TLS handshake failed',
  LB_ERR_UPSTREAM_TIMEOUT: 'upstream timed out',
  LB_ERR_UPSTREAM_ERROR: 'upstream error',
});

/** Codes whose message says what in the downstream request was wrong (and names nothing internal). */
const ABOUT_THE_REQUEST: ReadonlySet<string> = new Set([
  'LB_ERR_BAD_REQUEST',
  'LB_ERR_METHOD_NOT_ALLOWED',
  'LB_ERR_NOT_IMPLEMENTED',
]);

/** The status of the response the proxy sends for `err`: its own status, 500 for anything not an `LbError`. */
export function errorStatus(err: LbError | undefined): number {
  return err === undefined ? 500 : err.status;
}

/**
 * The plain-text body of the error response for `err` with `status`: `"502 Bad Gateway: upstream
 * error\n"`. A refused request (400, 405, 501) shows its own message, which says what in the request was wrong;
 * upstream failures show a fixed reason per code, since their messages may name internal
 * addresses; anything else (a phase that threw) shows the status line only.
 */
export function errorBody(status: number, err: LbError | undefined): string {
  const text = STATUS_TEXT[status] ?? 'Error';
  const reason =
    err === undefined
      ? undefined
      : status === 400 || ABOUT_THE_REQUEST.has(err.code)
        ? err.message
        : CLIENT_REASON[err.code];
  return reason === undefined ? `${status} ${text}\n` : `${status} ${text}: ${reason}\n`;
}

/** The header pairs of an error response with `status` carrying `body`; a 405 lists the methods the proxy forwards in `Allow`. */
export function errorHeaders(body: string, status = 0): string[] {
  const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body))];
  if (status === 405) headers.push('allow', ALLOWED_METHODS);
  return headers;
}
