import { createServer, request, type Server } from 'node:http';
import { close, listen } from '@switchyard/testkit';

/** A loopback HTTP backend answering 200 with `x-backend: <name>`; `hits` counts non-health requests. */
export interface TestBackend {
  readonly name: string;
  readonly address: string;
  readonly server: Server;
  hits: number;
  close(): Promise<void>;
}

export async function startBackend(name: string): Promise<TestBackend> {
  const self = {
    name,
    address: '',
    server: createServer((req, res) => {
      if (req.url !== '/healthz') self.hits++;
      req.resume();
      res.writeHead(200, { 'x-backend': name, 'content-type': 'text/plain' });
      res.end(name);
    }),
    hits: 0,
    close: () => close(self.server),
  };
  const port = await listen(self.server);
  self.address = `127.0.0.1:${port}`;
  return self;
}

/** A loopback port with nothing listening: a server is bound, its port noted, then closed. */
export async function deadAddress(): Promise<string> {
  const server = createServer();
  const port = await listen(server);
  await close(server);
  return `127.0.0.1:${port}`;
}

/** Polls `condition` every 10 ms until true; fails after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** GETs `path` through the proxy on `port` (fresh connection) and reports the status and `x-backend`. */
export function get(port: number, path = '/'): Promise<{ status: number; backend: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, backend: res.headers['x-backend'] as string | undefined }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
