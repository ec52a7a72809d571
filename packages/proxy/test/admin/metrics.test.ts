import { request } from 'node:http';
import { type Backend, backend, HttpPeer } from '@switchyard/core';
import { type Discovery, httpCheck } from '@switchyard/health';
import {
  createAdminServer,
  createBalancer,
  createMetrics,
  createProxyServer,
  createUpstreamPeer,
  type StatusDocument,
} from '@switchyard/proxy';
import { roundRobin } from '@switchyard/selectors';
import { deadAddress, startBackend, waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { adminGet, sample } from './admin-helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Two live backends and one dead address behind a round-robin balancer with health checks, metrics and admin. */
async function rig(options: { health?: boolean; noRetries?: boolean } = {}) {
  const a = await startBackend({ name: 'a' });
  const b = await startBackend({ name: 'b' });
  cleanup.push(
    () => a.close(),
    () => b.close(),
  );
  const dead = await deadAddress();
  const backends = [backend(a.id), backend(b.id), backend(dead)];
  const balancer = createBalancer({
    backends,
    selector: roundRobin,
    ...(options.health === true
      ? { health: { check: httpCheck({ path: '/healthz', timeoutMs: 200 }), intervalMs: 100 } }
      : {}),
  });
  await balancer.ready();
  cleanup.push(() => balancer.close());
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.addUpstream('web', balancer);
  cleanup.push(async () => metrics.close());
  const proxy = createProxyServer(
    { upstreamPeer: createUpstreamPeer({ balancer, key: (s) => s.uri, peer: (x) => new HttpPeer(x, false, '') }) },
    {
      observers: [balancer.observer, metrics.observer],
      accessLog: false,
      ...(options.noRetries === true ? { retryBudget: { budgetPercent: 0, minPerSecond: 0 } } : {}),
    },
  );
  const { port } = await proxy.listen(0);
  cleanup.push(() => proxy.close({ deadlineMs: 500 }));
  const admin = createAdminServer({ metrics, proxy, port: 0 });
  const adminPort = (await admin.listen()).port;
  cleanup.push(() => admin.close());
  return { a, b, dead, balancer, metrics, proxy, port, adminPort };
}

describe('metrics', () => {
  it('counts every attempt by backend and status, failed attempts by error code, retries and responses', async () => {
    const { a, b, dead, port, adminPort } = await rig();
    const N = 30;
    for (let i = 0; i < N; i++) expect(await get(port, `/r${i}`)).toBe(200);
    const { status, body, headers } = await adminGet(adminPort, '/metrics');
    expect(status).toBe(200);
    expect(headers['content-type']).toContain('text/plain; version=0.0.4');
    const answered =
      sample(body, 'switchyard_upstream_requests_total', { upstream: 'web', backend: a.id, code: '200' }) +
      sample(body, 'switchyard_upstream_requests_total', { upstream: 'web', backend: b.id, code: '200' });
    expect(answered).toBe(N);
    expect(sample(body, 'switchyard_upstream_requests_total', { backend: a.id })).toBe(a.traffic());
    // Every request that picked the dead backend first was refused there and retried once.
    const refused = sample(body, 'switchyard_upstream_errors_total', {
      upstream: 'web',
      backend: dead,
      error: 'LB_ERR_CONNECT_FAILED',
    });
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(sample(body, 'switchyard_retries_total', { upstream: 'web' })).toBe(refused);
    expect(sample(body, 'switchyard_downstream_requests_total', { code: '200' })).toBe(N);
    expect(sample(body, 'switchyard_upstream_request_duration_seconds_count', { upstream: 'web' })).toBe(N);
    expect(sample(body, 'switchyard_upstream_request_duration_seconds_bucket', { upstream: 'web', le: '+Inf' })).toBe(
      N,
    );
    expect(sample(body, 'switchyard_backend_inflight', { upstream: 'web', backend: a.id })).toBe(0);
    expect(sample(body, 'switchyard_backend_healthy', { upstream: 'web', backend: dead })).toBe(1);
    expect(sample(body, 'switchyard_backend_ejected', { upstream: 'web', backend: dead })).toBe(0);
    // No default process metrics were asked for.
    expect(body).not.toContain('process_cpu');
  });

  it('counts the retries the retry budget refused', async () => {
    const { dead, port, adminPort } = await rig({ noRetries: true });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push(await get(port, `/n${i}`));
    const { body } = await adminGet(adminPort, '/metrics');
    const failed = sample(body, 'switchyard_upstream_errors_total', {
      upstream: 'web',
      backend: dead,
      error: 'LB_ERR_CONNECT_FAILED',
    });
    // A budget of 0% with no floor refuses every retry: each request that met the dead backend ends 502.
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 502)).toHaveLength(failed);
    expect(sample(body, 'switchyard_retries_refused_total', { upstream: 'web' })).toBe(failed);
    expect(sample(body, 'switchyard_retries_total', { upstream: 'web' })).toBe(0);
  });

  it('counts 5xx answers under their code', async () => {
    const { a, b, port, adminPort } = await rig();
    a.mode = '503';
    b.mode = '503';
    for (let i = 0; i < 6; i++) await get(port, '/x');
    const { body } = await adminGet(adminPort, '/metrics');
    // A 503 is an answer: passed on, not retried; only the dead backend's refusals are retried.
    expect(sample(body, 'switchyard_upstream_requests_total', { code: '503' })).toBe(6);
    expect(sample(body, 'switchyard_downstream_requests_total', { code: '503' })).toBe(6);
  });

  it('counts a client that went away as 499, and not as an upstream error', async () => {
    const { a, b, dead, port, adminPort } = await rig();
    a.mode = 'hang';
    b.mode = 'hang';
    const req = request({ host: '127.0.0.1', port, path: '/gone', agent: false });
    req.on('error', () => {});
    req.end();
    await waitFor('the request to reach a backend', () => a.requests.length + b.requests.length > 0, 5000, 20);
    req.destroy();
    await waitFor(
      'the 499',
      async () =>
        sample((await adminGet(adminPort, '/metrics')).body, 'switchyard_downstream_requests_total', {
          code: '499',
        }) === 1,
      5000,
      50,
    );
    const body = (await adminGet(adminPort, '/metrics')).body;
    for (const id of [a.id, b.id]) {
      expect(sample(body, 'switchyard_upstream_errors_total', { backend: id })).toBeNaN();
      expect(sample(body, 'switchyard_backend_inflight', { backend: id })).toBe(0);
    }
    // Only the dead backend, if it was tried first, has errors: refused connections.
    const refused = sample(body, 'switchyard_upstream_errors_total', { backend: dead });
    expect(Number.isNaN(refused) || refused === 1).toBe(true);
  });

  it('counts a request the client abandoned under the status its record carries (499)', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const record = {
      method: 'GET',
      path: '/',
      backend: undefined,
      attempts: 1,
      durationMs: 3,
      bytesIn: 10,
      bytesOut: 0,
    };
    metrics.observer.onRequestEnd?.({ ...record, status: 499 });
    metrics.observer.onRequestEnd?.({ ...record, status: 200 });
    const text = await metrics.text();
    expect(sample(text, 'switchyard_downstream_requests_total', { code: '499' })).toBe(1);
    expect(sample(text, 'switchyard_downstream_requests_total', { code: '200' })).toBe(1);
    const status = metrics.statusRaw({ listening: true, draining: false });
    expect(status.downstream.requests).toBe(2);
    expect(status.downstream.errors).toBe(1);
  });

  it('tracks health, counts checks, and the status document and /readyz follow a backend that dies', async () => {
    const { a, b, dead, proxy, adminPort } = await rig({ health: true });
    await waitFor(
      'checks',
      async () =>
        sample((await adminGet(adminPort, '/metrics')).body, 'switchyard_health_checks_total', {
          backend: dead,
          result: 'fail',
        }) >= 1,
      5000,
      50,
    );
    let body = (await adminGet(adminPort, '/metrics')).body;
    expect(sample(body, 'switchyard_backend_healthy', { backend: dead })).toBe(0);
    expect(sample(body, 'switchyard_backend_healthy', { backend: a.id })).toBe(1);
    expect(sample(body, 'switchyard_health_checks_total', { backend: a.id, result: 'pass' })).toBeGreaterThanOrEqual(1);
    expect((await adminGet(adminPort, '/readyz')).status).toBe(200);
    await a.stop();
    await waitFor(
      'a unhealthy',
      async () => {
        const doc = JSON.parse((await adminGet(adminPort, '/status.json')).body) as StatusDocument;
        return doc.upstreams[0]?.backends.find((x) => x.id === a.id)?.healthy === false;
      },
      5000,
      50,
    );
    body = (await adminGet(adminPort, '/metrics')).body;
    expect(sample(body, 'switchyard_backend_healthy', { backend: a.id })).toBe(0);
    const doc = JSON.parse((await adminGet(adminPort, '/status.json')).body) as StatusDocument;
    expect(doc.version).toBe(1);
    expect(doc.upstreams[0]?.name).toBe('web');
    expect(doc.upstreams[0]?.readyBackends).toBe(1);
    expect(doc.ready).toBe(true);
    await b.stop();
    await waitFor('not ready', async () => (await adminGet(adminPort, '/readyz')).status === 503, 5000, 50);
    await b.restart();
    await waitFor('ready again', async () => (await adminGet(adminPort, '/readyz')).status === 200, 5000, 50);
    const closing = proxy.close({ deadlineMs: 200 });
    const r = await adminGet(adminPort, '/readyz');
    expect(r.status).toBe(503);
    expect(r.body).toContain('draining');
    expect((await adminGet(adminPort, '/healthz')).status).toBe(200);
    await closing;
  });

  it('removes the series of a backend that left its upstream', async () => {
    const u = await startBackend();
    const v = await startBackend();
    cleanup.push(
      () => u.close(),
      () => v.close(),
    );
    const listeners = new Set<(list: readonly Backend[]) => void>();
    let current = [backend(u.id), backend(v.id)];
    const discovery: Discovery = {
      discover: async () => current,
      on(_event, listener) {
        listeners.add(listener);
        return discovery;
      },
      off(_event, listener) {
        listeners.delete(listener);
        return discovery;
      },
    };
    const balancer = createBalancer({
      discovery,
      selector: roundRobin,
    });
    await balancer.ready();
    cleanup.push(() => balancer.close());
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.addUpstream('svc', balancer);
    const proxy = createProxyServer(
      { upstreamPeer: createUpstreamPeer({ balancer, key: (s) => s.uri, peer: (x) => new HttpPeer(x, false, '') }) },
      {
        observers: [balancer.observer, metrics.observer],
        accessLog: false,
      },
    );
    const { port } = await proxy.listen(0);
    cleanup.push(() => proxy.close({ deadlineMs: 500 }));
    for (let i = 0; i < 4; i++) await get(port, '/');
    let text = await metrics.text();
    expect(sample(text, 'switchyard_upstream_requests_total', { backend: v.id })).toBe(2);
    current = [backend(u.id)];
    for (const l of listeners) l(current);
    text = await metrics.text();
    expect(text).not.toContain(v.id);
    expect(sample(text, 'switchyard_upstream_requests_total', { backend: u.id })).toBe(2);
  });
});
