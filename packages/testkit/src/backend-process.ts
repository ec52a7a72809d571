import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, hostPort } from './net.js';

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A backend in its own process, so a test can SIGKILL it. Answers 200 with `X-Backend: <name>`. */
export interface BackendProcess {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:port`, as `Backend.id`. */
  readonly id: string;
  /** Wall-clock times (ms) of non-health requests it received, reported over stdout. */
  readonly hits: number[];
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port; resolves once it listens. */
  restart(): Promise<void>;
  readonly running: () => boolean;
}

const BACKEND_SOURCE = `
const http = require('node:http');
const [port, name, health] = process.argv.slice(1);
const server = http.createServer((req, res) => {
  if (req.url !== health) process.stdout.write('hit ' + Date.now() + '\\n');
  req.resume();
  req.on('end', () => {
    const body = JSON.stringify({ backend: name, path: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 30000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

/** Starts a {@link BackendProcess} on `port` (0: a free one). */
export async function startBackendProcess(name: string, port = 0, healthPath = '/healthz'): Promise<BackendProcess> {
  const chosen = port === 0 ? await freePort() : port;
  let child: ChildProcess | undefined;
  const hits: number[] = [];
  const launch = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, ['-e', BACKEND_SOURCE, String(chosen), name, healthPath], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(proc);
      child = proc;
      let rest = '';
      let errors = '';
      const timer = setTimeout(() => reject(new Error(`backend ${name} did not listen: ${errors}`)), 10_000);
      proc.stderr?.on('data', (d: Buffer) => {
        errors += d.toString();
      });
      proc.stdout?.on('data', (d: Buffer) => {
        const lines = (rest + d.toString()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (line === 'listening') {
            clearTimeout(timer);
            resolve();
          } else if (line.startsWith('hit ')) hits.push(Number(line.slice(4)));
        }
      });
      proc.on('close', () => {
        children.delete(proc);
        clearTimeout(timer);
        if (child === proc) child = undefined;
        reject(new Error(`backend ${name} exited: ${errors}`));
      });
    });
  await launch();
  return {
    name,
    port: chosen,
    id: hostPort('127.0.0.1', chosen),
    hits,
    running: () => child !== undefined,
    async kill(signal = 'SIGKILL') {
      const proc = child;
      if (proc === undefined) return;
      const closed = new Promise((r) => proc.once('close', r));
      proc.kill(signal);
      await closed;
    },
    restart: launch,
  };
}
