import { createServer, type Server } from 'node:http';
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
