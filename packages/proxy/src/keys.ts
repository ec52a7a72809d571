import { invalidOption } from '@switchyard/core';
import { haproxyFirstValue } from '@switchyard/selectors';
import type { Session } from './proxy-app.js';

/** What a request is hashed on: the part of the request a {@link KeyExtractor} reads. */
export type KeySpec = 'uri' | 'path' | 'client-ip' | `header:${string}` | `cookie:${string}` | `query:${string}`;

/** Turns a request into the selection key. Must be cheap: it runs on every attempt. */
export type KeyExtractor = (session: Session) => string;

/** The shape of a valid {@link KeySpec}: a fixed name, or a source and a non-empty name. */
export const KEY_SPEC_PATTERN = /^(?:uri|path|client-ip|(?:header|cookie|query):[^\s:]+)$/;

/**
 * Builds the key extractor for a config `selector.key`:
 * - `uri`: the request target as received, path and query (`/a?b=1`);
 * - `path`: the path without the query string;
 * - `client-ip`: the socket's remote address (not `X-Forwarded-For`);
 * - `header:NAME`: the header's value (case-insensitive name; repeated headers joined with `,`);
 * - `cookie:NAME`: the value of cookie `NAME` in the `Cookie` header;
 * - `query:NAME`: the first value of query parameter `NAME`, percent-decoded.
 *
 * A header, cookie or parameter that is absent gives the empty string, so all such
 * requests share one key (and so one backend under hashing selectors).
 * Throws `LB_ERR_INVALID_OPTION` for anything else.
 */
export function keyExtractor(spec: string): KeyExtractor {
  if (typeof spec !== 'string' || !KEY_SPEC_PATTERN.test(spec)) {
    invalidOption('selector key', '"uri", "path", "client-ip", "header:NAME", "cookie:NAME" or "query:NAME"', spec);
  }
  if (spec === 'uri') return (session) => session.uri;
  if (spec === 'path') return (session) => session.path;
  if (spec === 'client-ip') return (session) => session.clientIp;
  const colon = spec.indexOf(':');
  const source = spec.slice(0, colon);
  const name = spec.slice(colon + 1);
  if (source === 'header') {
    const lower = name.toLowerCase();
    return (session) => headerValue(session.headers[lower]);
  }
  if (source === 'cookie') return (session) => cookieValue(headerValue(session.headers.cookie), name);
  return (session) => queryValue(session.uri, name);
}

/**
 * The key extractor for a `haproxy` selector: the same specs as {@link keyExtractor}, with the
 * key bytes HAProxy's samples give, so that `balance hdr(NAME)` or `balance url_param(NAME)` on
 * their side and `header:NAME` or `query:NAME` here hash the same bytes:
 * - `header:NAME`: the first value of the first such header (`hdr()`: up to the first comma
 *   outside quotes, spaces trimmed), as the raw bytes received;
 * - `query:NAME`: the first value of the parameter as received, not percent-decoded (`url_param`).
 * Other specs are as {@link keyExtractor} gives them.
 */
export function haproxyKeyExtractor(spec: string): (session: Session) => string | Uint8Array {
  const plain = keyExtractor(spec);
  const colon = spec.indexOf(':');
  const source = spec.slice(0, colon);
  const name = spec.slice(colon + 1);
  if (source === 'header') {
    const lower = name.toLowerCase();
    return (session) => {
      const value = session.headers[lower];
      const first = value === undefined ? '' : typeof value === 'string' ? value : (value[0] ?? '');
      // Node decodes header bytes as latin1, so this gives back the bytes received.
      return haproxyFirstValue(Buffer.from(first, 'latin1'));
    };
  }
  if (source === 'query') return (session) => Buffer.from(rawQueryValue(session.uri, name), 'latin1');
  return plain;
}

function headerValue(value: string | readonly string[] | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : value.join(',');
}

/**
 * The value of cookie `name` in a `Cookie` header (`a=1; b=2`), or `''`.
 * A linear scan without splitting, so no arrays are allocated per request.
 */
export function cookieValue(header: string, name: string): string {
  let start = 0;
  const length = header.length;
  while (start < length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = length;
    // Skip the optional whitespace after `;`.
    let i = start;
    while (i < end && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9)) i++;
    if (end - i > name.length && header.charCodeAt(i + name.length) === 61 /* = */ && header.startsWith(name, i)) {
      return trimQuotes(header.slice(i + name.length + 1, end).trim());
    }
    start = end + 1;
  }
  return '';
}

function trimQuotes(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/**
 * The first value of query parameter `name` in a request target (`/p?a=1&b=2`),
 * percent-decoded (`+` as space), or `''`. No `URL` object is built.
 */
export function queryValue(uri: string, name: string): string {
  const raw = rawQueryValue(uri, name);
  return raw === '' ? '' : decode(raw);
}

/** The first value of query parameter `name` as it appears in the target, or `''`. */
function rawQueryValue(uri: string, name: string): string {
  const q = uri.indexOf('?');
  if (q < 0) return '';
  const hash = uri.indexOf('#', q);
  const length = hash < 0 ? uri.length : hash;
  let start = q + 1;
  while (start < length) {
    let end = uri.indexOf('&', start);
    if (end < 0 || end > length) end = length;
    const eq = uri.indexOf('=', start);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (keyEnd - start === name.length && uri.startsWith(name, start)) {
      return keyEnd === end ? '' : uri.slice(keyEnd + 1, end);
    }
    start = end + 1;
  }
  return '';
}

function decode(value: string): string {
  if (!value.includes('%') && !value.includes('+')) return value;
  const spaced = value.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    // A malformed escape is still a stable key: hash it as received.
    return spaced;
  }
}
