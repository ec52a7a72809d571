import { spawn } from 'node:child_process';
import {
  ensureBuilt,
  type FaultBackend,
  type ServeProcess,
  sleep,
  startFaultBackend,
  startLoad,
  startServe,
  stopAll,
} from '@switchyard/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serveConfig } from './scenario.js';

// SIGTERM in the middle of a wrk run: the drain must not reset a single connection. wrk counts a
// connection closed under a request, or reset, as a read error. Its "write" errors also count
// connection attempts refused after the listener closed (its non-blocking connect fails on the
// first write), which are allowed: a Node client running alongside tells them apart by error
// code (ECONNREFUSED may happen, ECONNRESET / a hang-up may not).

/** What wrk reported. */
interface WrkReport {
  readonly requests: number;
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly timeout: number;
  readonly non2xx: number;
  readonly text: string;
}

/** Parses wrk's summary: the error lines only appear when there were errors. */
function parseWrk(text: string): WrkReport {
  const requests = /(\d+) requests in/.exec(text);
  if (requests === null) throw new Error(`wrk printed no summary:\n${text}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests: Number(requests[1]),
    connect: Number(errors?.[1] ?? 0),
    read: Number(errors?.[2] ?? 0),
    write: Number(errors?.[3] ?? 0),
    timeout: Number(errors?.[4] ?? 0),
    non2xx: Number(non2xx?.[1] ?? 0),
    text,
  };
}

/** Runs wrk against `port` for `seconds` and resolves with its report. */
function runWrk(port: number, connections: number, seconds: number): Promise<WrkReport> {
  return new Promise((resolve, reject) => {
    const args = ['-t2', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', `http://127.0.0.1:${port}/`];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(kill);
      try {
        resolve(parseWrk(out));
      } catch (err) {
        reject(err);
      }
    });
  });
}

let backends: FaultBackend[] = [];
let serve: ServeProcess | undefined;

beforeAll(ensureBuilt, 180_000);

afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await stopAll(backends);
  backends = [];
});

describe('drain on SIGTERM under wrk -c64', { timeout: 60_000 }, () => {
  for (const workers of [1, 2]) {
    it(`${workers === 1 ? 'one process' : '--workers 2'}: 0 read/write errors, 0 non-2xx; the proxy exits 0`, async () => {
      backends = await Promise.all(['b1', 'b2', 'b3'].map((name) => startFaultBackend({ name, delayMs: 2 })));
      serve = await startServe({
        config: (port) =>
          serveConfig(
            port,
            { backends: backends.map((b) => b.id), health: false },
            { accessLog: false, server: { drainMs: 2000, shutdownTimeoutMs: 8000 } },
          ),
        ...(workers > 1 ? { extraArgs: ['--workers', String(workers)] } : {}),
      });
      const wrk = runWrk(serve.port, 64, 6);
      const load = startLoad({ port: serve.port, concurrency: 8, maxDurationMs: 6000, timeoutMs: 10_000 });
      await sleep(2500);
      const before = backends.reduce((n, b) => n + b.traffic(), 0);
      const termAt = Date.now();
      serve.signal('SIGTERM');
      const exit = await Promise.race([serve.exited, sleep(15_000).then(() => undefined)]);
      const report = await wrk;
      const counts = await load.stop();
      const summary = JSON.stringify({ wrk: { ...report, text: undefined }, node: counts, before });
      console.info(`[drain, ${workers} worker(s)] ${summary}`);

      expect(exit, `the proxy exited by itself\n${serve.output().slice(-2000)}`).toEqual({ code: 0, signal: null });
      // The load was real, and still running after the listener closed (refused connects).
      expect(before, summary).toBeGreaterThan(200);
      expect(counts.errors.ECONNREFUSED ?? 0, summary).toBeGreaterThan(0);
      expect(report.read, report.text).toBe(0);
      expect(report.timeout, report.text).toBe(0);
      expect(report.non2xx, report.text).toBe(0);
      // The Node client: every answer a 200, every transport error a refused connect.
      expect(Object.keys(counts.byStatus), summary).toEqual(['200']);
      expect(Object.keys(counts.errors), summary).toEqual(['ECONNREFUSED']);
      expect(
        load.records.filter((r) => r.start < termAt && r.status !== 200),
        summary,
      ).toEqual([]);
    });
  }
});
