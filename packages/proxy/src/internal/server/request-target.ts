import { isIPv6 } from 'node:net';
import { headerNameIs, LbError } from '@switchyard/core';

/**
 * RFC 9112 §3.2 for a downstream HTTP/1.x request: its `Host` field and the form of its
 * request-target, checked before any phase runs. What is refused never reaches an upstream.
 */

/** The request-target as it goes upstream, and the authority that replaces `Host`. */
export interface RequestTarget {
  /** Origin-form path and query (`/a?b`), or `*` for `OPTIONS *` (asterisk-form). */
  readonly uri: string;
  /** The authority of an absolute-form target (`GET http://a.example/x`), which replaces `Host`; else `undefined`. */
  readonly authority: string | undefined;
}

/**
 * Methods the proxy forwards, as its `405` for `CONNECT` lists them in `Allow`. The proxy is a
 * gateway to its upstreams, not a tunnel to any address, so `CONNECT` is never forwarded.
 */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH';

/** A reg-name (RFC 3986 §3.2.2): unreserved, sub-delims and `%HH` escapes. */
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const PORT = /^[0-9]{1,5}$/;
const ABSOLUTE = /^https?:\/\//i;

/**
 * Why `authority` is not a valid `uri-host[:port]` (RFC 9110 §7.2), or `undefined` when it is.
 * Userinfo (`user@host`), spaces and other characters outside a host, an empty host and a port
 * that is not 1–5 digits up to 65535 are refused; an empty port (`host:`) too, which no client sends.
 */
export function authorityError(authority: string): string | undefined {
  // Clients send the same Host request after request: the last valid one is not checked again.
  if (authority === lastValid) return undefined;
  const reason = checkAuthority(authority);
  if (reason === undefined) lastValid = authority;
  return reason;
}

/** The authority {@link authorityError} found valid most recently. */
let lastValid: string | undefined;

function checkAuthority(authority: string): string | undefined {
  if (authority === '') return 'empty';
  if (authority.includes('@')) return 'userinfo (user@host) is not allowed';
  let host: string;
  let rest: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return 'unclosed IPv6 literal';
    host = authority.slice(1, close);
    if (!isIPv6(host)) return 'invalid IPv6 literal';
    rest = authority.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return 'invalid character after the IPv6 literal';
  } else {
    const colon = authority.indexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    rest = colon < 0 ? '' : authority.slice(colon);
    if (host === '') return 'empty host';
    if (!REG_NAME.test(host)) return 'space or invalid character in the host';
  }
  if (rest === '') return undefined;
  const port = rest.slice(1);
  if (!PORT.test(port) || Number(port) > 65535) return `bad port ${JSON.stringify(port)}`;
  return undefined;
}

function badRequest(message: string): never {
  throw new LbError('LB_ERR_BAD_REQUEST', message);
}

/**
 * Checks `Host` and the request-target of a downstream request (`url` as Node's parser gave it)
 * and returns what goes upstream:
 * - more than one `Host`, a `Host` that is not a valid authority, or no `Host` on HTTP/1.1 → 400;
 *   HTTP/1.0 may omit `Host` (the upstream then sees its own address, as undici sends it);
 * - origin-form (`/path?query`) is kept;
 * - absolute-form (`http://authority/path?query`, http or https): its authority is checked like
 *   `Host` and replaces it, and the request goes upstream in origin-form (an empty path is `/`);
 * - asterisk-form (`*`) only with `OPTIONS`, forwarded as is;
 * - anything else (an authority-form outside `CONNECT`, another scheme) → 400.
 *
 * @throws LbError `LB_ERR_BAD_REQUEST` with the reason.
 */
export function requestTarget(
  method: string,
  url: string,
  httpVersion: string,
  rawHeaders: readonly string[],
): RequestTarget {
  let host: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length !== 4 || !headerNameIs(name, 'host')) continue;
    if (host !== undefined) badRequest('more than one Host header');
    host = rawHeaders[i + 1] as string;
  }
  if (host !== undefined) {
    const reason = authorityError(host);
    if (reason !== undefined) badRequest(`invalid Host header: ${reason}`);
  } else if (httpVersion !== '1.0') {
    badRequest('missing Host header');
  }
  if (url.startsWith('/')) return { uri: url, authority: undefined };
  if (url === '*') {
    if (method !== 'OPTIONS') badRequest('the asterisk-form target (*) is only for OPTIONS');
    return { uri: url, authority: undefined };
  }
  if (!ABSOLUTE.test(url)) badRequest('request target must be /path, http(s)://host/path, or * for OPTIONS');
  const start = url.indexOf('//') + 2;
  let end = start;
  while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#') end++;
  const authority = url.slice(start, end);
  const reason = authorityError(authority);
  if (reason !== undefined) badRequest(`invalid authority in the request target: ${reason}`);
  const rest = url.slice(end);
  return { uri: rest.startsWith('/') ? rest : `/${rest}`, authority };
}
