import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@switchyard/testkit';

/** Where Debian installs HAProxy. */
export const HAPROXY_BIN = '/usr/sbin/haproxy';

/** A loopback HTTP server that answers every request with its own `host:port` in `x-backend`. */
export async function identityServer(host: string): Promise<{ server: Server; id: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'x-backend': id, 'content-length': '0' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const id = `${host}:${(server.address() as { port: number }).port}`;
  return { server, id };
}

/** A request through HAProxy: raw header lines (bytes, so any octet a header may carry) and an optional source address. */
export interface OracleRequest {
  readonly headers: readonly (readonly [string, Uint8Array])[];
  readonly localAddress?: string;
}

/** A real HAProxy on loopback, driven over raw HTTP/1.1 and its runtime API. */
export interface Haproxy {
  readonly port: number;
  /** Sends one GET; resolves with the `x-backend` of the server that answered. */
  ask(request: OracleRequest): Promise<string>;
  /** Runs one runtime API command on the admin socket and returns its answer. */
  command(line: string): Promise<string>;
  stop(): Promise<void>;
}

function requestBytes(request: OracleRequest): Buffer {
  const parts: Buffer[] = [Buffer.from('GET / HTTP/1.1\r\nhost: oracle\r\nconnection: close\r\n', 'latin1')];
  for (const [name, value] of request.headers) {
    parts.push(Buffer.from(`${name}: `, 'latin1'), Buffer.from(value), Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('\r\n', 'latin1'));
  return Buffer.concat(parts);
}

/** Reads a whole response (the server closes) and returns its `x-backend`. */
function exchange(port: number, request: OracleRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      ...(request.localAddress ? { localAddress: request.localAddress } : {}),
    };
    const socket: Socket = connect(options);
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('HAProxy did not answer within 5 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /\r\nx-backend: ([^\r]*)\r\n/i.exec(text);
      if (match?.[1] !== undefined) resolve(match[1]);
      else reject(new Error(`no x-backend in HAProxy's answer: ${JSON.stringify(text.slice(0, 200))}`));
    });
    socket.write(requestBytes(request));
  });
}

/** Starts HAProxy in the foreground with `body` after a generated `global`/`defaults` and a frontend on a free port. */
export async function startHaproxy(body: (bind: string) => string): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-haproxy-'));
  const port = await freePort();
  const socketPath = join(dir, 'admin.sock');
  const config = `global
  stats socket ${socketPath} level admin
  maxconn 256
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
${body(`127.0.0.1:${port}`)}
`;
  writeFileSync(join(dir, 'haproxy.cfg'), config);
  let log = '';
  const child: ChildProcess = spawn(HAPROXY_BIN, ['-db', '-f', join(dir, 'haproxy.cfg')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const command = (line: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      let answer = '';
      socket.setTimeout(3000, () => socket.destroy(new Error('runtime API timed out')));
      socket.on('data', (d) => {
        answer += d.toString();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(answer));
      socket.end(`${line}\n`);
    });
  // Bounded wait (60 × 100 ms) until the frontend accepts connections.
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve();
        });
        s.on('error', reject);
      });
      break;
    } catch (err) {
      if (attempt >= 60 || child.exitCode !== null) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`HAProxy did not start: ${String(err)}\n${log}\n${config}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port,
    ask: (request) => exchange(port, request),
    command,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `tasks` with at most `limit` in flight; results in task order. */
export async function pooled<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** A small seeded PRNG (mulberry32) so every run's draws reproduce from its printed seed. */
export { seeded as prng } from './beyond-laws.js';
