import type { PeerProxy } from '../http-peer.js';

/** The CONNECT proxy of a peer, parsed once per peer. */
export interface ProxyTarget {
  readonly https: boolean;
  readonly host: string;
  readonly port: number;
  /** Headers of the CONNECT request (Proxy-Authorization from the URI's userinfo included). */
  readonly headers: Readonly<Record<string, string>>;
  /** `host:port` of the proxy, for error messages (never the userinfo). */
  readonly label: string;
}

/**
 * Parses a peer's proxy (already validated by `HttpPeer`): host, port (80 or 443 when absent),
 * and a `Proxy-Authorization: Basic` header from the URI's userinfo, beside the extra headers.
 */
export function parseProxy(proxy: PeerProxy): ProxyTarget {
  const url = new URL(proxy.uri);
  const https = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (https ? 443 : 80) : Number(url.port);
  const headers: Record<string, string> = { ...proxy.headers };
  if (url.username !== '' || url.password !== '') {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return { https, host, port, headers, label: `${host}:${port}` };
}
