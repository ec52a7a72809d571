import { headerNameIs, rawHeaderValue, type UpstreamRequestPolicyResult } from '@switchyard/core';
import type { ForwardedHeaders } from '../../proxy-app.js';

/**
 * Header work on the hot path: flat raw pairs in, flat raw pairs out, one pass each way,
 * names bucketed by length first so most headers cost one integer comparison, then compared
 * with core's raw-header scanner (the one the upstream request policy uses).
 */

/** Incoming forwarding fields of a trusted client, joined per name; `undefined` when absent. */
interface Incoming {
  xff: string | undefined;
  xfp: string | undefined;
  xfh: string | undefined;
  realIp: string | undefined;
  forwarded: string | undefined;
}

function join(list: string | undefined, value: string): string {
  return list === undefined ? value : `${list}, ${value}`;
}

/** True for `X-Forwarded-<anything>` in any case. */
function isXForwarded(name: string): boolean {
  const c = name.charCodeAt(0) | 0x20;
  return c === 0x78 && name.length > 12 && name.slice(0, 12).toLowerCase() === 'x-forwarded-';
}

/**
 * Adds the proxy's forwarding fields to `headers` (already filtered by the upstream request
 * policy) and drops the fields undici frames itself (`connection`, `keep-alive`,
 * `transfer-encoding`, `upgrade`, `expect`: undici rejects them in request headers; the upgrade
 * travels as the dispatch `upgrade` option). `clientIp` and `proto` describe the downstream
 * connection; `mode` chooses the fields emitted; `authority`, from an absolute-form target,
 * replaces `Host`. From a client that is not `trusted`, `Forwarded`, `X-Real-IP` and every
 * `X-Forwarded-*` are dropped, so the upstream's view of the client is the socket's peer; a
 * `trusted` client (a proxy in front of this one) has them kept, and those the proxy emits are
 * appended to (`X-Real-IP`, a single address, keeps the trusted proxy's value). Positional
 * arguments: no object per request.
 */
export function forwardRequestHeaders(
  headers: readonly string[],
  clientIp: string,
  proto: 'http' | 'https',
  trusted: boolean,
  mode: ForwardedHeaders = 'x-forwarded',
  authority?: string,
): string[] {
  const out: string[] = [];
  const seen: Incoming = { xff: undefined, xfp: undefined, xfh: undefined, realIp: undefined, forwarded: undefined };
  let host: string | undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    switch (name.length) {
      case 4:
        if (host === undefined && headerNameIs(name, 'host')) {
          host = authority ?? value;
          out.push(name, host);
          continue;
        }
        break;
      case 6:
        if (headerNameIs(name, 'expect')) continue;
        break;
      case 7:
        if (headerNameIs(name, 'upgrade')) continue;
        break;
      case 9:
        if (headerNameIs(name, 'forwarded')) {
          if (trusted) seen.forwarded = join(seen.forwarded, value);
          continue;
        }
        if (headerNameIs(name, 'x-real-ip')) {
          if (trusted) seen.realIp ??= value;
          continue;
        }
        break;
      case 10:
        if (headerNameIs(name, 'connection') || headerNameIs(name, 'keep-alive')) continue;
        break;
      case 15:
        if (headerNameIs(name, 'x-forwarded-for')) {
          if (trusted) seen.xff = join(seen.xff, value);
          continue;
        }
        break;
      case 16:
        if (headerNameIs(name, 'x-forwarded-host')) {
          if (trusted) seen.xfh = join(seen.xfh, value);
          continue;
        }
        break;
      case 17:
        if (headerNameIs(name, 'transfer-encoding')) continue;
        if (headerNameIs(name, 'x-forwarded-proto')) {
          if (trusted) seen.xfp = join(seen.xfp, value);
          continue;
        }
        break;
    }
    // Other X-Forwarded-* (Port, Prefix, Server, …) are the proxy's to set too: only a trusted client's pass.
    if (!trusted && isXForwarded(name)) continue;
    out.push(name, value);
  }
  if (host === undefined && authority !== undefined) {
    host = authority;
    out.push('host', authority);
  }
  if (mode !== 'rfc7239') {
    out.push('x-forwarded-for', join(seen.xff, clientIp));
    out.push('x-forwarded-proto', join(seen.xfp, proto));
    if (host !== undefined) out.push('x-forwarded-host', join(seen.xfh, host));
    else if (seen.xfh !== undefined) out.push('x-forwarded-host', seen.xfh);
    out.push('x-real-ip', seen.realIp ?? clientIp);
  } else {
    pushKept(out, 'x-forwarded-for', seen.xff);
    pushKept(out, 'x-forwarded-proto', seen.xfp);
    pushKept(out, 'x-forwarded-host', seen.xfh);
    pushKept(out, 'x-real-ip', seen.realIp);
  }
  if (mode !== 'x-forwarded') out.push('forwarded', join(seen.forwarded, forwardedElement(clientIp, proto, host)));
  else pushKept(out, 'forwarded', seen.forwarded);
  return out;
}

function pushKept(out: string[], name: string, value: string | undefined): void {
  if (value !== undefined) out.push(name, value);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A `Forwarded` parameter value (RFC 7239 §4): a token as is, anything else a quoted-string. */
export function forwardedValue(value: string): string {
  return TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * One `Forwarded` element for this hop (RFC 7239 §4, §6): `for` the client's address (an IPv6
 * address in brackets and quotes, `unknown` when there is none), `host` the `Host` the proxy
 * forwards (quoted when it carries a port), `proto` the downstream scheme.
 */
export function forwardedElement(clientIp: string, proto: 'http' | 'https', host: string | undefined): string {
  const node = clientIp === '' ? 'unknown' : clientIp.includes(':') ? `[${clientIp}]` : clientIp;
  const element = `for=${forwardedValue(node)}`;
  return host === undefined ? `${element};proto=${proto}` : `${element};host=${forwardedValue(host)};proto=${proto}`;
}

/** A raw header field as text: undici reports Buffers, the HTTP/2 upstream client strings. */
export function fieldText(field: Buffer | string): string {
  return typeof field === 'string' ? field : field.toString('latin1');
}

/**
 * Converts undici's raw response headers (Buffers for HTTP/1.1, strings for HTTP/2) to
 * strings and drops the hop-by-hop fields (and those `Connection` nominates), which describe
 * the upstream connection, not the downstream one. With `upgrade`, `Connection` and `Upgrade`
 * stay: a 101 needs them.
 */
export function forwardResponseHeaders(raw: readonly (Buffer | string)[], upgrade: boolean): string[] {
  const out: string[] = [];
  let nominated: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as Buffer | string;
    const value = raw[i + 1] as Buffer | string;
    const n = fieldText(name);
    const v = fieldText(value);
    switch (n.length) {
      case 2:
        if (headerNameIs(n, 'te')) continue;
        break;
      case 7:
        if (headerNameIs(n, 'trailer') || (!upgrade && headerNameIs(n, 'upgrade'))) continue;
        break;
      case 10:
        if (headerNameIs(n, 'keep-alive')) continue;
        if (headerNameIs(n, 'connection')) {
          nominated = collectNominated(v, nominated);
          if (!upgrade) continue;
        }
        break;
      case 16:
        if (headerNameIs(n, 'proxy-connection')) continue;
        break;
      case 17:
        if (headerNameIs(n, 'transfer-encoding')) continue;
        break;
    }
    out.push(n, v);
  }
  return nominated === undefined ? out : dropNames(out, nominated);
}

function collectNominated(value: string, into: string[] | undefined): string[] | undefined {
  // What nearly every upstream sends nominates nothing: no split, no copies.
  if (headerNameIs(value, 'keep-alive') || headerNameIs(value, 'close')) return into;
  let list = into;
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
    list ??= [];
    list.push(t);
  }
  return list;
}

function dropNames(headers: string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    if (!isOneOf(name, names)) out.push(name, headers[i + 1] as string);
  }
  return out;
}

function isOneOf(name: string, lowerNames: readonly string[]): boolean {
  for (let i = 0; i < lowerNames.length; i++) if (headerNameIs(name, lowerNames[i] as string)) return true;
  return false;
}

/** Normalizes an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) to its IPv4 form. */
export function normalizeIp(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * The `upgrade` option undici is given for a request on the `upgrade` event, from the upstream
 * request policy's verdict: `'websocket'` for a WebSocket handshake, the request's own `Upgrade`
 * value for a preserved upgrade, `undefined` when the policy forwards no upgrade.
 */
export function upgradeToken(
  verdict: UpstreamRequestPolicyResult['upgrade'],
  rawHeaders: readonly string[],
): string | undefined {
  if (verdict === undefined) return undefined;
  if (verdict === 'websocket') return 'websocket';
  return rawHeaderValue(rawHeaders, 'upgrade') ?? 'websocket';
}
