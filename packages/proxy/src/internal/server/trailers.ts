/**
 * Upstream response trailers on their way downstream. undici reports them as raw pairs
 * (Buffers, from HTTP/1.1 chunked bodies) or as a headers object (from HTTP/2); both become flat
 * string pairs without the fields a trailer section must not carry.
 */

/** Names never forwarded in trailers: framing, routing and connection fields (RFC 9110 §6.5.1). */
const NOT_IN_TRAILERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
  'content-encoding',
  'content-type',
  'host',
]);

/**
 * The forwardable trailer pairs in undici's `onComplete` argument (`[]` for none): a field that
 * is not a valid lower-case token with a valid value is dropped (sent on, it would break the
 * whole response at its very end).
 */
export function trailerPairs(trailers: unknown): string[] {
  const out: string[] = [];
  if (trailers === null || typeof trailers !== 'object') return out;
  if (Array.isArray(trailers)) {
    for (let i = 0; i + 1 < trailers.length; i += 2) {
      push(out, text(trailers[i]), text(trailers[i + 1]));
    }
    return out;
  }
  for (const [name, value] of Object.entries(trailers as Record<string, unknown>)) {
    if (Array.isArray(value)) for (const v of value) push(out, name, text(v));
    else if (value !== undefined) push(out, name, text(value));
  }
  return out;
}

/** An RFC 9110 token in lower case: the only field names HTTP/2 carries. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** Field value characters HTTP/2 carries (no CR, LF, NUL or other controls but HTAB). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function push(out: string[], rawName: string, value: string): void {
  const name = rawName.toLowerCase();
  if (NOT_IN_TRAILERS.has(name) || !FIELD_NAME.test(name) || !FIELD_VALUE.test(value)) return;
  out.push(name, value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
}
