import type { ReceivedRequest } from '@switchyard/testkit';
import { expect } from 'vitest';
import { headerValues } from '../helpers/raw-client.js';

/** The ten hop-by-hop names the standard policy strips (DESIGN.md, Pingora's list). */
export const HOP_BY_HOP = [
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'connection',
  'upgrade',
  'http2-settings',
] as const;

/** Names `Connection` may not nominate (any case), besides any name starting with `:`. */
export const PROTECTED = ['host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'] as const;

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Why the standard policy must reject a request with these `Connection` values, or undefined when it must not. */
export function policyViolation(connectionValues: readonly string[]): string | undefined {
  const tokens = connectionValues
    .flatMap((v) => v.split(','))
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (tokens.length >= 10) return 'ten or more nominations';
  for (const token of tokens) {
    if (token.startsWith(':')) return `pseudo-header nomination ${token}`;
    if (!TCHAR.test(token)) return `malformed token ${JSON.stringify(token)}`;
    if ((PROTECTED as readonly string[]).includes(token.toLowerCase())) return `protected nomination ${token}`;
  }
  return undefined;
}

/** The lower-case names a request's `Connection` fields nominate. */
export function nominated(headers: readonly (readonly [string, string])[]): Set<string> {
  return new Set(
    headerValues(headers, 'connection')
      .flatMap((v) => v.split(','))
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t.length > 0),
  );
}

/**
 * Asserts that what a backend received obeys the standard policy for a client request with
 * `clientHeaders`: no hop-by-hop field (except a normalized WebSocket handshake), nothing the
 * client's `Connection` nominated, exactly one `X-Forwarded-For` naming the untrusted client only.
 */
export function expectForwardedClean(
  received: ReceivedRequest,
  clientHeaders: readonly (readonly [string, string])[],
  clientIp = '127.0.0.1',
): void {
  const names = received.headers.map(([n]) => n.toLowerCase());
  const websocket =
    headerValues(received.headers, 'upgrade').join() === 'websocket' &&
    headerValues(received.headers, 'connection').join() === 'Upgrade';
  for (const hop of HOP_BY_HOP) {
    if (websocket && (hop === 'connection' || hop === 'upgrade')) continue;
    // Chunked framing the proxy added itself is the one Transfer-Encoding allowed, and only alone.
    if (hop === 'transfer-encoding') {
      const te = headerValues(received.headers, hop);
      expect(te.length <= 1 && (te[0] === undefined || te[0].toLowerCase() === 'chunked'), received.rawHead).toBe(true);
      expect(te.length === 0 || headerValues(received.headers, 'content-length').length === 0, received.rawHead).toBe(
        true,
      );
      continue;
    }
    // The proxy's own connection management on its upstream hop (undici sends `connection: keep-alive`)
    // is not a forwarded field; anything else in Connection would be.
    if (hop === 'connection') {
      const own = headerValues(received.headers, hop);
      expect(own.length <= 1 && (own[0] === undefined || /^(keep-alive|close)$/i.test(own[0])), received.rawHead).toBe(
        true,
      );
      continue;
    }
    expect(names, `hop-by-hop ${hop} forwarded:\n${received.rawHead}`).not.toContain(hop);
  }
  for (const name of nominated(clientHeaders)) {
    if ((HOP_BY_HOP as readonly string[]).includes(name) || name === 'close') continue;
    if (websocket && name === 'upgrade') continue;
    expect(names, `nominated ${name} forwarded:\n${received.rawHead}`).not.toContain(name);
  }
  expect(headerValues(received.headers, 'content-length').length, received.rawHead).toBeLessThanOrEqual(1);
  expect(headerValues(received.headers, 'x-forwarded-for'), received.rawHead).toEqual([clientIp]);
}
