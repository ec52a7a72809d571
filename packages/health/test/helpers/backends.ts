import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { type Backend, backend } from '@switchyard/core';
import { type CertKey, close, listen } from '@switchyard/testkit';

/** How a test backend answers: 200, a given status, never (hang), or by closing the socket. */
export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'hang' }
  | { kind: 'reset' };

/** A real HTTP(S) server on 127.0.0.1 whose answers a test can change, and that can be killed and revived. */
export interface TestBackend {
  readonly backend: Backend;
  readonly port: number;
  behaviour: Behaviour;
  /** Requests received, with their Host header and path. */
  readonly requests: Array<{ host: string | undefined; path: string | undefined; method: string | undefined }>;
  /** Connections accepted so far. */
  connections: number;
  /** Connections open right now, as the server counts them. */
  openConnections(): Promise<number>;
  /** Stops listening and drops every connection (the port then refuses). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
}

export async function startBackend(options: { tls?: CertKey; host?: string } = {}): Promise<TestBackend> {
  const host = options.host ?? '127.0.0.1';
  const hanging = new Set<ServerResponse>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    state.requests.push({ host: req.headers.host, path: req.url, method: req.method });
    const b = state.behaviour;
    if (b.kind === 'ok') res.end('ok');
    else if (b.kind === 'status') {
      res.statusCode = b.status;
      res.end(b.body ?? '');
    } else if (b.kind === 'reset') req.socket.destroy();
    else hanging.add(res);
  };
  const make = (): Server => {
    const server = options.tls
      ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler)
      : createHttpServer(handler);
    // Long keep-alive, so an idle connection stays open until the client closes it.
    server.keepAliveTimeout = 60_000;
    server.on('connection', () => {
      state.connections++;
    });
    return server;
  };
  let server = make();
  const port = await listen(server, host);
  const state: TestBackend = {
    backend: backend(`${host}:${port}`),
    port,
    behaviour: { kind: 'ok' },
    requests: [],
    connections: 0,
    openConnections: () =>
      new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    kill: async () => {
      for (const res of hanging) res.destroy();
      hanging.clear();
      await close(server);
    },
    revive: async () => {
      server = make();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
    },
  };
  return state;
}

/** A 127.0.0.1 port with nothing listening: bound once to learn a free port, then closed. */
export async function deadPort(): Promise<Backend> {
  const server = createNetServer();
  const port = await listen(server);
  await close(server);
  return backend(`127.0.0.1:${port}`);
}

/** Polls `predicate` every 5 ms until it holds or `timeoutMs` passes; returns the elapsed ms or throws. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!predicate()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - started;
}
