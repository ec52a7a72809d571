import type { OutgoingHttpHeaders } from 'node:http2';

/**
 * The field sections of an HTTP/2 upstream request and response in the shapes the rest of the
 * proxy uses: the request goes out as Node's headers object with pseudo-headers, the response
 * head and trailers come back as flat raw pairs (strings; undici reports Buffers, and the proxy
 * reads either).
 */

/** Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2); `te` is allowed as `trailers` only. */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/**
 * The HTTP/2 request head for `method` `path` with the flat `headers` pairs (names in any case).
 * `Host` becomes `:authority` (`authority` when there is none); fields HTTP/2 cannot carry are
 * dropped (the upstream request policy has removed them already, an app filter may have added
 * them back), and repeated fields become arrays, which Node sends as repeated fields.
 */
export function h2RequestHeaders(
  method: string,
  path: string,
  headers: readonly string[],
  scheme: string,
  authority: string,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': method, ':scheme': scheme, ':path': path, ':authority': authority };
  let host: string | undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    const value = headers[i + 1] as string;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    if (CONNECTION_SPECIFIC.has(name)) {
      if (name === 'host') host ??= value;
      continue;
    }
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') continue;
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [String(seen), value];
  }
  if (host !== undefined) out[':authority'] = host;
  if (method === 'CONNECT') {
    // RFC 9113 §8.5: a CONNECT request carries only :method and :authority.
    delete out[':scheme'];
    delete out[':path'];
  }
  return out;
}

/** Node's raw header list (`[name, value, …]`, pseudo-headers first) without pseudo-headers: a response head or trailers. */
export function rawFieldStrings(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.charCodeAt(0) !== 58 /* ':' */) out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** Flat `[name, value, …]` pairs as a headers object for `sendTrailers` or `addTrailers` (repeated names as arrays). */
export function pairsToHeaders(pairs: readonly string[]): OutgoingHttpHeaders {
  // A literal (a null-prototype object is a slow dictionary): the one name it cannot hold is skipped.
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    // Lower case, as HTTP/2 sends names (Node lowers them too); repeated names keep every value.
    const name = (pairs[i] as string).toLowerCase();
    if (name === '__proto__') continue;
    const value = pairs[i + 1] as string;
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [String(seen), value];
  }
  return out;
}
