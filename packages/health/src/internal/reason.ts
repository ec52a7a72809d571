// Maps the errors Node and undici raise to the short reasons a check result carries.
// TLS verification codes come from OpenSSL via node:tls (X509_V_ERR_* names without the prefix).
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
}

/** Whether `error` (or its cause) is a failed TLS certificate verification. */
export function isTlsVerifyError(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const code = codeOf(e);
    if (code !== undefined && TLS_VERIFY_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

// The connector wraps what Node raised in an LbError with these codes; the reason names the cause.
const WRAPPING_CODES = new Set(['LB_ERR_CONNECT_FAILED', 'LB_ERR_TLS_HANDSHAKE']);

/** A one-line reason for a failed connection, request or handshake. */
export function reasonFor(error: unknown, timeoutMs: number): string {
  const code = codeOf(error);
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (code !== undefined && WRAPPING_CODES.has(code) && cause !== undefined && cause !== null) {
    // One level only: the connector wraps once, and a cyclic cause chain must not recurse forever.
    return codeOf(cause) !== undefined && WRAPPING_CODES.has(codeOf(cause) ?? '')
      ? messageOf(error)
      : reasonFor(cause, timeoutMs);
  }
  // A peer's own connect timeout: its message names the limit (connectionTimeout, …) that fired.
  if (code === 'LB_ERR_CONNECT_TIMEOUT') return `timeout: ${messageOf(error)}`;
  if (isTlsVerifyError(error)) return `TLS certificate verification failed: ${messageOf(error)}`;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `connection reset: ${messageOf(error)}`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `timeout after ${timeoutMs} ms`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `unreachable: ${messageOf(error)}`;
    default:
      break;
  }
  if (code?.startsWith('ERR_SSL') || code?.startsWith('ERR_TLS') || /SSL|TLS/.test(messageOf(error))) {
    return `TLS error: ${messageOf(error)}`;
  }
  return code === undefined ? messageOf(error) : `${code}: ${messageOf(error)}`;
}
