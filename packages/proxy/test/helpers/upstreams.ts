import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { close, listen } from '@switchyard/testkit';

/**
 * How a test upstream answers:
 * - `ok`: 200 with a JSON echo of the request (`UpstreamEcho`), after reading the whole body.
 * - `fail`: 500. `503`: 503 with `Retry-After: 1`.
 * - `hang`: reads the request, never answers (the socket stays open until close()).
 * - `reset`: resets the connection (TCP RST) as soon as the request head arrives.
 * - `close-keepalive`: answers the first request of each connection like `ok` (keep-alive, no
 *   `Connection: close`), then drops the connection without a response when a second request
 *   arrives on it: what a client sees when it reuses a pooled socket the upstream has closed.
 */
export type UpstreamMode = 'ok' | 'fail' | 'hang' | '503' | 'reset' | 'close-keepalive';

/** What `ok` answers with. */
export interface UpstreamEcho {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: string[];
  readonly bodyBytes: number;
  readonly remoteAddress: string;
}

/** One request as the upstream saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: string[];
  readonly remoteAddress: string;
}

export interface TestUpstream {
  readonly name: string;
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** `host:port` (`[v6]:port`), as `HttpPeer.id`. */
  readonly id: string;
  /** Change the behaviour at any time. */
  mode: UpstreamMode;
  /** Replaces the mode's behaviour when set (the request is still counted). */
  handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Requests whose head arrived so far. */
  readonly requests: number;
  /** Every request seen, in order. */
  readonly seen: readonly SeenRequest[];
  /** Remote address of every accepted connection, in order. */
  readonly peers: readonly string[];
  /** Currently open sockets. */
  readonly sockets: ReadonlySet<Socket>;
  close(): Promise<void>;
}

export interface StartUpstreamOptions {
  readonly name?: string;
  readonly mode?: UpstreamMode;
  /** Listen address. @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** Serve HTTPS; `requestCert` with `ca` demands a client certificate signed by it. */
  readonly tls?: { cert: string; key: string; ca?: string; requestCert?: boolean };
  readonly handler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Server keep-alive timeout, ms. @defaultValue 5000 (Node's) */
  readonly keepAliveTimeout?: number;
}

let counter = 0;
const kServed = Symbol('served');

/** Starts one loopback upstream. */
export async function startUpstream(options: StartUpstreamOptions = {}): Promise<TestUpstream> {
  const name = options.name ?? `u${++counter}`;
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const seen: SeenRequest[] = [];
  const peers: string[] = [];
  let connections = 0;
  const tls = options.tls;
  const server: Server = tls
    ? (createHttpsServer({
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        requestCert: tls.requestCert ?? false,
        rejectUnauthorized: tls.requestCert ?? false,
      }) as unknown as Server)
    : createHttpServer();
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  const upstream: TestUpstream = {
    name,
    server,
    host,
    port: 0,
    id: '',
    mode: options.mode ?? 'ok',
    handler: options.handler,
    get connections() {
      return connections;
    },
    get requests() {
      return seen.length;
    },
    seen,
    peers,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return close(server);
    },
  };
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections++;
    peers.push(socket.remoteAddress ?? '');
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      remoteAddress: req.socket.remoteAddress ?? '',
    });
    if (upstream.handler) {
      upstream.handler(req, res);
      return;
    }
    answer(upstream, req, res);
  });
  const port = await listen(server, host);
  Object.assign(upstream, { port, id: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` });
  return upstream;
}

/** Starts `n` upstreams with the same options (names u-0…u-(n-1) unless named). */
export function startUpstreams(n: number, options: StartUpstreamOptions = {}): Promise<TestUpstream[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => startUpstream({ ...options, name: `${options.name ?? 'u'}-${i}` })),
  );
}

function answer(upstream: TestUpstream, req: IncomingMessage, res: ServerResponse): void {
  const mode = upstream.mode;
  if (mode === 'reset') {
    req.socket.resetAndDestroy();
    return;
  }
  if (mode === 'close-keepalive') {
    const socket = req.socket as Socket & { [kServed]?: boolean };
    if (socket[kServed]) {
      // The upstream "closed" this idle connection: the request gets nothing back.
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
    if (mode === 'fail' || mode === '503') {
      const status = mode === 'fail' ? 500 : 503;
      res.writeHead(status, { 'content-type': 'text/plain', ...(status === 503 ? { 'retry-after': '1' } : {}) });
      res.end(`${upstream.name} ${status}\n`);
      return;
    }
    const echo: UpstreamEcho = {
      name: upstream.name,
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
      'x-upstream': upstream.name,
    });
    res.end(body);
  });
}
