import { isIP } from 'node:net';
import {
  type ConnectionOptions,
  checkServerIdentity,
  createSecureContext,
  type PeerCertificate,
  rootCertificates,
} from 'node:tls';
import type { HttpPeer } from '../http-peer.js';
import type { Alpn } from '../peer-options.js';

const ALPN: Readonly<Record<Alpn, readonly string[]>> = Object.freeze({
  h1: ['http/1.1'],
  h2: ['h2'],
  h2h1: ['h2', 'http/1.1'],
});

/**
 * The `node:tls` options for connecting to `peer`: SNI, ALPN, trusted CAs (`ca`, plus Node's
 * bundled roots when `useSystemCerts`), the client certificate, and the verification settings
 * (`verifyCert`, `verifyHostname`, `alternativeCn`). Builds one secure context, which is the
 * costly part (parsing ~150 root certificates), so callers build this once per peer.
 */
export function peerTlsOptions(peer: HttpPeer): ConnectionOptions {
  const o = peer.options;
  const extra = o.ca === undefined ? [] : typeof o.ca === 'string' ? [o.ca] : [...o.ca];
  const ca = o.useSystemCerts ? [...rootCertificates, ...extra] : extra;
  const client = peer.clientCertKey;
  const options: ConnectionOptions = {
    secureContext: createSecureContext({ ca, ...(client ? { cert: client.cert, key: client.key } : {}) }),
    ALPNProtocols: [...ALPN[o.alpn]],
    rejectUnauthorized: o.verifyCert,
    // The identity checked when no SNI is sent: the address itself.
    host: peer.sni === '' ? peer.address.host : peer.sni,
    checkServerIdentity: identityCheck(o.verifyHostname, o.alternativeCn),
  };
  // SNI must be a host name (RFC 6066): an IP address is never sent as the server name.
  if (peer.sni !== '' && isIP(peer.sni) === 0) options.servername = peer.sni;
  return options;
}

function identityCheck(verifyHostname: boolean, alternativeCn: string | undefined) {
  return (hostname: string, cert: PeerCertificate): Error | undefined => {
    if (!verifyHostname) return undefined;
    const err = checkServerIdentity(hostname, cert);
    if (err === undefined || alternativeCn === undefined) return err;
    return checkServerIdentity(alternativeCn, cert) === undefined ? undefined : err;
  };
}
