import { performance } from 'node:perf_hooks';
import {
  type Backend,
  connectPeer,
  type HttpPeer,
  invalidOption,
  type PeerOptions,
  resolveOptions,
} from '@switchyard/core';
import type { CheckResult, HealthCheck } from './check.js';
import { checkPeerFactory, usesTls, validateCheckPeer } from './internal/check-peer.js';
import { deadline } from './internal/deadline.js';
import { reasonFor } from './internal/reason.js';

/** Options of {@link tcpCheck}. */
export interface TcpCheckOptions {
  /**
   * Deadline for the whole connect (TCP, CONNECT tunnel, TLS handshake) in ms (> 0, at most
   * 2^31 - 1), like Pingora's `connection_timeout`; the peer's own connect timeouts apply too.
   * @defaultValue 1000
   */
  readonly timeoutMs: number;
  /**
   * The peer template, as Pingora's `peer_template`: each backend is reached with this peer's
   * TLS, SNI, CONNECT proxy, client certificate and {@link PeerOptions} (`bindTo`, `ca`,
   * `verifyHostname`, `alternativeCn`, timeouts, …) exactly as traffic to it would be; only
   * the address is the backend's. When given, `tls`, `sni`, `ca` and `verifyCert` must not be.
   * @defaultValue undefined (a peer built from `tls`, `sni`, `ca` and `verifyCert`)
   */
  readonly peer: HttpPeer | undefined;
  /** Without `peer`: perform a TLS handshake after connecting. @defaultValue false */
  readonly tls: boolean;
  /** Without `peer`: SNI for the handshake. @defaultValue the backend host when it is a name, none for IPs */
  readonly sni: string | undefined;
  /** Without `peer`: the only trusted CA certificates (PEM). @defaultValue undefined (Node's bundled roots) */
  readonly ca: PeerOptions['ca'];
  /** Without `peer`: verify the server certificate chain and name. @defaultValue true */
  readonly verifyCert: boolean;
  /**
   * Close a passing check's connection with a TCP reset (`SO_LINGER` 0) instead of a FIN, as
   * HAProxy and keepalived do: the checker then keeps no `TIME_WAIT` socket per check (60 s each
   * on Linux: 60,000 of them for 1,000 backends checked every second), and the backend sees
   * `ECONNRESET` instead of an orderly close. Plain TCP only: `true` with TLS is rejected.
   * @defaultValue false (a FIN, as Pingora's check drops its connection)
   */
  readonly reset: boolean;
}

/** Defaults of {@link tcpCheck}: Pingora's `TcpHealthCheck` (1 s connect timeout, plain TCP). */
export const TCP_CHECK_DEFAULTS: TcpCheckOptions = Object.freeze({
  timeoutMs: 1000,
  peer: undefined,
  tls: false,
  sni: undefined,
  ca: undefined,
  verifyCert: true,
  reset: false,
});

function validate(o: TcpCheckOptions, given: Partial<TcpCheckOptions> | undefined): void {
  validateCheckPeer('tcpCheck', o, given);
  if (typeof o.reset !== 'boolean') invalidOption('tcpCheck reset', 'a boolean', o.reset);
  // Node has no way to reset the TCP connection under a TLS socket (resetting it crashed Node 20).
  if (o.reset && usesTls(o)) {
    const when = o.peer === undefined ? 'tls is set' : 'the peer uses TLS';
    invalidOption('tcpCheck reset', `false when ${when} (a reset is plain TCP only)`, o.reset);
  }
}

/**
 * A check that connects to the backend the way traffic does (through the shared connector:
 * `bindTo`, CONNECT proxy, TLS handshake with the peer's settings), then closes the connection
 * (with a reset when `reset` is set). Passes when the connection (and handshake) succeeds within
 * `timeoutMs`. Holds no connections between checks. Throws `LB_ERR_INVALID_OPTION` on bad options.
 */
export function tcpCheck(options?: Partial<TcpCheckOptions>): HealthCheck {
  const o = resolveOptions('tcpCheck', TCP_CHECK_DEFAULTS, options, (r) => validate(r, options));
  const makePeer = checkPeerFactory(o);
  // One peer per backend, so the connector's per-peer TLS context is built once, not per check.
  const peers = new Map<string, HttpPeer>();
  const peerFor = (backend: Backend): HttpPeer => {
    let peer = peers.get(backend.id);
    if (peer === undefined) {
      peer = makePeer(backend);
      peers.set(backend.id, peer);
    }
    return peer;
  };
  return {
    check: (backend, signal) => probe(peerFor(backend), o, signal),
    release: async (backend) => {
      peers.delete(backend.id);
    },
    close: async () => {
      peers.clear();
    },
  };
}

async function probe(peer: HttpPeer, o: TcpCheckOptions, signal: AbortSignal | undefined): Promise<CheckResult> {
  const started = performance.now();
  const limit = deadline(o.timeoutMs, signal);
  const failed = (reason: string): CheckResult => ({ ok: false, reason, durationMs: performance.now() - started });
  try {
    const socket = await connectPeer(peer, { signal: limit.signal });
    if (o.reset) socket.resetAndDestroy();
    else socket.destroy();
    return { ok: true, durationMs: performance.now() - started };
  } catch (err) {
    if (limit.timedOut()) return failed(`timeout after ${o.timeoutMs} ms`);
    if (limit.signal.aborted) return failed('check aborted');
    return failed(reasonFor(err, o.timeoutMs));
  } finally {
    limit.dispose();
  }
}
