import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import {
  type Backend,
  connectPeer,
  formatHostPort,
  type HttpPeer,
  invalidOption,
  type PeerOptions,
  resolveOptions,
} from '@switchyard/core';
import type { CheckResult, HealthCheck } from './check.js';
import { checkPeerFactory, validateCheckPeer } from './internal/check-peer.js';
import { deadline } from './internal/deadline.js';
import { callHealth, type HealthAnswer } from './internal/grpc-health-call.js';
import { reasonFor } from './internal/reason.js';

/** Options of {@link grpcCheck}. */
export interface GrpcCheckOptions {
  /**
   * The service whose status is asked (`HealthCheckRequest.service`); the empty string asks
   * about the server as a whole, by the protocol's convention.
   * @defaultValue ''
   */
  readonly service: string;
  /** `:authority` of the call. @defaultValue the backend id (`host:port`) */
  readonly authority: string | undefined;
  /**
   * Deadline for the whole check: connect, TLS, HTTP/2 handshake and the call, in ms (> 0, at most
   * 2^31 - 1). It is also sent as the call's `grpc-timeout`. @defaultValue 1000
   */
  readonly timeoutMs: number;
  /**
   * The peer template, as Pingora's `peer_template`: each backend is reached with this peer's TLS,
   * SNI, CONNECT proxy, client certificate and {@link PeerOptions}; only the address is the
   * backend's. A TLS peer always offers ALPN `h2` alone for the check (gRPC is HTTP/2 only); a
   * plain-text peer speaks HTTP/2 with prior knowledge (h2c). When given, `tls`, `sni`, `ca` and
   * `verifyCert` must not be.
   * @defaultValue undefined (a peer built from `tls`, `sni`, `ca` and `verifyCert`)
   */
  readonly peer: HttpPeer | undefined;
  /** Without `peer`: use TLS (h2); else h2c. @defaultValue false */
  readonly tls: boolean;
  /** Without `peer`: SNI for TLS. @defaultValue the backend host when it is a name, none for IPs */
  readonly sni: string | undefined;
  /** Without `peer`: the only trusted CA certificates (PEM). @defaultValue undefined (Node's bundled roots) */
  readonly ca: PeerOptions['ca'];
  /** Without `peer`: verify the server certificate chain and name. @defaultValue true */
  readonly verifyCert: boolean;
  /** Keep each backend's HTTP/2 connection open between checks. @defaultValue false */
  readonly reuseConnection: boolean;
}

/** Defaults of {@link grpcCheck}: the whole server's health, 1 s, a new connection per check. */
export const GRPC_CHECK_DEFAULTS: GrpcCheckOptions = Object.freeze({
  service: '',
  authority: undefined,
  timeoutMs: 1000,
  peer: undefined,
  tls: false,
  sni: undefined,
  ca: undefined,
  verifyCert: true,
  reuseConnection: false,
});

function validate(o: GrpcCheckOptions, given: Partial<GrpcCheckOptions> | undefined): void {
  validateCheckPeer('grpcCheck', o, given);
  if (typeof o.service !== 'string') invalidOption('grpcCheck service', 'a string', o.service);
  if (o.authority !== undefined && (typeof o.authority !== 'string' || o.authority === ''))
    invalidOption('grpcCheck authority', 'a non-empty string', o.authority);
  if (typeof o.reuseConnection !== 'boolean')
    invalidOption('grpcCheck reuseConnection', 'a boolean', o.reuseConnection);
}

/**
 * A check that calls the standard `grpc.health.v1.Health/Check` over HTTP/2 (h2 on TLS peers,
 * h2c on plain ones), connecting as traffic does (the shared connector with the peer's settings).
 * Passes when the call ends with `grpc-status` 0 and the answer is `SERVING`; `NOT_SERVING`,
 * `UNKNOWN`, another `grpc-status` (an unknown service is `5 (NOT_FOUND)`), a non-200 HTTP status,
 * a malformed answer, an error or the deadline fail it with a reason saying which. The connection
 * is closed after every check unless `reuseConnection`. `close()` closes every connection.
 * Throws `LB_ERR_INVALID_OPTION` on bad options.
 */
export function grpcCheck(options?: Partial<GrpcCheckOptions>): HealthCheck {
  const o = resolveOptions('grpcCheck', GRPC_CHECK_DEFAULTS, options, (r) => validate(r, options));
  const makePeer = checkPeerFactory(o);
  const peers = new Map<string, HttpPeer>();
  const sessions = new Map<string, ClientHttp2Session>();
  const peerFor = (backend: Backend): HttpPeer => {
    let peer = peers.get(backend.id);
    if (peer === undefined) {
      peer = makePeer(backend);
      // The check's own copy of the template: offering h2 alone changes no one else's peer.
      if (peer.tls) peer.options.alpn = 'h2';
      peers.set(backend.id, peer);
    }
    return peer;
  };
  const drop = (id: string): void => {
    sessions.get(id)?.destroy();
    sessions.delete(id);
  };
  return {
    check: async (backend, signal) => {
      const started = performance.now();
      const limit = deadline(o.timeoutMs, signal);
      const failed = (reason: string, status?: number): CheckResult => ({
        ok: false,
        reason,
        durationMs: performance.now() - started,
        ...(status === undefined ? {} : { status }),
      });
      let session: ClientHttp2Session | undefined;
      try {
        session = sessions.get(backend.id);
        if (session === undefined || session.closed || session.destroyed) {
          session = await openSession(peerFor(backend), limit.signal);
          if (o.reuseConnection) sessions.set(backend.id, session);
        }
        const answer = await callHealth(session, {
          scheme: peerFor(backend).scheme,
          authority: o.authority ?? backend.id,
          service: o.service,
          timeoutMs: o.timeoutMs,
          signal: limit.signal,
        });
        return verdict(answer, performance.now() - started);
      } catch (err) {
        if (o.reuseConnection) drop(backend.id);
        if (limit.timedOut()) return failed(`timeout after ${o.timeoutMs} ms`);
        if (signal?.aborted) return failed('check aborted');
        return failed(reasonFor(err, o.timeoutMs));
      } finally {
        limit.dispose();
        if (!o.reuseConnection) session?.destroy();
      }
    },
    release: async (backend) => {
      peers.delete(backend.id);
      drop(backend.id);
    },
    close: async () => {
      for (const id of [...sessions.keys()]) drop(id);
      peers.clear();
    },
  };
}

function verdict(answer: HealthAnswer, durationMs: number): CheckResult {
  if (answer.ok) return { ok: true, durationMs, status: answer.httpStatus };
  const failed: CheckResult = { ok: false, reason: answer.reason, durationMs };
  return answer.httpStatus === undefined ? failed : { ...failed, status: answer.httpStatus };
}

/** Connects as traffic does, then starts HTTP/2 on the socket; a TLS peer must have agreed to h2. */
async function openSession(peer: HttpPeer, signal: AbortSignal): Promise<ClientHttp2Session> {
  const socket = await connectPeer(peer, { signal });
  if (peer.tls && (socket as TLSSocket).alpnProtocol !== 'h2') {
    socket.destroy();
    const got = (socket as TLSSocket).alpnProtocol;
    throw new Error(`the backend did not agree to HTTP/2 (ALPN ${got === false ? 'none' : got})`);
  }
  const origin = `${peer.scheme}://${formatHostPort(peer.address.host, peer.address.port)}`;
  const session = h2connect(origin, { createConnection: () => socket, settings: { enablePush: false } });
  // Failures reach the call through its stream; the session's own error must not go unhandled.
  session.on('error', () => undefined);
  return session;
}
