import { request } from 'node:http';
import { type ServeProcess, startBackend, startServe, type TestBackend, waitFor } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `switchyard serve --workers N` against real backends on loopback: health checks run once, in
// the primary, and every worker acts on the same view.

const HEALTH_PATH = '/healthz';
const INTERVAL_MS = 200;

const checkedConfig = (port: number, backends: readonly TestBackend[]) => ({
  listen: `127.0.0.1:${port}`,
  upstreams: {
    web: {
      backends: backends.map((b) => b.id),
      selector: { type: 'round-robin' },
      health: { type: 'http', path: HEALTH_PATH, intervalMs: INTERVAL_MS },
    },
  },
  routes: [{ prefix: '/', upstream: 'web' }],
  retries: { maxAttempts: 1 },
});

const checks = (b: TestBackend): number => b.requests.filter((r) => r.url === HEALTH_PATH).length;

/** A GET on a fresh connection (so the cluster hands it to any worker); resolves to the status. */
function getStatus(port: number, path: string, agent: false | import('node:http').Agent = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const listeningPids = (serve: ServeProcess): number[] =>
  serve
    .logs()
    .filter((l) => l.msg === 'switchyard listening')
    .map((l) => Number(l.pid));

async function allListening(serve: ServeProcess, workers: number): Promise<void> {
  await waitFor(`${workers} workers listening`, () => listeningPids(serve).length >= workers, 45_000, 50);
}

/** The `health view` lines the workers logged for `id` turning `healthy`. */
const viewLines = (serve: ServeProcess, id: string, healthy: boolean) =>
  serve.logs().filter((l) => l.component === 'health-view' && l.backend === id && l.healthy === healthy);

describe('serve --workers: one health view per host', () => {
  let one: ServeProcess;
  let four: ServeProcess;
  const b1: TestBackend[] = [];
  const b4: TestBackend[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) b1.push(await startBackend({ name: `one-${i}` }));
    for (let i = 0; i < 3; i++) b4.push(await startBackend({ name: `four-${i}` }));
    // The third backend of `four` joins with a reload (the last test).
    [one, four] = await Promise.all([
      startServe({ config: (port) => checkedConfig(port, b1), readyTimeoutMs: 45_000 }),
      startServe({
        config: (port) => checkedConfig(port, b4.slice(0, 2)),
        extraArgs: ['--workers', '4'],
        readyTimeoutMs: 45_000,
      }),
    ]);
    await allListening(four, 4);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([one?.stop(), four?.stop()]);
    await Promise.all([...b1, ...b4].map((b) => b.close()));
  });

  it('with --workers 4 a backend receives as many checks per interval as with one process', async () => {
    // Both proxies run side by side over the same window, so machine load slows both alike.
    const before1 = checks(b1[0] as TestBackend);
    const before4 = checks(b4[0] as TestBackend);
    await new Promise((resolve) => setTimeout(resolve, 15 * INTERVAL_MS));
    const n1 = checks(b1[0] as TestBackend) - before1;
    const n4 = checks(b4[0] as TestBackend) - before4;
    // One process checks every 200 ms ± 10 % jitter: 13 to 17 checks in 3 s, fewer when timers
    // run late. Checking in every worker would give about 4 × n1; one checker gives n1 ± a tick
    // or two of jitter and timer lateness.
    expect(n1).toBeGreaterThanOrEqual(5);
    expect(Math.abs(n4 - n1)).toBeLessThanOrEqual(Math.max(3, Math.ceil(0.25 * n1)));
  }, 30_000);

  it('every worker sees a transition within 100 ms and sends nothing to the backend it marks down', async () => {
    const [down, up] = b4 as [TestBackend, TestBackend];
    down.mode = 'fail';
    await waitFor('4 workers to see the backend down', () => viewLines(four, down.id, false).length >= 4, 10_000, 10);
    const lags = viewLines(four, down.id, false).map((l) => Number(l.lagMs));
    expect(lags.length).toBe(4);
    for (const lag of lags) expect(lag).toBeLessThanOrEqual(100);
    const seen = down.traffic();
    const statuses = await Promise.all(Array.from({ length: 24 }, (_, i) => getStatus(four.port, `/down-${i}`)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(down.traffic()).toBe(seen);
    expect(up.traffic()).toBeGreaterThanOrEqual(24);
  }, 30_000);

  it('a worker that restarts has the current view before it serves', async () => {
    const [down] = b4 as [TestBackend];
    expect(down.mode).toBe('fail');
    // Its checks now fail only by timing out (1 s): a worker that checked for itself would take it
    // for healthy during its first second and send it some of the requests below.
    down.handler = (req, res) => {
      setTimeout(
        () => {
          res.statusCode = 500;
          res.end();
        },
        req.url === HEALTH_PATH ? 1500 : 0,
      );
    };
    const pids = listeningPids(four);
    const victim = pids[0] as number;
    process.kill(victim, 'SIGKILL');
    await waitFor('a replacement worker listening', () => listeningPids(four).length > pids.length, 30_000, 50);
    const fresh = listeningPids(four).find((pid) => !pids.includes(pid)) as number;
    const lines = four.logs().filter((l) => Number(l.pid) === fresh);
    const received = lines.findIndex((l) => l.msg === 'health view received from the primary');
    const listening = lines.findIndex((l) => l.msg === 'switchyard listening');
    expect(received).toBeGreaterThanOrEqual(0);
    expect(received).toBeLessThan(listening);
    expect(lines[received]?.unhealthy).toEqual([down.id]);
    const seen = down.traffic();
    for (let i = 0; i < 24; i++) expect(await getStatus(four.port, `/after-restart-${i}`)).toBe(200);
    expect(down.traffic()).toBe(seen);
    down.handler = undefined;
  }, 60_000);

  it('SIGHUP reloads the shared view: a new backend is checked once and its state reaches every worker', async () => {
    const [down, , added] = b4 as [TestBackend, TestBackend, TestBackend];
    added.mode = 'fail';
    four.writeConfig(checkedConfig(four.port, b4));
    four.signal('SIGHUP');
    await waitFor(
      'the primary to reload its view',
      () => four.logs().some((l) => l.msg === 'health view reloaded'),
      20_000,
      20,
    );
    await waitFor(
      'the workers to reload',
      () => four.logs().filter((l) => l.msg === 'config reloaded').length >= 4,
      20_000,
      20,
    );
    // A worker hears `added` go down from the transition or from the view sent after the reload.
    await waitFor(
      'every worker to mark the added backend down',
      async () => {
        const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => getStatus(four.port, `/probe-${i}`)));
        return statuses.every((s) => s === 200) && added.traffic() === 0;
      },
      10_000,
      50,
    );
    const seenDown = down.traffic();
    const seenAdded = added.traffic();
    for (let i = 0; i < 24; i++) expect(await getStatus(four.port, `/after-reload-${i}`)).toBe(200);
    expect(down.traffic()).toBe(seenDown);
    expect(added.traffic()).toBe(seenAdded);
    const before = checks(added);
    await new Promise((resolve) => setTimeout(resolve, 15 * INTERVAL_MS));
    // Still one checker after the reload (13 to 17 checks in 3 s, see above; not 4 times that).
    expect(checks(added) - before).toBeLessThanOrEqual(17 + 3);
  }, 90_000);
});

describe('serve --workers: passive ejection is shared', () => {
  it('a backend ejected by one worker is ejected in all', async () => {
    const failing = await startBackend({ name: 'failing', mode: 'fail' });
    const good = await startBackend({ name: 'good' });
    const serve = await startServe({
      config: (port) => ({
        listen: `127.0.0.1:${port}`,
        upstreams: {
          web: {
            backends: [failing.id, good.id],
            selector: { type: 'round-robin' },
            outlier: { consecutiveFailures: 3, baseEjectionMs: 60_000 },
          },
        },
        routes: [{ prefix: '/', upstream: 'web' }],
        retries: { maxAttempts: 1 },
      }),
      extraArgs: ['--workers', '4'],
      readyTimeoutMs: 45_000,
    });
    try {
      await allListening(serve, 4);
      // One kept-alive connection: one worker sees every failure, so only it can eject by itself.
      const { Agent } = await import('node:http');
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const ejected = () =>
        serve.logs().filter((l) => l.role !== 'primary' && typeof l.msg === 'string' && / ejected for /.test(l.msg));
      for (let i = 0; i < 20 && ejected().length === 0; i++) await getStatus(serve.port, `/fail-${i}`, agent);
      agent.destroy();
      await waitFor('the ejection in all 4 workers', () => new Set(ejected().map((l) => l.pid)).size >= 4, 10_000, 10);
      const shared = ejected().filter((l) => String(l.msg).endsWith('(shared)'));
      expect(shared.length).toBeGreaterThanOrEqual(3);
      const seen = failing.traffic();
      const statuses = await Promise.all(Array.from({ length: 24 }, (_, i) => getStatus(serve.port, `/ok-${i}`)));
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(failing.traffic()).toBe(seen);
    } finally {
      await serve.stop();
      await Promise.all([failing.close(), good.close()]);
    }
  }, 120_000);
});
