import { isIP } from 'node:net';
import { type Backend, checkNonNegative, HttpPeer, invalidOption, type PeerOptions } from '@switchyard/core';
import { MAX_TIMER_MS } from './timer.js';

/**
 * What both checks take to reach a backend: a peer template, or the conveniences
 * (`tls`, `sni`, `ca`, `verifyCert`) that build one when no template is given.
 */
interface CheckPeerFields {
  readonly timeoutMs: number;
  readonly peer: HttpPeer | undefined;
  readonly tls: boolean;
  readonly sni: string | undefined;
  readonly ca: PeerOptions['ca'];
  readonly verifyCert: PeerOptions['verifyCert'];
}

const CONVENIENCES = ['tls', 'sni', 'ca', 'verifyCert'] as const;

/** The address of the peer built from the conveniences; like a template's, it is never used. */
const TEMPLATE_ADDRESS = '0.0.0.0:1';

/**
 * Validates the deadline, the peer template and the conveniences. `given` is what the caller
 * passed: a convenience set beside `peer` is rejected, since the peer already says it.
 */
export function validateCheckPeer(
  component: string,
  o: CheckPeerFields,
  given: Partial<CheckPeerFields> | undefined,
): void {
  checkNonNegative(`${component} timeoutMs`, o.timeoutMs);
  // The deadline is a setTimeout, which fires after 1 ms for anything above MAX_TIMER_MS.
  if (o.timeoutMs === 0 || o.timeoutMs > MAX_TIMER_MS)
    invalidOption(`${component} timeoutMs`, `a duration > 0 and <= ${MAX_TIMER_MS} ms`, o.timeoutMs);
  if (o.peer !== undefined) {
    if (!isPeer(o.peer)) invalidOption(`${component} peer`, 'an HttpPeer', o.peer);
    for (const field of CONVENIENCES) {
      if (given?.[field] !== undefined) {
        invalidOption(`${component} ${field}`, 'nothing when peer is given (set it on the peer)', given[field]);
      }
    }
    return;
  }
  if (typeof o.tls !== 'boolean') invalidOption(`${component} tls`, 'a boolean', o.tls);
  if (typeof o.verifyCert !== 'boolean') invalidOption(`${component} verifyCert`, 'a boolean', o.verifyCert);
  if (o.sni !== undefined && typeof o.sni !== 'string') invalidOption(`${component} sni`, 'a string', o.sni);
  const cas = o.ca === undefined ? [] : typeof o.ca === 'string' ? [o.ca] : o.ca;
  if (!Array.isArray(cas) || cas.some((c) => typeof c !== 'string' || !c.includes('-----BEGIN'))) {
    invalidOption(`${component} ca`, 'a PEM string or an array of them', o.ca);
  }
}

// Matched on shape, not instanceof: a peer from another copy of core is as good.
function isPeer(value: unknown): value is HttpPeer {
  const p = value as Partial<HttpPeer> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.reuseKey === 'function' &&
    typeof p.address === 'object' &&
    typeof p.options === 'object' &&
    typeof p.sni === 'string'
  );
}

/** Whether the checks will speak TLS. */
export function usesTls(o: CheckPeerFields): boolean {
  return o.peer === undefined ? o.tls : o.peer.tls;
}

/**
 * The peer a check uses for `backend`: the template with the backend's address (as Pingora's
 * `peer_template`), everything else — TLS, SNI, proxy, client certificate, options — copied as
 * they are when the backend is first checked.
 * Without a template, the conveniences build the peer: SNI `sni`, or the backend's host when it
 * is a name; `ca` alone trusted when given (else Node's bundled roots); `verifyCert` for both
 * the chain and the name.
 */
export function checkPeerFactory(o: CheckPeerFields): (backend: Backend) => HttpPeer {
  const template = o.peer ?? conveniencePeer(o);
  const sniFromHost = o.peer === undefined && (o.sni === undefined || o.sni === '');
  return (backend) => {
    const sni = sniFromHost && isIP(backend.host) === 0 ? backend.host : template.sni;
    return new HttpPeer(backend, template.tls, sni, {
      ...(template.proxy === undefined ? {} : { proxy: template.proxy }),
      ...(template.clientCertKey === undefined ? {} : { clientCertKey: template.clientCertKey }),
      groupKey: template.groupKey,
      options: template.options,
    });
  };
}

function conveniencePeer(o: CheckPeerFields): HttpPeer {
  return new HttpPeer(TEMPLATE_ADDRESS, o.tls, o.sni ?? '', {
    options: {
      verifyCert: o.verifyCert,
      verifyHostname: o.verifyCert,
      ...(o.ca === undefined ? {} : { ca: o.ca, useSystemCerts: false }),
    },
  });
}
