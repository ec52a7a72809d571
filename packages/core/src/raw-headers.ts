/**
 * Raw header pairs as Node and undici hand them over: flat `[name0, value0, name1, value1, …]`,
 * original casing. Names are compared to lower-case literals ASCII case-insensitively, byte by
 * byte: no lower-casing, no regex, no allocation. The proxy's header passes and the upstream
 * request policy share these instead of each comparing names its own way.
 */

/** `s` from `start` equals the lower-case ASCII `lower`, ignoring ASCII case (`s` must be long enough). */
export function equalsLowerAt(s: string, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = s.charCodeAt(start + i);
    const t = lower.charCodeAt(i);
    if (c !== t && (c < 65 || c > 90 || c + 32 !== t)) return false;
  }
  return true;
}

/**
 * Whether the header name `name` is `lower` (a lower-case ASCII literal such as
 * `'content-length'`), ignoring ASCII case. Lengths are compared first, so a mismatch usually
 * costs one integer comparison.
 */
export function headerNameIs(name: string, lower: string): boolean {
  return name.length === lower.length && equalsLowerAt(name, 0, lower);
}

/**
 * The value of the first field named `lower` (lower-case) in flat raw pairs, or `undefined`
 * when there is none. A trailing name without a value is ignored.
 */
export function rawHeaderValue(raw: readonly string[], lower: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (headerNameIs(raw[i] as string, lower)) return raw[i + 1];
  }
  return undefined;
}

/**
 * Whether a request with these raw headers has a body (RFC 9112 §6.3): a `Transfer-Encoding`
 * field, or a `Content-Length` whose value (trimmed) is not `0`. The first decisive field wins.
 */
export function rawHeadersHaveBody(raw: readonly string[]): boolean {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (headerNameIs(name, 'content-length')) {
      if ((raw[i + 1] as string).trim() !== '0') return true;
    } else if (headerNameIs(name, 'transfer-encoding')) {
      return true;
    }
  }
  return false;
}
