import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type Backend, backend } from '@switchyard/core';
import type { LoopbackBackend } from './loopback-backend.js';
import { close, hostPort, listen } from './net.js';

/**
 * How a {@link TestBackend} answers a request:
 * - `'ok'`: 200 with a JSON {@link BackendEcho} of the request, after reading the whole body.
 * - `'fail'`: 500. `'503'`: 503 with `Retry-After: 1`.
 * - `{ status, body }`: that status and body (empty unless given), after reading the request.
 * - `'hang'`: reads the request and never answers; the socket stays open until `stop()` or `close()`.
 * - `'reset'`: resets the connection (TCP RST) as soon as the request head arrives.
 * - `'close-on-reuse'`: answers the first request of each connection like `'ok'` (keep-alive), then
 *   drops the connection without a response when a second request arrives on it: what a client
 *   sees when it reuses a pooled socket the backend has closed.
 */
export type BackendMode =
  | 'ok'
  | 'fail'
  | '503'
  | 'hang'
  | 'reset'
  | 'close-on-reuse'
  | { readonly status: number; readonly body?: string };

/** The JSON body of an `'ok'` answer. */
export interface BackendEcho {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: string[];
  readonly bodyBytes: number;
  readonly remoteAddress: string;
}

/** One request as a {@link TestBackend} saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: string[];
  readonly remoteAddress: string;
}

/** One connection a {@link TestBackend} accepted (for HTTPS: one whose handshake completed). */
export interface AcceptedConnection {
  /** The client's source address. */
  readonly remoteAddress: string;
  /** The SNI the client sent; `false` (or `null`) when it sent none; `undefined` on plain HTTP. */
  readonly servername: string | false | null | undefined;
  /** Common name of the client certificate presented, if any. */
  readonly clientCn: string | undefined;
}

/**
 * A real HTTP(S) server on loopback whose answers a test can change at any time, that records what
 * it receives, and that can be stopped (its port then refuses) and restarted on the same port.
 * What its modes answer carries `X-Backend: <name>`; a `handler` answers as it likes.
 */
export interface TestBackend extends LoopbackBackend {
  /** The core {@link Backend} for {@link TestBackend.id}. */
  readonly backend: Backend;
  /** The server currently listening (a new one after `restart()`). */
  readonly server: Server;
  /** How the next requests are answered. */
  mode: BackendMode;
  /** Delay before a mode's answer, ms (after the request body has arrived). */
  delayMs: number;
  /** Replaces the mode's answer when set (the request is still recorded). */
  handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** Every request received, in order. */
  readonly requests: readonly SeenRequest[];
  /** Every accepted connection, in order: its source address, and for HTTPS its SNI and client certificate. */
  readonly accepted: readonly AcceptedConnection[];
  /** Connections open right now, as the server counts them. */
  openConnections(): Promise<number>;
  /** Same as `stop()`: for teardown. */
  close(): Promise<void>;
}

/** Options of {@link startBackend}. */
export interface TestBackendOptions {
  /** Reported in `X-Backend` and the echo. @defaultValue `b1`, `b2`, … */
  readonly name?: string;
  /** @defaultValue 'ok' */
  readonly mode?: BackendMode;
  /** Delay before a mode's answer, ms. @defaultValue 0 */
  readonly delayMs?: number;
  /** Listen address. @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** Serve HTTPS; `requestCert` with `ca` demands a client certificate signed by it. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca?: string; readonly requestCert?: boolean };
  readonly handler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Server keep-alive timeout, ms. @defaultValue 5000 (Node's) */
  readonly keepAliveTimeout?: number;
  /** Requests for this path do not count in `traffic()`. @defaultValue '/healthz' */
  readonly healthPath?: string;
}

let counter = 0;
const kServed = Symbol('served');

/** Starts a {@link TestBackend} on an OS-assigned port. */
export async function startBackend(options: TestBackendOptions = {}): Promise<TestBackend> {
  const name = options.name ?? `b${++counter}`;
  const host = options.host ?? '127.0.0.1';
  const healthPath = options.healthPath ?? '/healthz';
  const sockets = new Set<Socket>();
  const requests: SeenRequest[] = [];
  const accepted: AcceptedConnection[] = [];
  let server = make();
  const port = await listen(server, host);
  const id = hostPort(host, port);
  const stop = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    return close(server);
  };
  const self: TestBackend = {
    name,
    host,
    port,
    id,
    backend: backend(id),
    get server() {
      return server;
    },
    mode: options.mode ?? 'ok',
    delayMs: options.delayMs ?? 0,
    handler: options.handler,
    requests,
    traffic: () => requests.filter((r) => r.url !== healthPath).length,
    get connections() {
      return accepted.length;
    },
    accepted,
    sockets,
    openConnections: () =>
      new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    stop,
    restart: async () => {
      server = make();
      await listen(server, host, port);
    },
    close: stop,
  };
  return self;

  function make(): Server {
    const tls = options.tls;
    const created: Server = tls
      ? (createHttpsServer({
          cert: tls.cert,
          key: tls.key,
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
          requestCert: tls.requestCert ?? false,
          rejectUnauthorized: tls.requestCert ?? false,
        }) as unknown as Server)
      : createHttpServer();
    if (options.keepAliveTimeout !== undefined) created.keepAliveTimeout = options.keepAliveTimeout;
    created.on(tls ? 'secureConnection' : 'connection', (socket: Socket | TLSSocket) => {
      const cn = 'getPeerCertificate' in socket ? socket.getPeerCertificate().subject?.CN : undefined;
      accepted.push({
        remoteAddress: socket.remoteAddress ?? '',
        servername: 'servername' in socket ? socket.servername : undefined,
        clientCn: typeof cn === 'string' ? cn : undefined,
      });
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    created.on('request', (req: IncomingMessage, res: ServerResponse) => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        remoteAddress: req.socket.remoteAddress ?? '',
      });
      if (self.handler) self.handler(req, res);
      else answer(self, req, res);
    });
    return created;
  }
}

function answer(self: TestBackend, req: IncomingMessage, res: ServerResponse): void {
  const mode = self.mode;
  if (mode === 'reset') {
    req.socket.resetAndDestroy();
    return;
  }
  if (mode === 'close-on-reuse') {
    const socket = req.socket as Socket & { [kServed]?: boolean };
    if (socket[kServed]) {
      // The backend "closed" this idle connection: the request gets nothing back.
      socket.destroy();
      return;
    }
    socket[kServed] = true;
  }
  let bodyBytes = 0;
  req.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
  });
  req.on('end', () => {
    if (mode === 'hang') return;
    if (self.delayMs > 0) setTimeout(() => reply(self, req, res, mode, bodyBytes), self.delayMs);
    else reply(self, req, res, mode, bodyBytes);
  });
}

function reply(
  self: TestBackend,
  req: IncomingMessage,
  res: ServerResponse,
  mode: Exclude<BackendMode, 'hang' | 'reset'>,
  bodyBytes: number,
): void {
  if (typeof mode === 'object') {
    res.writeHead(mode.status, { 'x-backend': self.name });
    res.end(mode.body ?? '');
    return;
  }
  if (mode === 'fail' || mode === '503') {
    const status = mode === 'fail' ? 500 : 503;
    res.writeHead(status, {
      'content-type': 'text/plain',
      'x-backend': self.name,
      ...(status === 503 ? { 'retry-after': '1' } : {}),
    });
    res.end(`${self.name} ${status}\n`);
    return;
  }
  const echo: BackendEcho = {
    name: self.name,
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    bodyBytes,
    remoteAddress: req.socket.remoteAddress ?? '',
  };
  const body = JSON.stringify(echo);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-backend': self.name,
  });
  res.end(body);
}
