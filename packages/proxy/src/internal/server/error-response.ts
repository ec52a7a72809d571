import type { LbError } from '@switchyard/core';

const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad Request',
  500: 'Internal Server Error',
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

/** The status of the response the proxy sends for `err`: its own status, 500 for anything not an `LbError`. */
export function errorStatus(err: LbError | undefined): number {
  return err === undefined ? 500 : err.status;
}

/**
 * The plain-text body of the error response for `err` with `status`: `"502 Bad Gateway: upstream
 * error\n"`. A bad request (400) shows its own message, which says what in the request was wrong;
 * upstream failures show a fixed reason per code, since their messages may name internal
 * addresses; anything else (a phase that threw) shows the status line only.
 */
export function errorBody(status: number, err: LbError | undefined): string {
  const text = STATUS_TEXT[status] ?? 'Error';
  const reason = clientReason(status, err);
  return reason === undefined ? `${status} ${text}\n` : `${status} ${text}: ${reason}\n`;
}

function clientReason(status: number, err: LbError | undefined): string | undefined {
  return err === undefined ? undefined : status === 400 ? err.message : CLIENT_REASON[err.code];
}

/** What {@link errorBody} says after the status line (`no healthy backend`), or the status text alone. */
export function errorReason(status: number, err: LbError | undefined): string {
  return clientReason(status, err) ?? STATUS_TEXT[status] ?? 'Error';
}

/** The header pairs of an error response carrying `body`. */
export function errorHeaders(body: string): string[] {
  return ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body))];
}
