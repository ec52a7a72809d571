import type { Server } from 'node:http';
import {
  constants,
  createServer as createHttp2Server,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ProxyServerOptions } from '../../proxy-app.js';
import { Exchange } from './forward-exchange.js';
import { isGrpcCall } from './grpc-call.js';
import { H2Downstream } from './h2-downstream.js';
import { guardSession, h2ServerOptions, headListTooLarge, refuseLargeHead } from './h2-limits.js';
import { h2RequestProblem } from './h2-request-rules.js';
import { bindSessionSocket } from './h2-session-socket.js';
import { boundFirstHeaders, boundRequest } from './h2-stream-timeouts.js';
import type { ServerState } from './server-state.js';

/** The HTTP/2 connection preface a client sends first (RFC 9113 §3.4). */
export const H2_PREFACE: Buffer = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** The ALPN protocols a TLS listener offers with HTTP/2 on, most preferred first. */
export const H2_ALPN: readonly string[] = Object.freeze(['h2', 'http/1.1']);

type ConnectionListener = (this: unknown, socket: Socket) => void;

const kOpenStreams = Symbol('switchyard.openStreams');

type CountedSession = ServerHttp2Session & { [kOpenStreams]?: number };

/**
 * The HTTP/2 side of a proxy server: a `node:http2` server that never listens itself. The
 * `node:http(s)` server keeps accepting every connection and hands over those that speak
 * HTTP/2 — after ALPN `h2` on TLS, or after the connection preface on cleartext with `h2c` —
 * so HTTP/1.1 connections keep Node's HTTP/1.1 server unchanged. Every stream of a session is
 * one request through its own {@link Exchange}, served from the core `'stream'` event: no
 * `'request'` listener is ever registered (one would make `node:http2` build its compatibility
 * request and response for every stream); an app's phase that reads `session.request` or
 * `session.response` builds them for its stream alone.
 */
export class H2Listener<C> {
  readonly #server: Http2Server;
  readonly #sessions = new Set<ServerHttp2Session>();
  /** The connection being handed to the HTTP/2 server ('session' is emitted while it is). */
  #handing: Socket | undefined;

  constructor(state: ServerState<C>, o: ProxyServerOptions) {
    // Every per-connection limit (streams, resets, invalid frames, header lists) is set in h2-limits.
    this.#server = createHttp2Server(h2ServerOptions(o));
    this.#server.on('session', (session: CountedSession) => {
      const socket = this.#handing;
      if (socket !== undefined) bindSessionSocket(session, socket);
      guardSession(session, socket);
      boundFirstHeaders(session, o.headersTimeout);
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      // A session error (a broken connection) ends its streams, which report it themselves.
      session.on('error', noop);
      // keepAliveTimeout as for HTTP/1.1: a connection idle that long with no request in flight is
      // closed (GOAWAY). A quiet stream (a long poll, a gRPC stream between messages) keeps it open.
      if (o.keepAliveTimeout > 0) {
        session.setTimeout(o.keepAliveTimeout, () => {
          if ((session[kOpenStreams] ?? 0) === 0) session.close();
        });
      }
      if (state.closing) session.close();
    });
    this.#server.on(
      'stream',
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) =>
        onStream(state, o, stream, headers, raw),
    );
  }

  /** Open HTTP/2 sessions (downstream connections). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** TLS: connections that negotiated `h2` become HTTP/2 sessions; the rest stay with `server`. */
  attachTls(server: Server): void {
    const h1 = takeListeners(server, 'secureConnection');
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol === 'h2') this.#handOver(socket);
      else for (const listener of h1) listener.call(server, socket);
    });
  }

  /**
   * Cleartext: each connection's first bytes are read until they either differ from the HTTP/2
   * preface (HTTP/1.1, usually at the first byte) or match all 24 bytes (HTTP/2 with prior
   * knowledge); what was read is put back and the socket handed on. A connection that sends
   * too little within `headersTimeout` is closed.
   */
  attachCleartext(server: Server, headersTimeout: number): void {
    const h1 = takeListeners(server, 'connection');
    const toH1 = (socket: Socket) => {
      for (const listener of h1) listener.call(server, socket);
    };
    const toH2 = (socket: Socket) => this.#handOver(socket);
    server.on('connection', (socket: Socket) => sniffPreface(socket, headersTimeout, toH1, toH2));
  }

  /** Makes `socket` an HTTP/2 session: `node:http2` builds it (and emits 'session') synchronously. */
  #handOver(socket: Socket): void {
    this.#handing = socket;
    try {
      this.#server.emit('connection', socket);
    } finally {
      this.#handing = undefined;
    }
  }

  /** Graceful: every session is sent GOAWAY; its open streams may finish. */
  close(): void {
    for (const session of this.#sessions) session.close();
  }

  /** Cuts every session at once. */
  destroy(): void {
    for (const session of this.#sessions) session.destroy();
    this.#sessions.clear();
  }
}

/** One request stream: refused, answered at once, or run through its own {@link Exchange}. */
function onStream<C>(
  state: ServerState<C>,
  o: ProxyServerOptions,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  raw: string[],
): void {
  // A stream closed with an error code (reset by either side) emits 'error': the close reports it.
  stream.on('error', noop);
  // What node:http2's compatibility layer answers before any handler: CONNECT is not served
  // (405), and an expectation other than 100-continue cannot be met (417).
  if (headers[':method'] === 'CONNECT') {
    stream.respond({ ':status': constants.HTTP_STATUS_METHOD_NOT_ALLOWED }, { endStream: true });
    return;
  }
  const expect = headers.expect;
  if (expect !== undefined) {
    if (expect !== '100-continue') {
      stream.respond({ ':status': constants.HTTP_STATUS_EXPECTATION_FAILED }, { endStream: true });
      return;
    }
    stream.additionalHeaders({ ':status': constants.HTTP_STATUS_CONTINUE });
  }
  if (headListTooLarge(raw, o.maxHeaderSize)) {
    refuseLargeHead(stream);
    return;
  }
  const problem = h2RequestProblem(raw);
  if (problem !== undefined) {
    state.logger.debug({ problem }, 'malformed HTTP/2 request refused');
    stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  const session = stream.session as CountedSession | undefined;
  if (session !== undefined) {
    session[kOpenStreams] = (session[kOpenStreams] ?? 0) + 1;
    stream.on('close', onCountedStreamClose);
  }
  const downstream = new H2Downstream(stream, headers, raw);
  boundRequest(downstream, o.requestTimeout, isGrpcCall(headers));
  new Exchange(state, downstream, undefined).start();
}

/** A stream counted in its session's open streams closed (`this` is the stream). */
function onCountedStreamClose(this: ServerHttp2Stream): void {
  const session = this.session as CountedSession | undefined;
  if (session !== undefined) session[kOpenStreams] = (session[kOpenStreams] ?? 1) - 1;
}

function takeListeners(server: Server, event: string): ConnectionListener[] {
  const listeners = server.listeners(event) as ConnectionListener[];
  server.removeAllListeners(event);
  return listeners;
}

/** Reads `socket` until its protocol is known (at most the 24 preface bytes), then hands it on. */
function sniffPreface(
  socket: Socket,
  timeoutMs: number,
  toH1: (socket: Socket) => void,
  toH2: (socket: Socket) => void,
): void {
  let seen: Buffer | undefined;
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const settle = (h2: boolean) => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', noop);
    socket.pause();
    if (seen !== undefined) socket.unshift(seen);
    if (h2) toH2(socket);
    else toH1(socket);
    // The new owner has its listeners in place: let the bytes put back flow to it.
    process.nextTick(() => socket.resume());
  };
  const onData = (data: Buffer) => {
    seen = seen === undefined ? data : Buffer.concat([seen, data]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    if (seen.compare(H2_PREFACE, 0, n, 0, n) !== 0) settle(false);
    else if (n === H2_PREFACE.length) settle(true);
  };
  const onClose = () => clearTimeout(timer);
  socket.on('data', onData);
  socket.on('close', onClose);
  // Until an owner takes it, a socket error only closes it.
  socket.on('error', noop);
}

function noop(): void {}
