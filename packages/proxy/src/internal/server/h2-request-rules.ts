/**
 * HTTP/2 request heads (RFC 9113 §8.2–8.3), as pure functions over the flat raw pairs Node's
 * `http2` compatibility request carries (pseudo-header fields first, names lower-case).
 * nghttp2 already refuses most malformed heads before Node reports a stream; these rules are
 * checked again on every stream, so a request that reaches the attempt loop is known to be
 * well-formed whatever the HTTP/2 library below lets through.
 */

/** Fields that only mean something on one HTTP/1.1 connection (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** The request pseudo-header fields this server accepts (RFC 9113 §8.3.1; no extended CONNECT). */
const REQUEST_PSEUDO: ReadonlySet<string> = new Set([':method', ':scheme', ':authority', ':path']);

/**
 * Why the HTTP/2 request head `raw` is malformed, or `undefined` when it is well-formed. A
 * malformed request is a stream error of type PROTOCOL_ERROR: nothing of it is forwarded.
 * Checked: connection-specific fields, `TE` other than `trailers`, upper-case names, unknown,
 * repeated, missing or misplaced pseudo-header fields, an empty `:path`, and a `Host` that names
 * another authority than `:authority`.
 */
export function h2RequestProblem(raw: readonly string[]): string | undefined {
  let regularSeen = false;
  let method: string | undefined;
  let scheme: string | undefined;
  let path: string | undefined;
  let authority: string | undefined;
  let host: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (regularSeen) return `pseudo-header field ${name} after a regular field`;
      if (!REQUEST_PSEUDO.has(name)) return `unknown pseudo-header field ${name}`;
      const seen = name === ':method' ? method : name === ':scheme' ? scheme : name === ':path' ? path : authority;
      if (seen !== undefined) return `repeated pseudo-header field ${name}`;
      if (name === ':method') method = value;
      else if (name === ':scheme') scheme = value;
      else if (name === ':path') path = value;
      else authority = value;
      continue;
    }
    regularSeen = true;
    if (name !== name.toLowerCase()) return `upper-case field name ${name}`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') return 'TE other than "trailers"';
    if (name === 'host') host = value;
  }
  if (method === undefined) return 'missing :method';
  if (method === 'CONNECT') {
    if (scheme !== undefined || path !== undefined) return 'CONNECT with :scheme or :path';
    if (authority === undefined) return 'CONNECT without :authority';
  } else {
    if (scheme === undefined) return 'missing :scheme';
    if (path === undefined) return 'missing :path';
    if (path === '') return 'empty :path';
  }
  if (authority !== undefined && host !== undefined && host.toLowerCase() !== authority.toLowerCase()) {
    return 'Host differs from :authority';
  }
  return undefined;
}

/**
 * The HTTP/1.1 view of a well-formed HTTP/2 request head: the pseudo-header fields dropped,
 * `:authority` as `Host` (first, when the request has no `Host` of its own), and `cookie`
 * crumbs joined into one field with `"; "` (RFC 9113 §8.2.3). Every other field is kept as
 * received, in order.
 */
export function h1HeadersOf(raw: readonly string[]): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let hasHost = false;
  let cookie: string | undefined;
  let cookieAt = -1;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':authority') authority = value;
      continue;
    }
    if (name === 'host') hasHost = true;
    if (name === 'cookie') {
      if (cookie === undefined) {
        cookie = value;
        cookieAt = out.length + 1;
        out.push(name, value);
      } else {
        cookie = `${cookie}; ${value}`;
        out[cookieAt] = cookie;
      }
      continue;
    }
    out.push(name, value);
  }
  if (!hasHost && authority !== undefined) out.unshift('host', authority);
  return out;
}

/** Whether the HTTP/2 request head `raw` asks for trailers (`te: trailers`, which gRPC sends). */
export function wantsTrailers(raw: readonly string[]): boolean {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i] === 'te') return (raw[i + 1] as string).trim().toLowerCase() === 'trailers';
  }
  return false;
}
