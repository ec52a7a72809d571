import { spawn } from 'node:child_process';
import {
  ensureBuilt,
  type FaultBackend,
  type ServeProcess,
  startFaultBackend,
  startServe,
  stopAll,
  waitFor,
} from '@switchyard/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accessLines, serveConfig } from './scenario.js';

// wrk ends a run by closing its connections with requests still in flight. Those requests are
// the clients' doing: each is logged 499 (never a 502 that would page someone), and outlier
// detection set to eject on the first failure ejects nothing.

let backends: FaultBackend[] = [];
let serve: ServeProcess | undefined;

beforeAll(ensureBuilt, 180_000);

afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await stopAll(backends);
  backends = [];
});

/** Runs wrk against `port` for `seconds` with `connections`; resolves with its exit code. */
function wrk(port: number, connections: number, seconds: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'wrk',
      ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', `http://127.0.0.1:${port}/run`],
      { stdio: 'ignore' },
    );
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

describe('clients that go away under load', { timeout: 60_000 }, () => {
  it('wrk ending a run: every cut request is a 499, none a 502, nothing ejected', async () => {
    // 200 ms answers: at the end of the run nearly every connection has a request in flight.
    backends = await Promise.all(['b1', 'b2'].map((name) => startFaultBackend({ name, delayMs: 200 })));
    const outlier = { consecutiveFailures: 1, baseEjectionMs: 60_000, maxEjectedPercent: 100 };
    serve = await startServe({
      config: (port) => serveConfig(port, { backends: backends.map((b) => b.id), health: false, outlier }),
    });
    expect(await wrk(serve.port, 16, 2)).toBe(0);
    const running = serve;
    // The cut requests end when the proxy notices the closed connections.
    await waitFor('the cut requests to be logged', () => accessLines(running).some((l) => l.status === 499), 10_000);
    const lines = accessLines(running).filter((l) => l.path === '/run');
    const statuses = new Map<unknown, number>();
    for (const line of lines) statuses.set(line.status, (statuses.get(line.status) ?? 0) + 1);
    expect([...statuses.keys()].sort(), JSON.stringify([...statuses])).toEqual([200, 499]);
    for (const line of lines.filter((l) => l.status === 499)) {
      expect(line.cause).toBe('client closed the connection');
      expect(line.error).toBeUndefined();
    }
    expect(running.logs().filter((l) => typeof l.msg === 'string' && /ejected/.test(l.msg))).toEqual([]);
    // Both backends still take traffic: nobody was ejected for the clients' hang-ups.
    const before = backends.map((b) => b.traffic());
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`http://127.0.0.1:${running.port}/after${i}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(backends.map((b, i) => b.traffic() - (before[i] ?? 0))).toEqual([2, 2]);
  });
});
