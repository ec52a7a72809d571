import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { CertKey } from '@switchyard/testkit';

/** What an HTTP/2 test backend saw of one request. */
export interface H2Seen {
  readonly httpVersion: string;
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

/** A loopback HTTP/2 backend (h2c, or TLS with HTTP/1.1 allowed) that records every request. */
export interface H2Backend {
  readonly id: string;
  readonly port: number;
  readonly seen: H2Seen[];
  /** HTTP/2 sessions (connections) accepted so far. */
  readonly sessionsOpened: number;
  /** Answers each request once its body is in; the default echoes `name` and the body size. */
  handler: (req: Http2ServerRequest, res: Http2ServerResponse, seen: H2Seen) => void;
  close(): Promise<void>;
}

/** Starts an {@link H2Backend} named `name` on an OS-assigned loopback port. */
export async function startH2Backend(name: string, tls?: CertKey): Promise<H2Backend> {
  const server: Http2Server | Http2SecureServer =
    tls === undefined ? createServer() : createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true });
  const backend: H2Backend = {
    id: '',
    port: 0,
    seen: [],
    sessionsOpened: 0,
    handler: (_req, res, seen) => {
      res.setHeader('x-backend', name);
      res.end(`${name} ${seen.body.length}`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (s) => {
    (backend as { sessionsOpened: number }).sessionsOpened++;
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: H2Seen = {
        httpVersion: req.httpVersion,
        method: req.method,
        url: req.url,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      backend.seen.push(seen);
      backend.handler(req, res, seen);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return Object.assign(backend, { id: `127.0.0.1:${port}`, port });
}
