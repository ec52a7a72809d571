import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { CertKey } from '@switchyard/testkit';

/** A stream-level HTTP/2 test backend that counts sessions and the streams open on each. */
export interface H2RawBackend {
  readonly id: string;
  readonly port: number;
  /** Sessions accepted so far. */
  readonly sessions: number;
  /** Streams accepted so far. */
  readonly streams: number;
  /** The most streams open at once on any one session. */
  readonly maxPerSession: number;
  /** The most streams open at once over all sessions. */
  readonly maxActive: number;
  /** Answers each stream; the default echoes the request body once it ended. */
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
  close(): Promise<void>;
}

/** Starts an {@link H2RawBackend} on a loopback port: h2c, or TLS (ALPN h2 only) with `tls`. */
export async function startH2RawBackend(
  settings: { maxConcurrentStreams?: number } = {},
  tls?: CertKey,
): Promise<H2RawBackend> {
  const server: Http2Server | Http2SecureServer =
    tls === undefined ? createServer({ settings }) : createSecureServer({ settings, cert: tls.cert, key: tls.key });
  const open = new Map<ServerHttp2Session, number>();
  let active = 0;
  const sessions = new Set<ServerHttp2Session>();
  const b = {
    id: '',
    port: 0,
    sessions: 0,
    streams: 0,
    maxPerSession: 0,
    maxActive: 0,
    onStream: ((stream: ServerHttp2Stream) => echo(stream)) as H2RawBackend['onStream'],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
  server.on('session', (s: ServerHttp2Session) => {
    b.sessions++;
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => {});
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    b.streams++;
    const session = stream.session as ServerHttp2Session;
    const onSession = (open.get(session) ?? 0) + 1;
    open.set(session, onSession);
    active++;
    b.maxPerSession = Math.max(b.maxPerSession, onSession);
    b.maxActive = Math.max(b.maxActive, active);
    stream.on('error', () => {});
    stream.once('close', () => {
      active--;
      open.set(session, (open.get(session) ?? 1) - 1);
    });
    b.onStream(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return Object.assign(b, { id: `127.0.0.1:${port}`, port });
}

/** Answers `stream` with its own request body (200), once the body ended. */
export function echo(stream: ServerHttp2Stream): void {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    if (stream.closed) return;
    stream.respond({ ':status': 200 });
    stream.end(Buffer.concat(chunks));
  });
}
