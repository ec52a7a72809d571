import { createServer, type Server } from 'node:net';

/** Listens on `host` (default 127.0.0.1) and `port` (default 0: OS-assigned); resolves to the port. */
export function listen(server: Server, host = '127.0.0.1', port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('server has no TCP address'));
      else resolve(address.port);
    });
  });
}

/** Closes a server, destroying its open connections when it has `closeAllConnections`. */
export function close(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** `host:port`, with an IPv6 host in brackets (`[::1]:80`), as `Backend.id`. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A TCP port that was free on `host` a moment ago: bound once on port 0, noted, then closed. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  const port = await listen(server, host);
  await close(server);
  return port;
}

/** `host:port` of a loopback port with nothing listening (see {@link freePort}): connecting is refused. */
export async function deadAddress(host = '127.0.0.1'): Promise<string> {
  return hostPort(host, await freePort(host));
}

/** A loopback TCP server that records how each connection it accepted ended. */
export interface EndingsServer {
  readonly port: number;
  /**
   * Per closed connection, in order: `'end'` for an orderly close (a FIN), the error code for one
   * that failed (`'ECONNRESET'` for a reset), `'close'` when neither came first.
   */
  readonly endings: readonly string[];
  /** Resolves once `count` connections have closed in all. */
  closed(count: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts an {@link EndingsServer}: it reads and discards what it receives, and answers a FIN with its own. */
export async function startEndingsServer(): Promise<EndingsServer> {
  const endings: string[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let closedCount = 0;
  const server = createServer((socket) => {
    let ending: string | undefined;
    socket.resume();
    socket.once('end', () => {
      ending ??= 'end';
      socket.end();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      ending ??= err.code ?? err.message;
    });
    socket.once('close', () => {
      endings.push(ending ?? 'close');
      closedCount++;
      for (let i = waiters.length - 1; i >= 0; i--) {
        const waiter = waiters[i] as (typeof waiters)[number];
        if (waiter.count > closedCount) continue;
        waiters.splice(i, 1);
        waiter.resolve();
      }
    });
  });
  const port = await listen(server);
  return {
    port,
    endings,
    closed: (count) =>
      count <= closedCount ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => close(server),
  };
}
