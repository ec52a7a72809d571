import type { ConnectionOptions } from 'node:tls';
import type { HttpPeer } from '../http-peer.js';
import { type ProxyTarget, parseProxy } from './connect-proxy.js';
import { peerTlsOptions } from './peer-tls.js';

/** What depends only on the peer, computed once per peer and reused while its inputs are unchanged. */
export interface Prepared {
  readonly proxySource: HttpPeer['proxy'];
  readonly proxy: ProxyTarget | undefined;
  /** What the TLS options were built from, compared by identity before reuse. */
  readonly tlsInputs: readonly unknown[];
  readonly tls: ConnectionOptions | undefined;
}

const preparedPeers = new WeakMap<HttpPeer, Prepared>();

// Options can be assigned one at a time (`peer.options.ca = …`), so the cache is checked against
// the current inputs on every use: a handful of identity comparisons, against a secure context.
function tlsInputsOf(peer: HttpPeer): unknown[] {
  const o = peer.options;
  return [peer.clientCertKey, o.ca, o.useSystemCerts, o.verifyCert, o.verifyHostname, o.alternativeCn, o.alpn];
}

/** The prepared parts of `peer`, from the cache while their inputs are the same values. */
export function prepare(peer: HttpPeer): Prepared {
  const cached = preparedPeers.get(peer);
  const tlsInputs = tlsInputsOf(peer);
  const proxySource = peer.proxy;
  if (
    cached !== undefined &&
    cached.proxySource === proxySource &&
    cached.tlsInputs.every((value, i) => Object.is(value, tlsInputs[i]))
  ) {
    return cached;
  }
  const prepared: Prepared = {
    proxySource,
    proxy:
      proxySource === cached?.proxySource
        ? cached?.proxy
        : proxySource === undefined
          ? undefined
          : parseProxy(proxySource),
    tlsInputs,
    tls: peer.tls ? peerTlsOptions(peer) : undefined,
  };
  preparedPeers.set(peer, prepared);
  return prepared;
}
