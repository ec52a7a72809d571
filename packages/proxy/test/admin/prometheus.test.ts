import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type ServeProcess, startBackend, startServe, type TestBackend, waitFor } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminGet, sample } from './admin-helpers.js';

// A real Prometheus scrapes a running `switchyard serve` once a second; the test drives known
// traffic through the proxy, kills one backend, and reads the results back through
// Prometheus's own HTTP query API.

const N = 90;

interface PromResult {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(port: number, promql: string): Promise<PromResult[]> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data?: { result: PromResult[] } };
  return body.status === 'success' ? (body.data?.result ?? []) : [];
}

function run(program: string, args: readonly string[], input: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

describe('a real Prometheus scraping switchyard serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-prometheus-'));
  const backends: TestBackend[] = [];
  let serve: ServeProcess;
  let prometheus: ChildProcess;
  let adminPort: number;
  let promPort: number;

  beforeAll(async () => {
    for (const name of ['a', 'b', 'c']) backends.push(await startBackend({ name }));
    adminPort = await freePort();
    serve = await startServe({
      config: (port) => ({
        listen: `127.0.0.1:${port}`,
        accessLog: false,
        admin: { listen: `127.0.0.1:${adminPort}` },
        upstreams: {
          web: {
            backends: backends.map((b) => b.id),
            selector: { type: 'round-robin' },
            health: { type: 'http', path: '/healthz', intervalMs: 200, timeoutMs: 200 },
          },
        },
      }),
    });
    promPort = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: switchyard',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${adminPort}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      '/usr/bin/prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=error',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      'Prometheus to be ready',
      async () => (await fetch(`http://127.0.0.1:${promPort}/-/ready`).catch(() => undefined))?.ok === true,
      60_000,
      200,
    );
  }, 90_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await serve?.stop();
    await Promise.all(backends.map((b) => b.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees every request per backend and the dead backend fall to unhealthy', { timeout: 120_000 }, async () => {
    const [, , victim] = backends as [TestBackend, TestBackend, TestBackend];
    // startServe's readiness probes went through the proxy too: count from here.
    const before = sample((await adminGet(adminPort, '/metrics')).body, 'switchyard_upstream_requests_total');
    for (let i = 0; i < N; i++) {
      if (i === N / 2) await victim.stop();
      const res = await fetch(`http://127.0.0.1:${serve.port}/k${i}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    // Prometheus's view: the attempts answered per backend sum to N (the dead backend's refused
    // attempts were retried elsewhere and are counted as errors, not answers).
    await waitFor(
      'Prometheus to have scraped all N requests',
      async () => {
        const r = await query(promPort, 'sum(switchyard_upstream_requests_total{upstream="web"})');
        return Number(r[0]?.value[1]) === (Number.isNaN(before) ? 0 : before) + N;
      },
      30_000,
      250,
    );
    const perBackend = await query(promPort, 'sum by (backend) (switchyard_upstream_requests_total)');
    for (const b of backends) {
      const seen = perBackend.find((r) => r.metric.backend === b.id);
      expect(Number(seen?.value[1] ?? 0), b.id).toBe(b.traffic());
    }
    await waitFor(
      'the dead backend to be reported unhealthy',
      async () => {
        const r = await query(promPort, `switchyard_backend_healthy{backend="${victim.id}"}`);
        return r[0]?.value[1] === '0';
      },
      30_000,
      250,
    );
    const live = await query(promPort, `switchyard_backend_healthy{backend="${backends[0]?.id}"}`);
    expect(live[0]?.value[1]).toBe('1');
    const failed = await query(promPort, `sum(switchyard_health_checks_total{backend="${victim.id}",result="fail"})`);
    expect(Number(failed[0]?.value[1])).toBeGreaterThanOrEqual(1);
    const up = await query(promPort, 'up{job="switchyard"}');
    expect(up[0]?.value[1]).toBe('1');
  });

  it('exposes text that promtool check metrics accepts, with the default process metrics', async () => {
    const { status, body } = await adminGet(adminPort, '/metrics');
    expect(status).toBe(200);
    expect(sample(body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(body).toContain('# TYPE switchyard_upstream_request_duration_seconds histogram');
    const checked = await run('/usr/bin/promtool', ['check', 'metrics'], body);
    expect(checked.out).toBe('');
    expect(checked.code).toBe(0);
  });
});
