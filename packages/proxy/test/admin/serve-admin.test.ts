import { request } from 'node:http';
import { freePort, type ServeProcess, startBackend, startServe, type TestBackend, waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { adminGet, sample } from './admin-helpers.js';

// `switchyard serve` with `admin`: the listener's URL is logged, a reload relabels the metrics
// (the removed backend's series go), and /readyz answers 503 while the proxy drains.

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

function config(port: number, adminPort: number, backends: readonly TestBackend[]) {
  return {
    listen: `127.0.0.1:${port}`,
    accessLog: false,
    admin: { listen: `127.0.0.1:${adminPort}` },
    server: { shutdownTimeoutMs: 5000 },
    upstreams: { web: { backends: backends.map((b) => b.id), selector: { type: 'round-robin' } } },
  };
}

describe('switchyard serve with an admin listener', () => {
  it('logs its URL, follows a reload, and is not ready while draining', { timeout: 60_000 }, async () => {
    const a = await startBackend({ name: 'a' });
    const b = await startBackend({ name: 'b' });
    cleanup.push(
      () => a.close(),
      () => b.close(),
    );
    const adminPort = await freePort();
    const serve: ServeProcess = await startServe({ config: (port) => config(port, adminPort, [a, b]) });
    cleanup.push(() => serve.stop());
    await waitFor('the admin log line', () => serve.logs().some((l) => l.msg === 'admin listening'), 10_000, 50);
    const line = serve.logs().find((l) => l.msg === 'admin listening');
    expect(line?.status).toBe(`http://127.0.0.1:${adminPort}/status`);
    expect((await adminGet(adminPort, '/readyz')).status).toBe(200);

    for (let i = 0; i < 4; i++) await (await fetch(`http://127.0.0.1:${serve.port}/r${i}`)).arrayBuffer();
    let text = (await adminGet(adminPort, '/metrics')).body;
    expect(sample(text, 'switchyard_upstream_requests_total', { upstream: 'web', backend: b.id })).toBeGreaterThan(0);

    // Reload without b: its series go, a's stay and keep counting.
    serve.writeConfig(config(serve.port, adminPort, [a]));
    serve.signal('SIGHUP');
    await waitFor(
      'b to leave the metrics',
      async () => !(await adminGet(adminPort, '/metrics')).body.includes(b.id),
      10_000,
      100,
    );
    const before = sample((await adminGet(adminPort, '/metrics')).body, 'switchyard_upstream_requests_total', {
      backend: a.id,
    });
    await (await fetch(`http://127.0.0.1:${serve.port}/after`)).arrayBuffer();
    text = (await adminGet(adminPort, '/metrics')).body;
    expect(sample(text, 'switchyard_upstream_requests_total', { backend: a.id })).toBe(before + 1);

    // A request held by the backend keeps the proxy draining after SIGTERM.
    a.delayMs = 3000;
    const held = new Promise<number>((resolve) => {
      request({ host: '127.0.0.1', port: serve.port, path: '/slow', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
        .on('error', () => resolve(0))
        .end();
    });
    await waitFor('the slow request to be in flight', () => a.requests.some((r) => r.url === '/slow'), 5000, 20);
    serve.signal('SIGTERM');
    await waitFor(
      '/readyz to say draining',
      async () => {
        const r = await adminGet(adminPort, '/readyz').catch(() => undefined);
        return r?.status === 503 && r.body.includes('draining');
      },
      2000,
      20,
    );
    expect((await adminGet(adminPort, '/healthz')).status).toBe(200);
    expect(await held).toBe(200);
    expect((await serve.exited).code).toBe(0);
  });
});
