import { isIP } from 'node:net';
import { describe, invalidOption } from './errors.js';

/** Free-form metadata attached to a backend (zone, tier, labels). Not part of its identity. */
export type BackendMeta = Readonly<Record<string, unknown>>;

/**
 * One upstream server. Immutable. `id` is `host:port`, with IPv6 hosts in brackets
 * (`[::1]:80`); `host` never carries brackets. Identity for selection is `id`.
 */
export interface Backend {
  /** `host:port`, or `[v6]:port`. */
  readonly id: string;
  /** IPv4 address, IPv6 address (no brackets) or host name. */
  readonly host: string;
  /** TCP port, 1–65535. */
  readonly port: number;
  /** Relative weight, an integer ≥ 1. @defaultValue 1 */
  readonly weight: number;
  /** Metadata; ignored by selectors unless documented otherwise. @defaultValue `{}` */
  readonly meta: BackendMeta;
}

/** A parsed `host:port` address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

// RFC 1123 host names, also allowing `_` as service names in SRV targets commonly do.
const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * Parses `host:port` or `[v6]:port`. Throws `LbError` `LB_ERR_INVALID_OPTION`
 * naming the bad part: missing port, port outside 1–65535, empty or malformed host.
 */
export function parseHostPort(address: string): HostPort {
  if (typeof address !== 'string') invalidOption('backend address', 'a "host:port" string', address);
  const what = `backend address ${describe(address)}`;
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0) invalidOption(what, 'a closing "]" after the IPv6 host', address);
    host = address.slice(1, close);
    const rest = address.slice(close + 1);
    if (!rest.startsWith(':')) invalidOption(what, 'a ":port" after "[host]"', rest);
    portText = rest.slice(1);
    if (isIP(host) !== 6) invalidOption(`${what} host`, 'an IPv6 address inside brackets', host);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) invalidOption(`${what} port`, 'a ":port" suffix', address);
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(':')) invalidOption(`${what} host`, 'IPv6 hosts in brackets, like "[::1]:80"', host);
  }
  if (host === '') invalidOption(`${what} host`, 'a non-empty host', host);
  if (isIP(host) === 0 && !HOST_NAME.test(host)) invalidOption(`${what} host`, 'an IP address or host name', host);
  if (!/^\d{1,5}$/.test(portText)) invalidOption(`${what} port`, 'a decimal port from 1 to 65535', portText);
  const port = Number(portText);
  if (port < 1 || port > 65535) invalidOption(`${what} port`, 'a port from 1 to 65535', port);
  return { host, port };
}

/** Formats a host and port as an id: `host:port`, or `[v6]:port` for IPv6 hosts. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Builds a frozen {@link Backend} from `host:port` / `[v6]:port`.
 * Throws `LbError` `LB_ERR_INVALID_OPTION` on a bad address or a weight that is not an integer ≥ 1.
 * @param weight - relative weight. @defaultValue 1
 * @param meta - metadata, not part of identity. @defaultValue `{}`
 */
export function backend(address: string, weight = 1, meta: BackendMeta = {}): Backend {
  const { host, port } = parseHostPort(address);
  if (typeof weight !== 'number' || !Number.isSafeInteger(weight) || weight < 1) {
    invalidOption(`weight of backend ${formatHostPort(host, port)}`, 'an integer >= 1', weight);
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    invalidOption(`meta of backend ${formatHostPort(host, port)}`, 'an object', meta);
  }
  return Object.freeze({ id: formatHostPort(host, port), host, port, weight, meta: Object.freeze({ ...meta }) });
}
