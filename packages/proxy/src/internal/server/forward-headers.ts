import { headerNameIs, rawHeaderValue, type UpstreamRequestPolicyResult } from '@switchyard/core';

/**
 * Header work on the hot path: flat raw pairs in, flat raw pairs out, one pass each way,
 * names bucketed by length first so most headers cost one integer comparison, then compared
 * with core's raw-header scanner (the one the upstream request policy uses).
 */

/**
 * Adds `X-Forwarded-For` / `-Proto` / `-Host` to `headers` (already filtered by the upstream
 * request policy) and drops the fields undici frames itself (`connection`, `keep-alive`,
 * `transfer-encoding`, `upgrade`, `expect`: undici rejects them in request headers; the upgrade
 * travels as the dispatch `upgrade` option). `clientIp` and `proto` describe the downstream
 * connection. A `trusted` client (a proxy in front of this one) has its `X-Forwarded-*` kept and
 * appended to; an untrusted client's are replaced. Positional arguments: no object per request.
 */
export function forwardRequestHeaders(
  headers: readonly string[],
  clientIp: string,
  proto: 'http' | 'https',
  trusted: boolean,
): string[] {
  const out: string[] = [];
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  let host: string | undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    switch (name.length) {
      case 4:
        if (host === undefined && headerNameIs(name, 'host')) host = value;
        break;
      case 6:
        if (headerNameIs(name, 'expect')) continue;
        break;
      case 7:
        if (headerNameIs(name, 'upgrade')) continue;
        break;
      case 10:
        if (headerNameIs(name, 'connection') || headerNameIs(name, 'keep-alive')) continue;
        break;
      case 15:
        if (headerNameIs(name, 'x-forwarded-for')) {
          if (trusted) xff = xff === undefined ? value : `${xff}, ${value}`;
          continue;
        }
        break;
      case 16:
        if (headerNameIs(name, 'x-forwarded-host')) {
          if (trusted) xfh = xfh === undefined ? value : `${xfh}, ${value}`;
          continue;
        }
        break;
      case 17:
        if (headerNameIs(name, 'transfer-encoding')) continue;
        if (headerNameIs(name, 'x-forwarded-proto')) {
          if (trusted) xfp = xfp === undefined ? value : `${xfp}, ${value}`;
          continue;
        }
        break;
    }
    out.push(name, value);
  }
  out.push('x-forwarded-for', xff === undefined ? clientIp : `${xff}, ${clientIp}`);
  out.push('x-forwarded-proto', xfp === undefined ? proto : `${xfp}, ${proto}`);
  if (host !== undefined) out.push('x-forwarded-host', xfh === undefined ? host : `${xfh}, ${host}`);
  else if (xfh !== undefined) out.push('x-forwarded-host', xfh);
  return out;
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
    const n = typeof name === 'string' ? name : name.toString('latin1');
    const v = typeof value === 'string' ? value : value.toString('latin1');
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
