import { createServer, type Server } from 'node:net';
import { type HttpPeer, LbError } from '@switchyard/core';
import { type ProxyApp, type ProxyCtx, type ProxyServerOptions, RetryBudget } from '@switchyard/proxy';
import { close, startLoad } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { captureLogger, peer } from './helpers/server-client.js';
import { serverFixtures } from './helpers/server-fixtures.js';

const { upstream, proxy, cleanup } = serverFixtures(2000);

const REQUESTS = 400;
// A window longer than any run of this test, so the bound below holds for the run as a whole:
// retries ≤ 20% × requests + minPerSecond × the window's seconds = 0.2 × 400 + 0.1 × 600 = 140.
const BUDGET = { budgetPercent: 20, budgetWindowMs: 600_000, minPerSecond: 0.1 } as const;
const FLOOR = (BUDGET.minPerSecond * BUDGET.budgetWindowMs) / 1000;

/** A TCP listener that accepts and at once resets every connection: every attempt sent to it fails. */
async function resettingBackend(): Promise<{ id: string; connections: () => number }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.resetAndDestroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => close(server));
  const address = server.address() as { port: number };
  return { id: `127.0.0.1:${address.port}`, connections: () => connections };
}

/**
 * Half of all first attempts go to the failing backend (alternating by arrival); a retry goes
 * to the backend not tried yet. So without a budget every other request costs three attempts
 * (the failing one, its resend on a fresh connection, the good one).
 */
function halfFailingApp(good: HttpPeer, bad: HttpPeer): ProxyApp<ProxyCtx> {
  let seq = 0;
  return {
    upstreamPeer(_session, ctx) {
      const first = seq++ % 2 === 0 ? bad : good;
      const pick = ctx.triedBackends.size === 0 ? first : [good, bad].find((p) => !ctx.triedBackends.has(p.id));
      if (pick === undefined) throw new LbError('LB_ERR_NO_HEALTHY_BACKEND', 'both tried');
      ctx.triedBackends.add(pick.id);
      return pick;
    },
  };
}

async function run(retryBudget: ProxyServerOptions['retryBudget']) {
  const good = await upstream();
  const bad = await resettingBackend();
  const { logger, lines } = captureLogger();
  let attempts = 0;
  const { proxy: server, port } = await proxy(halfFailingApp(peer(good.id), peer(bad.id)), {
    logger,
    retryBudget,
    observers: [{ onStart: () => attempts++ }],
  });
  const load = startLoad({ port, concurrency: 8, maxRequests: REQUESTS, timeoutMs: 20_000, ok: () => true });
  const counts = await load.done;
  const access = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
  return { counts, attempts, good, bad, server, access };
}

describe('createProxyServer: retry budget', { timeout: 120_000 }, () => {
  it('under a backend failing half of all first attempts, upstream attempts stay within (1 + budget) × requests + floor', async () => {
    const budget = new RetryBudget(BUDGET);
    const { counts, attempts, good, bad, server, access } = await run(budget);
    expect(counts.sent).toBe(REQUESTS);
    expect(server.retryBudget).toBe(budget);
    // Every attempt reached one of the two backends: the observer's count is theirs.
    expect(attempts).toBe(good.requests.length + bad.connections());
    expect(attempts).toBeLessThanOrEqual((1 + BUDGET.budgetPercent / 100) * REQUESTS + FLOOR);
    // ~200 requests wanted two retries each; at most 140 retries were granted.
    expect(budget.refused).toBeGreaterThan(0);
    const refused = access.filter((l) => l.retryRefused === true);
    expect(refused).toHaveLength(budget.refused);
    for (const line of refused) expect(line.status).toBe(502);
    expect(access.filter((l) => l.retryRefused !== undefined && l.retryRefused !== true)).toEqual([]);
    expect(access).toHaveLength(REQUESTS);
  });

  it('without a budget the same load costs more attempts than the bound (the test can fail)', async () => {
    const { counts, attempts, server } = await run(false);
    expect(counts.byStatus['200']).toBe(REQUESTS);
    expect(server.retryBudget).toBeUndefined();
    expect(attempts).toBeGreaterThan((1 + BUDGET.budgetPercent / 100) * REQUESTS + FLOOR);
  });

  it('builds a budget from options by default and rejects bad ones', async () => {
    const { proxy: server } = await proxy({ upstreamPeer: () => peer('127.0.0.1:1') });
    expect(server.retryBudget).toBeInstanceOf(RetryBudget);
    const app = { upstreamPeer: () => peer('127.0.0.1:1') };
    await expect(proxy(app, { retryBudget: { budgetPercent: -1 } })).rejects.toThrow(/retry budget budgetPercent/);
    await expect(proxy(app, { retryBudget: 'x' as never })).rejects.toThrow(/proxy server retryBudget/);
  });
});
