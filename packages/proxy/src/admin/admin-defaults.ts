import { isIP } from 'node:net';
import { checkInteger, invalidOption } from '@switchyard/core';

/** Where and how the admin listener listens. */
export interface AdminListenOptions {
  /** Address to listen on; anything but loopback needs a `token`. @defaultValue '127.0.0.1' */
  readonly host: string;
  /** Port; 0 picks a free one. @defaultValue 9901 (Envoy's admin port) */
  readonly port: number;
  /**
   * Bearer token every admin request must carry (`Authorization: Bearer <token>`, or HTTP Basic
   * with the token as password, for browsers); at least 16 visible ASCII characters.
   * @defaultValue undefined (no token: loopback only)
   */
  readonly token: string | undefined;
  /** Largest admin request head, bytes; larger heads get 431. @defaultValue 8192 */
  readonly maxHeaderSize: number;
  /** Time allowed for a whole admin request, ms. @defaultValue 10000 */
  readonly requestTimeout: number;
}

/** The defaults of {@link AdminListenOptions}. */
export const ADMIN_LISTEN_DEFAULTS: AdminListenOptions = Object.freeze({
  host: '127.0.0.1',
  port: 9901,
  token: undefined,
  maxHeaderSize: 8192,
  requestTimeout: 10_000,
});

/** Shortest admin token accepted: 16 characters. */
export const MIN_TOKEN_LENGTH = 16;
const TOKEN = /^[\x21-\x7e]+$/;

/** True for `localhost`, 127.0.0.0/8 and ::1 (also as IPv4-mapped IPv6). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Throws `LB_ERR_INVALID_OPTION` naming the first bad option (`admin server <option>: expected …`),
 * including a non-loopback `host` without a `token`.
 */
export function validateAdminListen(o: AdminListenOptions): void {
  if (typeof o.host !== 'string' || o.host.length === 0)
    invalidOption('admin server host', 'a host name or IP address', o.host);
  checkInteger('admin server port', o.port, 0, 65535);
  if (
    o.token !== undefined &&
    (typeof o.token !== 'string' || o.token.length < MIN_TOKEN_LENGTH || !TOKEN.test(o.token))
  ) {
    invalidOption(
      'admin server token',
      `a string of at least ${MIN_TOKEN_LENGTH} visible ASCII characters`,
      '<redacted>',
    );
  }
  if (o.token === undefined && !isLoopbackHost(o.host)) {
    invalidOption('admin server token', `a token, since host ${JSON.stringify(o.host)} is not loopback`, undefined);
  }
  checkInteger('admin server maxHeaderSize', o.maxHeaderSize, 1024, 65536);
  checkInteger('admin server requestTimeout', o.requestTimeout, 1, 600_000);
}
