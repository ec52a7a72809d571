import { connect } from 'node:net';
import {
  type FaultBackend,
  type ServeProcess,
  sleep,
  startFaultBackend,
  startLoad,
  startServe,
  waitFor,
} from '@switchyard/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { getHead, openIdleConnections, rawExchange } from '../helpers/raw-client.js';
import { startHostileRig } from './hostile-proxy.js';

// Connection-level abuse: headers dribbled byte by byte, and a flood of connections that send nothing.

describe('slowloris', () => {
  it('a client dribbling its headers is cut off once the headers timeout passes', async () => {
    const headersTimeout = 1000;
    const rig = await startHostileRig({ headersTimeout });
    try {
      // One header byte every 100 ms, forever (bounded to 100 bytes = 10 s): only the timeout can end it.
      const started = Date.now();
      const socket = connect({ port: rig.port, host: '127.0.0.1' });
      const received: Buffer[] = [];
      socket.on('data', (d: Buffer) => received.push(d));
      socket.on('error', () => {});
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
      await new Promise((r) => socket.once('connect', r));
      socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n');
      const drip = 'X-Slow: '.concat('a'.repeat(92));
      let sent = 0;
      const timer = setInterval(() => {
        if (sent >= drip.length || socket.destroyed) {
          clearInterval(timer);
          return;
        }
        socket.write(drip[sent++]!);
      }, 100);
      const elapsed = await Promise.race([closed, sleep(10_500).then(() => Number.POSITIVE_INFINITY)]);
      clearInterval(timer);
      socket.destroy();
      // Node checks the headers timeout on its connection-checking interval; the proxy must run it
      // often enough that the cut comes within a second of the deadline.
      expect(elapsed).toBeGreaterThanOrEqual(headersTimeout - 100);
      expect(elapsed).toBeLessThanOrEqual(headersTimeout + 1000);
      const text = Buffer.concat(received).toString('latin1');
      expect(text === '' || /^HTTP\/1\.1 408 /.test(text), text).toBe(true);
      expect(rig.backend.requests).toEqual([]);
      // Others are served meanwhile and afterwards.
      const ok = await rawExchange(rig.port, getHead('/after'));
      expect(ok.responses[0]?.status).toBe(200);
    } finally {
      await rig.close();
    }
  });
});

describe('a flood of idle connections', () => {
  const FLOOD = 10_000;
  let serve: ServeProcess | undefined;
  let backend: FaultBackend | undefined;

  afterAll(async () => {
    await serve?.stop();
    await backend?.stop();
  });

  it(`${FLOOD} connections that send nothing: memory bounded, others still served, all reclaimed after the headers timeout`, async () => {
    // Each side of the flood needs FLOOD descriptors: this process holds the clients, the proxy
    // (a child process, its own limit) the accepted sockets. `ulimit -n` here is checked, not assumed.
    // Long enough that opening the flood (seconds on a busy host) finishes before any of it is reaped.
    const headersTimeout = 30_000;
    backend = await startFaultBackend({ name: 'target' });
    serve = await startServe({
      config: (port) => ({
        listen: `127.0.0.1:${port}`,
        upstreams: { web: { backends: [backend!.id] } },
        accessLog: false,
        server: { headersTimeout, requestTimeout: 40_000 },
      }),
      // Node's default young generation: `serve`'s own (a fixed 64 MiB semi-space) is paged in
      // as allocation first sweeps through it, which during the flood would read as up to
      // 192 MiB of per-connection memory. This measures what the connections hold.
      env: { NODE_OPTIONS: '--max-semi-space-size=16' },
    });
    const warm = startLoad({ port: serve.port, concurrency: 4, maxRequests: 400 });
    await warm.done;
    expect(warm.counts.succeeded).toBe(400);
    await sleep(200);
    const rssBefore = serve.rss();
    const fdsBefore = serve.fds();

    const floodStart = Date.now();
    const flood = await openIdleConnections(serve.port, FLOOD, { batch: 250 });
    const openedIn = Date.now() - floodStart;
    try {
      expect(flood.failed, 'every flood connection was accepted').toBe(0);
      expect(openedIn, 'the flood opened before the headers timeout could reclaim it').toBeLessThan(
        headersTimeout - 5000,
      );
      await waitFor('the proxy to hold the flood', () => serve!.fds() >= fdsBefore + FLOOD * 0.95, 3000);
      const rssFlood = serve.rss();
      // Still serving others while the flood is held.
      const others = startLoad({ port: serve.port, concurrency: 4, maxRequests: 200, timeoutMs: 2000 });
      await others.done;
      expect(others.counts.succeeded, JSON.stringify(others.counts)).toBe(200);
      const slowest = Math.max(...others.records.map((r) => r.end - r.start));
      expect(slowest).toBeLessThan(1000);
      // Bound: an idle accepted socket costs node a few KiB (handle, stream state, parser slot);
      // 10 KiB each is generous and still proves the cost is per connection, not per byte waited.
      const perConnection = (rssFlood - rssBefore) / FLOOD;
      expect(perConnection, `RSS ${rssBefore} → ${rssFlood} bytes`).toBeLessThan(10 * 1024);
      console.info(
        `flood: ${FLOOD} idle connections opened in ${openedIn} ms; proxy RSS ${(rssBefore / 2 ** 20).toFixed(1)} → ${(rssFlood / 2 ** 20).toFixed(1)} MiB (${(perConnection / 1024).toFixed(2)} KiB each); others' slowest ${slowest} ms`,
      );
      // Reclaimed: the headers timeout closes connections that never sent a request.
      const reapBy = floodStart + openedIn + headersTimeout + 5000;
      await waitFor('the proxy to close the idle flood', () => flood.closedEarly() >= FLOOD, reapBy - Date.now(), 100);
      expect(
        Date.now() - floodStart,
        'the flood was reaped by the headers timeout, not earlier',
      ).toBeGreaterThanOrEqual(headersTimeout - 500);
      await waitFor('proxy fds back to their level before the flood', () => serve!.fds() <= fdsBefore + 10, 3000);
    } finally {
      for (const socket of flood.sockets) socket.destroy();
    }
  }, 120_000);
});
