import { createServer, type Server, type Socket } from 'node:net';
import { readRequest, type WireRequest } from './http1-wire.js';
import type { LoopbackBackend } from './loopback-backend.js';
import { hostPort } from './net.js';

/**
 * How a {@link FaultBackend} treats what it receives. Every mode that answers at all answers the
 * health path with 200.
 * - `'ok'`: answers 200 (after `delayMs`), honouring keep-alive.
 * - `'reset'`: accepts the TCP connection and resets it at once (RST), reading nothing.
 * - `'hang'`: reads the request and never answers; the socket stays open until the peer closes it.
 * - `'503'`: answers 503.
 * - `'close-on-reuse'`: answers the first request of a connection with keep-alive, then destroys the
 *   connection without answering when a second request arrives on it (a stale pooled socket).
 * - `'slow-body'`: sends the head and the first half of the body at once, the rest `delayMs` later.
 * - `'truncated-body'`: declares a `Content-Length` 16 bytes longer than the body it sends, then closes.
 * - `'bad-framing'`: answers with both `Content-Length` and `Transfer-Encoding: chunked`, then closes.
 * - `'raw'`: writes exactly the bytes `rawResponse` returns for the request, and nothing else; the
 *   connection stays open (the bytes decide what a reader makes of it) unless it returns `close`.
 */
export type FaultMode =
  | 'ok'
  | 'reset'
  | 'hang'
  | '503'
  | 'close-on-reuse'
  | 'slow-body'
  | 'truncated-body'
  | 'bad-framing'
  | 'raw';

/** What `'raw'` mode writes for one request: bytes, and whether to close the connection after them. */
export interface RawAnswer {
  readonly bytes: string | Buffer;
  /** End the connection (FIN) after the bytes. @defaultValue false */
  readonly close?: boolean;
}

/** One request as it arrived on the wire at a backend. */
export interface ReceivedRequest extends Omit<WireRequest, 'end'> {
  readonly backend: string;
  readonly connection: number;
  /** 0 for the first request on its connection. */
  readonly indexOnConnection: number;
  readonly at: number;
}

/** Something a strict HTTP/1.1 reader would refuse: it proves the proxy forwarded an ambiguous message. */
export interface Anomaly {
  readonly backend: string;
  readonly connection: number;
  readonly reason: string;
  readonly raw: string;
}

/** Options of {@link startFaultBackend}. */
export interface FaultBackendOptions {
  readonly name: string;
  /** @defaultValue 'ok' */
  readonly mode?: FaultMode;
  /** Delay before answering in `'ok'` mode, and between the body halves in `'slow-body'`, ms. @defaultValue 0 */
  readonly delayMs?: number;
  /** Path answered 200 in every mode that answers. @defaultValue '/healthz' */
  readonly healthPath?: string;
  /** Port to listen on; 0 picks one. @defaultValue 0 */
  readonly port?: number;
  /** @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** The answer of `'raw'` mode to each request (the health path included). */
  readonly rawResponse?: (request: ReceivedRequest) => RawAnswer;
}

/**
 * A loopback HTTP/1.1 backend on raw sockets that records exactly what it receives, refuses (and
 * records as an {@link Anomaly}) what a strict reader would refuse, and misbehaves on demand.
 */
export interface FaultBackend extends LoopbackBackend {
  mode: FaultMode;
  delayMs: number;
  /** The answer of `'raw'` mode; replaceable between requests. */
  rawResponse: ((request: ReceivedRequest) => RawAnswer) | undefined;
  readonly requests: ReceivedRequest[];
  readonly anomalies: Anomaly[];
}

/** The path `startServe` probes readiness with; not counted as traffic. */
export const PROBE_PATH = '/__probe';

/** Starts a {@link FaultBackend} on loopback. */
export async function startFaultBackend(options: FaultBackendOptions): Promise<FaultBackend> {
  const host = options.host ?? '127.0.0.1';
  const healthPath = options.healthPath ?? '/healthz';
  const sockets = new Set<Socket>();
  let connections = 0;
  let port = options.port ?? 0;
  let server: Server | undefined;

  const self: FaultBackend = {
    name: options.name,
    host,
    get port() {
      return port;
    },
    get id() {
      return hostPort(host, port);
    },
    mode: options.mode ?? 'ok',
    delayMs: options.delayMs ?? 0,
    rawResponse: options.rawResponse,
    requests: [],
    anomalies: [],
    traffic: () => self.requests.filter((r) => r.target !== healthPath && r.target !== PROBE_PATH).length,
    get connections() {
      return connections;
    },
    sockets,
    stop,
    restart: () => listenOn(port),
  };

  function head(status: string, length: string, close: boolean): string {
    return (
      `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nX-Backend: ${self.name}\r\n` +
      `${length}\r\nConnection: ${close ? 'close' : 'keep-alive'}\r\n\r\n`
    );
  }

  function respond(socket: Socket, status: string, body: string, close: boolean): void {
    if (socket.destroyed) return;
    socket.write(head(status, `Content-Length: ${Buffer.byteLength(body)}`, close) + body);
    if (close) socket.end();
  }

  function onConnection(socket: Socket): void {
    const id = ++connections;
    if (self.mode === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    let index = 0;
    let busy = false;

    function pump(): void {
      for (let guard = 0; guard < 1000 && !busy && !socket.destroyed; guard++) {
        const read = readRequest(buf);
        if (read === undefined) return;
        if (typeof read === 'string') {
          self.anomalies.push({
            backend: self.name,
            connection: id,
            reason: read,
            raw: buf.toString('latin1').slice(0, 2048),
          });
          respond(socket, '400 Bad Request', '{"error":"backend refused an ambiguous message"}', true);
          return;
        }
        buf = buf.subarray(read.end);
        const { end: _end, ...wire } = read;
        const request: ReceivedRequest = {
          backend: self.name,
          connection: id,
          indexOnConnection: index++,
          at: Date.now(),
          ...wire,
        };
        self.requests.push(request);
        handle(request);
      }
    }

    /** Answers after `ms` (now when 0), holding later pipelined requests back until then. */
    function later(ms: number, answer: () => void): void {
      if (ms <= 0) {
        answer();
        return;
      }
      busy = true;
      setTimeout(() => {
        busy = false;
        answer();
        pump();
      }, ms);
    }

    function handle(request: ReceivedRequest): void {
      const close = request.headers.some(([n, v]) => n.toLowerCase() === 'connection' && /close/i.test(v));
      const payload = JSON.stringify({ backend: self.name, path: request.target, n: self.requests.length });
      if (self.mode === 'raw') {
        const answer = self.rawResponse?.(request) ?? { bytes: '', close: true };
        if (answer.close === true) socket.end(answer.bytes);
        else socket.write(answer.bytes);
        return;
      }
      if (request.target === healthPath && self.mode !== 'hang') {
        respond(socket, '200 OK', payload, close);
        return;
      }
      switch (self.mode) {
        case 'hang':
          busy = true;
          return;
        case '503':
          respond(socket, '503 Service Unavailable', payload, close);
          return;
        case 'close-on-reuse':
          if (request.indexOnConnection > 0) socket.destroy();
          else respond(socket, '200 OK', payload, close);
          return;
        case 'slow-body': {
          const half = Math.floor(payload.length / 2);
          socket.write(head('200 OK', `Content-Length: ${Buffer.byteLength(payload)}`, close) + payload.slice(0, half));
          later(Math.max(1, self.delayMs), () => {
            if (socket.destroyed) return;
            socket.write(payload.slice(half));
            if (close) socket.end();
          });
          return;
        }
        case 'truncated-body':
          socket.end(head('200 OK', `Content-Length: ${Buffer.byteLength(payload) + 16}`, true) + payload);
          return;
        case 'bad-framing': {
          const length = Buffer.byteLength(payload);
          const framing = `Content-Length: ${length}\r\nTransfer-Encoding: chunked`;
          socket.end(`${head('200 OK', framing, true)}${length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`);
          return;
        }
        default:
          later(self.delayMs, () => respond(socket, '200 OK', payload, close));
      }
    }

    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      pump();
    });
  }

  function listenOn(wanted: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const next = createServer({ noDelay: true }, onConnection);
      next.once('error', reject);
      next.listen(wanted, host, () => {
        next.off('error', reject);
        const address = next.address();
        if (address !== null && typeof address === 'object') port = address.port;
        server = next;
        resolve();
      });
    });
  }

  function stop(): Promise<void> {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (current === undefined) return Promise.resolve();
    return new Promise((resolve) => current.close(() => resolve()));
  }

  await listenOn(port);
  return self;
}
