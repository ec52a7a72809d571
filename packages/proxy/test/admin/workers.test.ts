import { spawn } from 'node:child_process';
import type { StatusDocument } from '@switchyard/proxy';
import { freePort, type ServeProcess, startBackend, startServe, type TestBackend, waitFor } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminGet, sample } from './admin-helpers.js';

// `serve --workers 2` with an admin listener: the primary serves the sum over the workers
// (prom-client's cluster aggregator), the process metrics once per worker (labelled), and the
// workers' status merged.

function promtool(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(text);
  });
}

describe('admin under --workers', () => {
  const backends: TestBackend[] = [];
  let serve: ServeProcess;
  let adminPort: number;

  beforeAll(async () => {
    for (const name of ['a', 'b']) backends.push(await startBackend({ name }));
    adminPort = await freePort();
    serve = await startServe({
      config: (port) => ({
        listen: `127.0.0.1:${port}`,
        accessLog: false,
        admin: { listen: `127.0.0.1:${adminPort}` },
        upstreams: { web: { backends: backends.map((b) => b.id), selector: { type: 'round-robin' } } },
      }),
      extraArgs: ['--workers', '2'],
    });
    // Both workers answer the primary once each has started.
    await waitFor(
      'both workers to report',
      async () => {
        const r = await adminGet(adminPort, '/status.json').catch(() => undefined);
        return r?.status === 200 && (JSON.parse(r.body) as StatusDocument).workers === 2;
      },
      30_000,
      100,
    );
  }, 60_000);

  afterAll(async () => {
    await serve?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('sums the workers, labels their process metrics, and merges their status', { timeout: 60_000 }, async () => {
    const before = sample((await adminGet(adminPort, '/metrics')).body, 'switchyard_downstream_requests_total');
    const N = 40;
    // New connections each time, so the kernel spreads them over both workers.
    for (let i = 0; i < N; i++) {
      const res = await fetch(`http://127.0.0.1:${serve.port}/w${i}`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const { status, body } = await adminGet(adminPort, '/metrics');
    expect(status).toBe(200);
    expect(sample(body, 'switchyard_downstream_requests_total') - (Number.isNaN(before) ? 0 : before)).toBe(N);
    const answered = backends.reduce(
      (n, b) => n + sample(body, 'switchyard_upstream_requests_total', { upstream: 'web', backend: b.id }),
      0,
    );
    expect(answered).toBe(backends.reduce((n, b) => n + b.traffic(), 0));
    // Summed over two workers, a 1/0 gauge stays 1/0 (aggregated with min).
    expect(sample(body, 'switchyard_backend_healthy', { backend: backends[0]?.id ?? '' })).toBe(1);
    expect(sample(body, 'process_cpu_user_seconds_total', { worker: '1' })).toBeGreaterThan(0);
    expect(sample(body, 'process_cpu_user_seconds_total', { worker: '2' })).toBeGreaterThan(0);
    const checked = await promtool(body);
    expect(checked.out).toBe('');
    expect(checked.code).toBe(0);

    const doc = JSON.parse((await adminGet(adminPort, '/status.json')).body) as StatusDocument;
    expect(doc.workers).toBe(2);
    expect(doc.ready).toBe(true);
    expect(doc.upstreams[0]?.backends.map((b) => b.id)).toEqual(backends.map((b) => b.id));
    expect((await adminGet(adminPort, '/readyz')).status).toBe(200);
  });
});
