import { createServer, type Server } from 'node:net';

/** Listens on `host` (default 127.0.0.1) and an OS-assigned port; resolves to the port. */
export function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
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
