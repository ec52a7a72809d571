import { createConfiguredApp, createProxyServer, resolveConfig } from '@switchyard/proxy';
import { startBackend, type TestBackend } from '@switchyard/testkit';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';

const SLOW_MS = 250;
const CLIENTS = 16;
const REQUESTS = 320;

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

/** A loopback backend answering after `delayMs`, closed after the test. */
async function backend(name: string, delayMs: number): Promise<TestBackend> {
  const b = await startBackend({ name, delayMs });
  cleanup.push(() => b.close());
  return b;
}

/**
 * Sends REQUESTS requests through a proxy configured with `selector`, CLIENTS at a
 * time, to a fast and a slow backend; returns how many each served.
 */
async function run(selector: Record<string, unknown>): Promise<{ fast: number; slow: number }> {
  const fast = await backend('fast', 0);
  const slow = await backend('slow', SLOW_MS);
  const config = resolveConfig(
    { accessLog: false, upstreams: { web: { backends: [fast.id, slow.id], selector } } },
    process.cwd(),
  );
  const configured = createConfiguredApp(config);
  cleanup.push(() => configured.close());
  await configured.ready();
  const proxy = createProxyServer(configured.app, { observers: [configured.observer], accessLog: false });
  cleanup.push(() => proxy.close({ deadlineMs: 1000 }));
  const { port } = await proxy.listen(0, '127.0.0.1');
  const client = new Pool(`http://127.0.0.1:${port}`, { connections: CLIENTS });
  cleanup.push(() => client.close());
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < REQUESTS) {
      next++;
      const res = await client.request({ path: `/item/${next}`, method: 'GET', headersTimeout: 10_000 });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  return { fast: fast.traffic(), slow: slow.traffic() };
}

describe('least-request through the proxy', () => {
  it('steers concurrent load away from a slow backend (the tracker is fed by the balancer observer)', async () => {
    // Control: round robin ignores load and splits evenly.
    const rr = await run({ type: 'round-robin' });
    expect(rr.fast + rr.slow).toBe(REQUESTS);
    expect(Math.abs(rr.slow - REQUESTS / 2)).toBeLessThanOrEqual(2);
    // Least request (a full scan over two backends) evens out the in-flight counts, about
    // 8 each with 16 clients, so each backend's share follows its speed: the slow one's is
    // L / (250 + L) for a fast round trip of L ms through the proxy: under half of round
    // robin's 50% while L < 250 ms (measured on a loaded 2-core box: L ~ 50 ms, 52 of 320).
    const lr = await run({ type: 'least-request' });
    expect(lr.fast + lr.slow).toBe(REQUESTS);
    expect(lr.slow, `least-request ${JSON.stringify(lr)}, round robin ${JSON.stringify(rr)}`).toBeLessThan(rr.slow / 2);
    // Peak EWMA also sees the 250 ms latency directly.
    const ewma = await run({ type: 'peak-ewma', decayMs: 2000 });
    expect(ewma.fast + ewma.slow).toBe(REQUESTS);
    expect(ewma.slow, `peak-ewma ${JSON.stringify(ewma)}`).toBeLessThan(REQUESTS * 0.2);
  }, 60_000);

  it('accepts maglev and bounded-load selector types in the config', async () => {
    const m = await run({ type: 'maglev', key: 'uri', tableSize: 65_537 });
    expect(m.fast + m.slow).toBe(REQUESTS);
    const b = await run({ type: 'bounded-load', balanceFactor: 1.25, hash: 'maglev' });
    expect(b.fast + b.slow).toBe(REQUESTS);
    expect(() =>
      resolveConfig(
        { upstreams: { web: { backends: ['127.0.0.1:1'], selector: { type: 'maglev', tableSize: 65_536 } } } },
        process.cwd(),
      ),
    ).toThrow(/selector\.tableSize: expected a prime/);
  }, 60_000);
});
