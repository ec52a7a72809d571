import { backend } from '@switchyard/core';
import { httpCheck } from '@switchyard/health';
import { deadAddress, generateTestPki, startBackend, type TestBackend } from '@switchyard/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const pki = generateTestPki();

/** The Host, path and method of the last request `up` received. */
function lastRequest(up: TestBackend): { host: string | undefined; path: string; method: string } | undefined {
  const r = up.requests.at(-1);
  return r && { host: r.headers.host, path: r.url, method: r.method };
}

describe('httpCheck over HTTP', () => {
  let up: TestBackend;
  const check = httpCheck({ timeoutMs: 300 });
  beforeAll(async () => {
    up = await startBackend({ keepAliveTimeout: 60_000 });
  });
  afterEach(() => {
    up.mode = 'ok';
  });
  afterAll(async () => {
    await check.close?.();
    await up.stop();
  });

  it('sends GET / with the backend as Host and passes on exactly 200', async () => {
    const result = await check.check(up.backend);
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(lastRequest(up)).toEqual({ host: up.backend.id, path: '/', method: 'GET' });
  });

  it('fails on any other status, with the status as reason', async () => {
    up.mode = { status: 503 };
    expect(await check.check(up.backend)).toMatchObject({ ok: false, status: 503, reason: 'status 503' });
    up.mode = { status: 204 };
    expect(await check.check(up.backend)).toMatchObject({ ok: false, status: 204, reason: 'status 204' });
  });

  it('fails with a timeout reason when the backend hangs', async () => {
    up.mode = 'hang';
    const result = await check.check(up.backend);
    expect(result).toMatchObject({ ok: false, reason: 'timeout after 300 ms' });
    expect(result.durationMs).toBeGreaterThanOrEqual(290);
    expect(result.durationMs).toBeLessThan(1000);
  });

  it('fails when the backend drops the connection', async () => {
    up.mode = 'reset';
    const result = await check.check(up.backend);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/reset|closed|socket/i);
  });

  it('fails with "connection refused" on a port with nothing listening', async () => {
    expect(await check.check(backend(await deadAddress()))).toMatchObject({ ok: false, reason: 'connection refused' });
  });

  it('opens a new connection for every check unless reuseConnection', async () => {
    const before = up.connections;
    for (let i = 0; i < 3; i++) expect((await check.check(up.backend)).ok).toBe(true);
    expect(up.connections - before).toBe(3);
    const reusing = httpCheck({ reuseConnection: true });
    const mid = up.connections;
    for (let i = 0; i < 3; i++) expect((await reusing.check(up.backend)).ok).toBe(true);
    expect(up.connections - mid).toBe(1);
    await reusing.close?.();
  });

  it('honours path, method, host, headers and an expectStatus predicate', async () => {
    up.mode = { status: 204 };
    const custom = httpCheck({
      path: '/healthz?full=1',
      method: 'HEAD',
      host: 'svc.test',
      expectStatus: (s) => s < 300,
    });
    expect(await custom.check(up.backend)).toMatchObject({ ok: true, status: 204 });
    expect(lastRequest(up)).toEqual({ host: 'svc.test', path: '/healthz?full=1', method: 'HEAD' });
    await custom.close?.();
  });

  it('runs the validator on the body and reports what it said', async () => {
    up.mode = { status: 200, body: '{"db":"down"}' };
    const validating = httpCheck({
      validator: ({ body }) => (JSON.parse(body).db === 'up' ? true : `db is ${JSON.parse(body).db}`),
    });
    expect(await validating.check(up.backend)).toMatchObject({
      ok: false,
      status: 200,
      reason: 'validator said: db is down',
    });
    up.mode = { status: 200, body: '{"db":"up"}' };
    expect(await validating.check(up.backend)).toMatchObject({ ok: true, status: 200 });
    const throwing = httpCheck({
      validator: () => {
        throw new Error('boom');
      },
    });
    expect(await throwing.check(up.backend)).toMatchObject({ ok: false, reason: 'validator said: boom' });
    await Promise.all([validating.close?.(), throwing.close?.()]);
  });

  it('rejects bad options naming the field', () => {
    expect(() => httpCheck({ path: 'x' })).toThrow(/httpCheck path/);
    expect(() => httpCheck({ expectStatus: 42 })).toThrow(/expectStatus/);
  });
});

describe('httpCheck over HTTPS', () => {
  let up: TestBackend;
  beforeAll(async () => {
    up = await startBackend({ tls: pki.server, keepAliveTimeout: 60_000 });
  });
  afterAll(() => up.stop());

  it('passes with the CA (IP and SNI names), fails without it, and on a wrong SNI', async () => {
    const results = [];
    for (const [opts, ok] of [
      [{ ca: pki.ca.cert }, true],
      [{ ca: pki.ca.cert, sni: 'upstream.test' }, true],
      [{}, false],
      [{ ca: pki.otherCa.cert }, false],
      [{ ca: pki.ca.cert, sni: 'wrong.test' }, false],
      [{ verifyCert: false }, true],
    ] as const) {
      const check = httpCheck({ tls: true, ...opts });
      const result = await check.check(up.backend);
      results.push(result);
      expect(result.ok, JSON.stringify(opts)).toBe(ok);
      if (!ok) expect(result.reason).toMatch(/^TLS certificate verification failed/);
      await check.close?.();
    }
    expect(results[4]?.reason).toMatch(/wrong\.test/);
  });

  it('sends the configured SNI even when the Host header differs', async () => {
    const check = httpCheck({ tls: true, ca: pki.ca.cert, sni: 'upstream.test', host: 'other.example' });
    expect(await check.check(up.backend)).toMatchObject({ ok: true, status: 200 });
    expect(up.requests.at(-1)?.headers.host).toBe('other.example');
    await check.close?.();
  });

  it('close() destroys the per-backend clients and a later check opens a new one', async () => {
    const check = httpCheck({ tls: true, ca: pki.ca.cert, reuseConnection: true });
    expect((await check.check(up.backend)).ok).toBe(true);
    await check.close?.();
    expect((await check.check(backend(up.backend.id))).ok).toBe(true);
    await check.close?.();
  });
});
