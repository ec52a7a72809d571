/**
 * Every error code Switchyard raises, with the HTTP status the proxy answers
 * with when the error ends a request. `docs/errors.md` lists the same codes; a
 * test keeps the two in step.
 */
export const ERROR_CODES = {
  /** An option or argument is invalid: wrong type, out of range, malformed. */
  LB_ERR_INVALID_OPTION: { status: 500, retryable: false },
  /** The downstream request is malformed or forbidden by the upstream request policy. */
  LB_ERR_BAD_REQUEST: { status: 400, retryable: false },
  /** No backend was accepted by the selector walk (all unhealthy, drained or already tried). */
  LB_ERR_NO_HEALTHY_BACKEND: { status: 503, retryable: false },
  /** Connecting to the upstream failed: refused, reset before the request was sent, unreachable. */
  LB_ERR_CONNECT_FAILED: { status: 502, retryable: true },
  /** Connecting (TCP, or TCP plus TLS) took longer than `connectionTimeout` / `totalConnectionTimeout`. */
  LB_ERR_CONNECT_TIMEOUT: { status: 502, retryable: true },
  /** The TLS handshake with the upstream failed (certificate, hostname, protocol). */
  LB_ERR_TLS_HANDSHAKE: { status: 502, retryable: true },
  /** The upstream did not send data within `readTimeout`. */
  LB_ERR_UPSTREAM_TIMEOUT: { status: 504, retryable: false },
  /** The upstream failed after the request was sent: reset, malformed response, closed early. */
  LB_ERR_UPSTREAM_ERROR: { status: 502, retryable: false },
  /** A health check failed (refused, timeout, TLS error, unexpected status, validator said no). */
  LB_ERR_HEALTH_CHECK_FAILED: { status: 502, retryable: false },
  /** Discovery could not produce a backend list (file unreadable, DNS failure, bad records). */
  LB_ERR_DISCOVERY_FAILED: { status: 503, retryable: false },
  /** A configuration file failed validation. */
  LB_ERR_INVALID_CONFIG: { status: 500, retryable: false },
  /** The component was closed and can no longer be used. */
  LB_ERR_CLOSED: { status: 503, retryable: false },
  /** The downstream request uses a method the proxy does not forward (`CONNECT`). */
  LB_ERR_METHOD_NOT_ALLOWED: { status: 405, retryable: false },
  /** The downstream request needs something the proxy does not implement (a transfer coding other than `chunked`). */
  LB_ERR_NOT_IMPLEMENTED: { status: 501, retryable: false },
} as const satisfies Record<string, { readonly status: number; readonly retryable: boolean }>;

/** One of the codes in {@link ERROR_CODES}. */
export type LbErrorCode = keyof typeof ERROR_CODES;

/** Options for {@link LbError}. */
export interface LbErrorOptions {
  /** The underlying error, kept for logs and debugging. */
  readonly cause?: unknown;
  /**
   * Whether the operation may be retried on another backend.
   * @defaultValue the code's default in {@link ERROR_CODES}
   */
  readonly retryable?: boolean;
}

/**
 * The one error class of Switchyard. Match on `code` (never `instanceof` across
 * packages); `retryable` drives failover; `status` is what the proxy answers.
 */
export class LbError extends Error {
  override readonly name = 'LbError';
  readonly code: LbErrorCode;
  readonly retryable: boolean;

  constructor(code: LbErrorCode, message: string, options: LbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
  }

  /** The HTTP status the proxy answers with when this error ends a request. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** True when `value` is an {@link LbError}, also across duplicate installs (matches on `name` and `code`). */
export function isLbError(value: unknown): value is LbError {
  if (value instanceof LbError) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { name?: unknown; code?: unknown };
  return candidate.name === 'LbError' && typeof candidate.code === 'string' && candidate.code in ERROR_CODES;
}

/** Throws `LB_ERR_INVALID_OPTION` naming `what` and what was expected. */
export function invalidOption(what: string, expected: string, got: unknown): never {
  throw new LbError('LB_ERR_INVALID_OPTION', `${what}: expected ${expected}, got ${describe(got)}`);
}

/** A short, safe rendering of a bad value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}
