import { isIP } from 'node:net';
import { checkNonNegative, invalidOption } from '@switchyard/core';
import { MAX_TIMER_MS } from './timer.js';

/** The TLS settings shared by the TCP and HTTP checks. */
export interface TlsSettings {
  readonly tls: boolean;
  readonly sni: string | undefined;
  readonly ca: string | readonly string[] | undefined;
  readonly verifyCert: boolean;
}

export function validateCommon(component: string, o: TlsSettings & { readonly timeoutMs: number }): void {
  checkNonNegative(`${component} timeoutMs`, o.timeoutMs);
  // The deadline is a setTimeout, which fires after 1 ms for anything above MAX_TIMER_MS.
  if (o.timeoutMs === 0 || o.timeoutMs > MAX_TIMER_MS)
    invalidOption(`${component} timeoutMs`, `a duration > 0 and <= ${MAX_TIMER_MS} ms`, o.timeoutMs);
  if (typeof o.tls !== 'boolean') invalidOption(`${component} tls`, 'a boolean', o.tls);
  if (typeof o.verifyCert !== 'boolean') invalidOption(`${component} verifyCert`, 'a boolean', o.verifyCert);
  if (o.sni !== undefined && typeof o.sni !== 'string') invalidOption(`${component} sni`, 'a string', o.sni);
  const cas = o.ca === undefined ? [] : typeof o.ca === 'string' ? [o.ca] : o.ca;
  if (!Array.isArray(cas) || cas.some((c) => typeof c !== 'string')) {
    invalidOption(`${component} ca`, 'a PEM string or an array of them', o.ca);
  }
}

/**
 * The SNI to send: the configured one, else the backend's host when it is a name.
 * IP addresses are never sent as SNI (RFC 6066 forbids it); the certificate is then
 * checked against the IP.
 */
export function serverName(sni: string | undefined, host: string): string | undefined {
  if (sni !== undefined && sni !== '') return sni;
  return isIP(host) === 0 ? host : undefined;
}

/** `ca` as node:tls wants it. */
export function caList(ca: string | readonly string[] | undefined): string[] | undefined {
  if (ca === undefined) return undefined;
  return typeof ca === 'string' ? [ca] : [...ca];
}
