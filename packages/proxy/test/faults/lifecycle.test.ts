import {
  ensureBuilt,
  type FaultBackend,
  type ServeProcess,
  sleep,
  startFaultBackend,
  startLoad,
  startServe,
  stopAll,
  waitFor,
} from '@switchyard/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HEALTHY_BOUND_MS, serveConfig, summarize, UNHEALTHY_BOUND_MS } from './scenario.js';

// Whole-pool and whole-process events under load: every backend down, a config reload that
// changes the backend set, and a graceful shutdown.

let backends: FaultBackend[] = [];
let serve: ServeProcess | undefined;

beforeAll(ensureBuilt, 180_000);

afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await stopAll(backends);
  backends = [];
});

async function startBackends(count: number, delayMs = 0): Promise<FaultBackend[]> {
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) => startFaultBackend({ name: `b${i + 1}`, delayMs })),
  );
  backends = started;
  return started;
}

describe('pool and process lifecycle under load', { timeout: 30_000 }, () => {
  it('all backends down: an immediate 503 with a clear body, no hanging client; recovery when they return', async () => {
    const pool = await startBackends(3);
    serve = await startServe({ config: (port) => serveConfig(port, { backends: pool.map((b) => b.id) }) });
    const load = startLoad({ port: serve.port, concurrency: 8, pauseMs: 2, maxDurationMs: 20_000, timeoutMs: 3000 });
    await sleep(500);

    const downAt = Date.now();
    await stopAll(pool);
    await sleep(UNHEALTHY_BOUND_MS + 200);
    const windowStart = Date.now();
    await sleep(1000);
    const downWindow = load.between(windowStart, Date.now());

    const upAt = Date.now();
    await Promise.all(pool.map((b) => b.restart()));
    await waitFor(
      'a 200 after the backends returned',
      () => load.between(upAt, Date.now()).some((r) => r.status === 200),
      5000,
    );
    const firstOk = load.between(upAt, Date.now()).find((r) => r.status === 200)!;
    await sleep(HEALTHY_BOUND_MS + 200);
    const settledAt = Date.now();
    await sleep(700);
    const counts = await load.stop();
    const summary = summarize(counts, serve);

    // Nothing ever hung or broke at the transport level; while down, only 502/503 (connect failures before health noticed, then 503).
    expect(counts.errors, summary).toEqual({});
    const outage = load.between(downAt, upAt);
    expect(
      outage.every((r) => r.status === 502 || r.status === 503 || r.status === 200),
      summary,
    ).toBe(true);
    // Once health has marked every backend down: only 503s, answered at once, with a body that says why.
    expect(downWindow.length, summary).toBeGreaterThan(100);
    for (const record of downWindow) {
      expect(record.status).toBe(503);
      expect(record.end - record.start).toBeLessThan(100);
      expect(record.body ?? '').toMatch(/no healthy backend/i);
    }
    // Recovery: the first 200 within the healthy bound of the restart, then every request succeeds.
    expect(firstOk.start - upAt).toBeLessThanOrEqual(HEALTHY_BOUND_MS);
    const after = load.between(settledAt, Number.POSITIVE_INFINITY);
    expect(after.length).toBeGreaterThan(50);
    expect(after.filter((r) => r.status !== 200)).toEqual([]);
  });

  it('config reload (SIGHUP) under load with a changed backend set: no failed request, in-flight ones complete', async () => {
    const [b1, b2, b3] = (await startBackends(3, 50)) as [FaultBackend, FaultBackend, FaultBackend];
    const config = (port: number, set: FaultBackend[]) => serveConfig(port, { backends: set.map((b) => b.id) });
    serve = await startServe({ config: (port) => config(port, [b1, b2]) });
    const load = startLoad({ port: serve.port, concurrency: 12, maxDurationMs: 20_000 });
    await waitFor('traffic on b1 and b2', () => b1.traffic() > 20 && b2.traffic() > 20, 5000);
    expect(b3.traffic()).toBe(0);

    serve.writeConfig(config(serve.port, [b2, b3]));
    const reloadAt = Date.now();
    serve.signal('SIGHUP');
    await waitFor('traffic on b3 after the reload', () => b3.traffic() > 20, 5000);
    const b1Last = Math.max(...b1.requests.filter((r) => r.target !== '/healthz').map((r) => r.at));
    await sleep(1000);
    const b1AfterReload = b1.traffic();
    await sleep(500);
    const counts = await load.stop();
    const summary = summarize(counts, serve);

    expect(counts.failed, summary).toBe(0);
    expect(counts.succeeded, summary).toBe(counts.sent);
    expect(
      load.between(reloadAt - 200, reloadAt + 200).length,
      'requests were in flight around the reload',
    ).toBeGreaterThan(0);
    // b1 left the set: it stops getting traffic (no new request after the reload settled).
    expect(b1.traffic()).toBe(b1AfterReload);
    expect(b1Last - reloadAt).toBeLessThanOrEqual(1000);
  });

  it('graceful shutdown (SIGTERM) under load: every request accepted before the signal completes', async () => {
    const pool = await startBackends(3, 300);
    serve = await startServe({
      config: (port) => serveConfig(port, { backends: pool.map((b) => b.id) }, { server: { shutdownTimeoutMs: 5000 } }),
    });
    const load = startLoad({ port: serve.port, concurrency: 16, maxDurationMs: 20_000, timeoutMs: 6000 });
    await sleep(1000);

    const termAt = Date.now();
    const inFlight = load.records.filter((r) => r.end === 0).length;
    serve.signal('SIGTERM');
    const exit = await Promise.race([serve.exited, sleep(7000).then(() => undefined)]);
    const counts = await load.stop();
    const summary = summarize(counts, serve);

    expect(exit, 'the proxy exited within the shutdown deadline').toEqual({ code: 0, signal: null });
    expect(inFlight, 'requests were in flight at SIGTERM').toBeGreaterThanOrEqual(8);
    const before = load.records.filter((r) => r.start < termAt);
    const notCompleted = before.filter((r) => r.status !== 200);
    expect(notCompleted, summary).toEqual([]);
    // After the signal new requests may be refused, but none hangs until its timeout.
    const after = load.records.filter((r) => r.start >= termAt);
    expect(
      after.filter((r) => r.error === 'timeout'),
      summary,
    ).toEqual([]);
  });
});
