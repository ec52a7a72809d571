import { createServer, type Server, type Socket } from 'node:net';

/**
 * How a {@link FaultBackend} treats what it receives.
 * - `ok`: answers 200 (after `delayMs`), honouring keep-alive.
 * - `reset`: accepts the TCP connection and resets it at once (RST), reading nothing.
 * - `hang`: reads the request and never answers; the socket stays open until the peer closes it.
 * - `status503`: answers 503 to every request except the health path, which gets 200.
 * - `close-on-reuse`: answers the first request of a connection with keep-alive, then destroys the
 *   connection without answering when a second request arrives on it (a stale pooled socket).
 */
export type FaultMode = 'ok' | 'reset' | 'hang' | 'status503' | 'close-on-reuse';

/** One request as it arrived on the wire at a backend. */
export interface ReceivedRequest {
  readonly backend: string;
  readonly connection: number;
  /** 0 for the first request on its connection. */
  readonly indexOnConnection: number;
  readonly at: number;
  /** The head exactly as received, up to and including the blank line. */
  readonly rawHead: string;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Header fields in order, names as received. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

/** Something a strict HTTP/1.1 reader would refuse: it proves the proxy forwarded an ambiguous message. */
export interface Anomaly {
  readonly backend: string;
  readonly connection: number;
  readonly reason: string;
  readonly raw: string;
}

export interface FaultBackendOptions {
  readonly name: string;
  readonly mode?: FaultMode;
  /** Delay before answering in `ok` mode, ms. @defaultValue 0 */
  readonly delayMs?: number;
  /** Path answered 200 in every mode that answers. @defaultValue '/healthz' */
  readonly healthPath?: string;
  /** Port to listen on; 0 picks one. @defaultValue 0 */
  readonly port?: number;
  readonly host?: string;
}

/** A loopback HTTP/1.1 backend on raw sockets that records exactly what it receives and can misbehave on demand. */
export interface FaultBackend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`, the backend id the proxy uses. */
  readonly address: string;
  mode: FaultMode;
  delayMs: number;
  readonly requests: ReceivedRequest[];
  readonly anomalies: Anomaly[];
  /** Requests that were not for the health path nor the readiness probe of `startServe`. */
  trafficCount(): number;
  /** Connections accepted since start (including reset ones). */
  readonly accepted: () => number;
  /** Sockets currently open. */
  openSockets(): number;
  /** Stops listening and destroys every socket (the backend is "down"). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

/** The path `startServe` probes readiness with; not counted as traffic. */
export const PROBE_PATH = '/__probe';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_HEAD = 64 * 1024;

interface Framing {
  readonly kind: 'none' | 'length' | 'chunked';
  readonly length: number;
}

function framingOf(headers: readonly (readonly [string, string])[]): Framing | string {
  const lengths = headers.filter(([n]) => n.toLowerCase() === 'content-length').map(([, v]) => v);
  const encodings = headers.filter(([n]) => n.toLowerCase() === 'transfer-encoding').map(([, v]) => v);
  if (lengths.length > 0 && encodings.length > 0) return 'both Content-Length and Transfer-Encoding';
  if (encodings.length > 0) {
    const codings = encodings
      .join(',')
      .split(',')
      .map((c) => c.trim().toLowerCase());
    if (codings.length !== 1 || codings[0] !== 'chunked') return `Transfer-Encoding ${encodings.join(', ')}`;
    return { kind: 'chunked', length: 0 };
  }
  if (lengths.length > 1) return `${lengths.length} Content-Length fields`;
  const only = lengths[0];
  if (only === undefined) return { kind: 'none', length: 0 };
  if (!/^[0-9]{1,15}$/.test(only)) return `Content-Length ${JSON.stringify(only)}`;
  return { kind: 'length', length: Number(only) };
}

/** Parses one chunked body from `buf` at `start`; returns the body and the end offset, `undefined` if incomplete, or a reason. */
function readChunked(buf: Buffer, start: number): { body: Buffer; end: number } | string | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (let i = 0; i < 100_000; i++) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) return buf.length - at > 1024 ? 'chunk-size line too long' : undefined;
    const sizeText = buf.subarray(at, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return `chunk size ${JSON.stringify(sizeText)}`;
    const size = Number.parseInt(sizeText, 16);
    at = lineEnd + 2;
    if (size === 0) {
      // Trailer section: lines until an empty one.
      for (let j = 0; j < 100; j++) {
        const end = buf.indexOf('\r\n', at);
        if (end < 0) return undefined;
        if (end === at) return { body: Buffer.concat(parts), end: end + 2 };
        at = end + 2;
      }
      return 'too many trailer lines';
    }
    if (buf.length < at + size + 2) return undefined;
    parts.push(buf.subarray(at, at + size));
    if (buf[at + size] !== 13 || buf[at + size + 1] !== 10) return 'chunk data not followed by CRLF';
    at += size + 2;
  }
  return 'too many chunks';
}

function parseHead(
  raw: string,
): { method: string; target: string; version: string; headers: [string, string][] } | string {
  if (/[^\r]\n/.test(raw) || raw.startsWith('\n')) return 'bare LF in head';
  const lines = raw.slice(0, -4).split('\r\n');
  const [method, target, version, extra] = (lines[0] ?? '').split(' ');
  if (extra !== undefined || method === undefined || !TOKEN.test(method) || !target || version !== 'HTTP/1.1') {
    return `request line ${JSON.stringify(lines[0])}`;
  }
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) return 'obs-fold';
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    if (!TOKEN.test(name)) return `header line ${JSON.stringify(line)}`;
    const value = line.slice(colon + 1).trim();
    if (/[\0\r\n]/.test(value)) return `header value of ${name}`;
    headers.push([name, value]);
  }
  return { method, target, version, headers };
}

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
    get address() {
      return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    },
    mode: options.mode ?? 'ok',
    delayMs: options.delayMs ?? 0,
    requests: [],
    anomalies: [],
    trafficCount: () => self.requests.filter((r) => r.target !== healthPath && r.target !== PROBE_PATH).length,
    accepted: () => connections,
    openSockets: () => sockets.size,
    stop,
    restart: () => listenOn(port),
  };

  function respond(socket: Socket, status: number, reason: string, body: string, close: boolean): void {
    if (socket.destroyed) return;
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nX-Backend: ${self.name}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: ${close ? 'close' : 'keep-alive'}\r\n\r\n${body}`,
    );
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
        const headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) {
          if (buf.length > MAX_HEAD) reject('head larger than 64 KiB', buf);
          return;
        }
        const rawHead = buf.subarray(0, headEnd + 4).toString('latin1');
        const head = parseHead(rawHead);
        if (typeof head === 'string') {
          reject(head, buf);
          return;
        }
        const framing = framingOf(head.headers);
        if (typeof framing === 'string') {
          reject(framing, buf);
          return;
        }
        let body: Buffer;
        let end: number;
        if (framing.kind === 'chunked') {
          const chunked = readChunked(buf, headEnd + 4);
          if (chunked === undefined) return;
          if (typeof chunked === 'string') {
            reject(chunked, buf);
            return;
          }
          body = chunked.body;
          end = chunked.end;
        } else {
          end = headEnd + 4 + framing.length;
          if (buf.length < end) return;
          body = buf.subarray(headEnd + 4, end);
        }
        buf = buf.subarray(end);
        const request: ReceivedRequest = {
          backend: self.name,
          connection: id,
          indexOnConnection: index++,
          at: Date.now(),
          rawHead,
          ...head,
          body: Buffer.from(body),
        };
        self.requests.push(request);
        handle(request);
      }
    }

    function reject(reason: string, data: Buffer): void {
      self.anomalies.push({ backend: self.name, connection: id, reason, raw: data.toString('latin1').slice(0, 2048) });
      respond(socket, 400, 'Bad Request', '{"error":"backend refused an ambiguous message"}', true);
    }

    function handle(request: ReceivedRequest): void {
      const close = request.headers.some(([n, v]) => n.toLowerCase() === 'connection' && /close/i.test(v));
      const payload = JSON.stringify({ backend: self.name, path: request.target, n: self.requests.length });
      if (request.target === healthPath && self.mode !== 'hang') {
        respond(socket, 200, 'OK', payload, close);
        return;
      }
      switch (self.mode) {
        case 'hang':
          busy = true;
          return;
        case 'status503':
          respond(socket, 503, 'Service Unavailable', payload, close);
          return;
        case 'close-on-reuse':
          if (request.indexOnConnection > 0) {
            socket.destroy();
            return;
          }
          respond(socket, 200, 'OK', payload, close);
          return;
        default: {
          if (self.delayMs <= 0) {
            respond(socket, 200, 'OK', payload, close);
            return;
          }
          busy = true;
          setTimeout(() => {
            busy = false;
            respond(socket, 200, 'OK', payload, close);
            pump();
          }, self.delayMs);
        }
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

/** Stops every backend, ignoring ones already stopped. */
export async function stopAll(backends: readonly FaultBackend[]): Promise<void> {
  await Promise.all(backends.map((b) => b.stop()));
}
