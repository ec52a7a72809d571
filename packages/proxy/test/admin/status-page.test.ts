import { backend, HttpPeer } from '@switchyard/core';
import { httpCheck } from '@switchyard/health';
import {
  createAdminServer,
  createBalancer,
  createMetrics,
  createProxyServer,
  createUpstreamPeer,
} from '@switchyard/proxy';
import { roundRobin } from '@switchyard/selectors';
import { startBackend, type TestBackend } from '@switchyard/testkit';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The status page in headless Chromium: it renders every backend from /status.json, and after a
// backend is killed its row turns unhealthy (red) within two seconds, with no console errors and
// no request leaving the admin listener.

const CHROMIUM = '/usr/bin/chromium';
/** The health-check interval: detection takes one failed check (threshold 1) plus its timeout. */
const INTERVAL_MS = 200;

describe('the status page', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  const backends: TestBackend[] = [];
  let adminUrl: string;

  beforeAll(async () => {
    for (const name of ['a', 'b', 'c']) backends.push(await startBackend({ name }));
    const balancer = createBalancer({
      backends: backends.map((b) => backend(b.id)),
      selector: roundRobin,
      health: { check: httpCheck({ path: '/healthz', timeoutMs: 200 }), intervalMs: INTERVAL_MS },
    });
    await balancer.ready();
    const metrics = createMetrics();
    metrics.addUpstream('web', balancer);
    metrics.setRoutes([{ prefix: '/', upstream: 'web', failover: [] }]);
    const proxy = createProxyServer(
      { upstreamPeer: createUpstreamPeer({ balancer, key: (s) => s.uri, peer: (x) => new HttpPeer(x, false, '') }) },
      { observers: [balancer.observer, metrics.observer], accessLog: false },
    );
    const { port } = await proxy.listen(0);
    for (let i = 0; i < 20; i++) await (await fetch(`http://127.0.0.1:${port}/p${i}`)).arrayBuffer();
    const admin = createAdminServer({ metrics, proxy, port: 0 });
    adminUrl = `http://127.0.0.1:${(await admin.listen()).port}`;
    cleanup.push(
      () => admin.close(),
      () => proxy.close({ deadlineMs: 200 }),
      () => balancer.close(),
      ...backends.map((b) => () => b.close()),
    );
  });

  afterAll(async () => {
    for (const step of cleanup) await step();
  });

  it('renders every backend and shows a killed one unhealthy within two seconds', { timeout: 60_000 }, async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      timeout: 30_000,
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      const requested: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => requested.push(r.url()));
      await page.goto(`${adminUrl}/status`, { timeout: 30_000 });
      await page.waitForSelector('tr[data-backend]', { timeout: 10_000 });
      const rows = await page.$$eval('tr[data-backend]', (trs) =>
        trs.map((tr) => ({ id: tr.getAttribute('data-backend'), state: tr.getAttribute('data-state') })),
      );
      expect(rows).toEqual(backends.map((b) => ({ id: b.id, state: 'healthy' })));
      expect(await page.textContent('#routes')).toContain('web');

      const victim = backends[1] as TestBackend;
      await victim.stop();
      const killedAt = Date.now();
      await page.waitForSelector(`tr[data-backend="${victim.id}"][data-state="unhealthy"]`, { timeout: 10_000 });
      const elapsed = Date.now() - killedAt;
      // One refresh a second, and detection within one check interval plus its timeout.
      expect(elapsed).toBeLessThan(2000);
      const color = await page.$eval(
        `tr[data-backend="${victim.id}"] td`,
        (td) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(td)
            .backgroundColor,
      );
      expect(color).toBe('rgb(253, 232, 232)');
      const others = await page.$$eval('tr[data-backend][data-state="healthy"]', (trs) => trs.length);
      expect(others).toBe(2);
      expect(errors).toEqual([]);
      // Self-contained: nothing but the page and its status.json polls.
      for (const url of requested)
        expect(url === `${adminUrl}/status` || url === `${adminUrl}/status.json`, url).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
