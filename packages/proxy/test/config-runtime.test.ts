import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createConfiguredApp,
  createProxyServer,
  type ProxyServer,
  resolveConfig,
  SELECTOR_TYPES,
} from '@switchyard/proxy';
import { deadAddress, startBackend, startEndingsServer, type TestBackend } from '@switchyard/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get } from './helpers/server-client.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let live: TestBackend[] = [];
beforeAll(async () => {
  live = await Promise.all(['web1', 'web2', 'dr'].map((n) => startBackend({ name: n })));
});
afterAll(async () => {
  await Promise.all(live.map((b) => b.close()));
});

async function serve(raw: unknown): Promise<{ port: number; app: ReturnType<typeof createConfiguredApp> }> {
  const configured = createConfiguredApp(resolveConfig(raw, process.cwd()));
  await configured.ready();
  const proxy: ProxyServer = createProxyServer(configured.app, { observers: [configured.observer], maxAttempts: 3 });
  const { port } = await proxy.listen(0, '127.0.0.1');
  cleanup.push(() => configured.close());
  cleanup.push(() => proxy.close({ deadlineMs: 1000 }));
  return { port, app: configured };
}

describe('createConfiguredApp', () => {
  it('routes by longest prefix on segment boundaries and fails over to the route’s failover upstreams', async () => {
    const [web1, web2, dr] = live as [TestBackend, TestBackend, TestBackend];
    const { port } = await serve({
      upstreams: {
        web: { backends: [web1.id, web2.id] },
        api: { backends: [await deadAddress(), await deadAddress()], selector: { type: 'consistent', key: 'path' } },
        'api-dr': { backends: [dr.id] },
      },
      routes: [
        { prefix: '/api', upstream: 'api', failover: ['api-dr'] },
        { prefix: '/', upstream: 'web' },
      ],
    });
    // /api: both api backends refuse; the third attempt goes to the failover upstream.
    expect(await get(port, '/api/users')).toEqual({ status: 200, backend: 'dr' });
    expect(await get(port, '/api')).toEqual({ status: 200, backend: 'dr' });
    // /apix is not under /api: it takes the / route.
    const other = await get(port, '/apix');
    expect(other.status).toBe(200);
    expect(['web1', 'web2']).toContain(other.backend);
  });

  it('answers 503 for a path no route matches', async () => {
    const { port } = await serve({
      upstreams: { web: { backends: [live[0]!.id] } },
      routes: [{ prefix: '/only', upstream: 'web' }],
    });
    expect((await get(port, '/only/x')).status).toBe(200);
    expect((await get(port, '/elsewhere')).status).toBe(503);
  });

  it('builds every selector type of the table and spreads keys over the backends', async () => {
    for (const type of Object.keys(SELECTOR_TYPES)) {
      const { port } = await serve({
        upstreams: { web: { backends: [live[0]!.id, live[1]!.id], selector: { type, key: 'uri' } } },
      });
      const seen = new Set<string | undefined>();
      for (let i = 0; i < 20; i++) seen.add((await get(port, `/k/${i}`)).backend);
      expect(seen, type).toEqual(new Set(['web1', 'web2']));
    }
  }, 30_000);

  it('file discovery: rewriting the list moves traffic to the new backend set', async () => {
    const [web1, web2] = live as [TestBackend, TestBackend];
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-discovery-'));
    const list = join(dir, 'backends.json');
    writeFileSync(list, JSON.stringify([web1.id]));
    const { port } = await serve({
      upstreams: { web: { discovery: { type: 'file', path: list, pollMs: 20 } } },
    });
    expect((await get(port, '/')).backend).toBe('web1');
    writeFileSync(list, JSON.stringify([web2.id]));
    const deadline = Date.now() + 5000;
    let served: string | undefined;
    while (Date.now() < deadline && served !== 'web2') {
      served = (await get(port, '/')).backend;
      if (served !== 'web2') await new Promise((r) => setTimeout(r, 50));
    }
    expect(served).toBe('web2');
  });

  it('health.skipOnTraffic: busy backends skip their TCP checks, idle ones are still checked', async () => {
    const [web1, web2] = live as [TestBackend, TestBackend];
    const health = { type: 'tcp', intervalMs: 40, skipOnTraffic: true };
    const { port, app } = await serve({
      routes: [
        { prefix: '/idle', upstream: 'idle' },
        { prefix: '/', upstream: 'web' },
      ],
      upstreams: {
        web: { backends: [web1.id], health, outlier: {} },
        idle: { backends: [web2.id], health },
      },
    });
    const started = performance.now();
    while (performance.now() - started < 400) expect((await get(port, '/')).backend).toBe('web1');
    const [busy] = app.balancers().get('web')?.health?.snapshot() ?? [];
    const [idle] = app.balancers().get('idle')?.health?.snapshot() ?? [];
    // About 10 ticks each in 400 ms; the busy backend had a proxied success before nearly every one.
    expect(busy?.skippedChecks).toBeGreaterThanOrEqual(5);
    expect([idle?.skippedChecks, idle?.lastResult?.ok, idle?.healthy]).toEqual([0, true, true]);
  });

  it('health.reset: TCP checks end with a reset, which the backend sees as ECONNRESET', async () => {
    const backend = await startEndingsServer();
    cleanup.push(() => backend.close());
    const { app } = await serve({
      upstreams: {
        web: { backends: [`127.0.0.1:${backend.port}`], health: { type: 'tcp', intervalMs: 40, reset: true } },
      },
    });
    await backend.closed(3);
    expect(backend.endings.slice(0, 3)).toEqual(['ECONNRESET', 'ECONNRESET', 'ECONNRESET']);
    expect(app.balancers().get('web')?.health?.snapshot()[0]?.healthy).toBe(true);
  });

  it('reload swaps in the new backend set and closes the old balancers', async () => {
    const [web1, web2] = live as [TestBackend, TestBackend];
    const raw = (address: string) => ({
      upstreams: { web: { backends: [address], health: { type: 'tcp', intervalMs: 50 } } },
    });
    const { port, app } = await serve(raw(web1.id));
    expect((await get(port, '/')).backend).toBe('web1');
    const before = app.balancers().get('web');
    await app.reload(resolveConfig(raw(web2.id), process.cwd()));
    expect((await get(port, '/')).backend).toBe('web2');
    expect(app.balancers().get('web')).not.toBe(before);
    expect(before?.health?.snapshot().length).toBe(1);
    // The old balancer's health monitor is stopped: its last result no longer changes.
    const last = JSON.stringify(before?.health?.snapshot());
    await new Promise((r) => setTimeout(r, 200));
    expect(JSON.stringify(before?.health?.snapshot())).toBe(last);
  });
});
