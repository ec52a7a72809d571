import { backend, HttpPeer, isLbError } from '@switchyard/core';
import {
  createAdminServer,
  createBalancer,
  createMetrics,
  createProxyServer,
  createUpstreamPeer,
  formatConfig,
  resolveConfig,
} from '@switchyard/proxy';
import { roundRobin } from '@switchyard/selectors';
import { startBackend, type TestBackend } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange } from '../helpers/raw-client.js';
import { adminGet } from './admin-helpers.js';

const TOKEN = 'k3y-0f-the-admin-listener-42';

function thrownCode(fn: () => unknown): { code: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: isLbError(err) ? err.code : undefined, message: String((err as Error).message) };
  }
  return { code: undefined, message: '' };
}

describe('hostile admin input', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  let upstream: TestBackend;
  let port: number;

  beforeAll(async () => {
    upstream = await startBackend();
    const balancer = createBalancer({ backends: [backend(upstream.id)], selector: roundRobin });
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.addUpstream('web', balancer);
    const proxy = createProxyServer(
      { upstreamPeer: createUpstreamPeer({ balancer, key: (s) => s.uri, peer: (x) => new HttpPeer(x, false, '') }) },
      { observers: [metrics.observer], accessLog: false },
    );
    await proxy.listen(0);
    const admin = createAdminServer({ metrics, proxy, port: 0, token: TOKEN });
    port = (await admin.listen()).port;
    cleanup.push(
      () => admin.close(),
      () => proxy.close({ deadlineMs: 100 }),
      () => balancer.close(),
      () => upstream.close(),
    );
  });

  afterAll(async () => {
    for (const step of cleanup) await step();
    // Whatever the admin listener was sent, nothing reached an upstream.
    expect(upstream.traffic()).toBe(0);
  });

  const bearer = { authorization: `Bearer ${TOKEN}` };

  it('answers 401 without the token, with a wrong one (of any length) and for unknown paths too', async () => {
    for (const path of ['/metrics', '/status', '/status.json', '/healthz', '/readyz', '/nope', '/../etc/passwd']) {
      const r = await adminGet(port, path);
      expect(r.status, path).toBe(401);
      expect(r.body).not.toContain(TOKEN);
      expect(r.headers['www-authenticate']).toContain('Bearer realm="switchyard admin"');
    }
    for (const wrong of [
      'Bearer x',
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `bearer ${'y'.repeat(5000)}`,
      'Basic !!!',
      'Token abc',
      '',
    ]) {
      expect(
        (await adminGet(port, '/metrics', wrong === '' ? {} : { authorization: wrong })).status,
        wrong.slice(0, 30),
      ).toBe(401);
    }
  });

  it('serves with the token as a bearer or as the HTTP Basic password (what a browser sends)', async () => {
    expect((await adminGet(port, '/metrics', bearer)).status).toBe(200);
    const basic = `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`;
    expect((await adminGet(port, '/status.json', { authorization: basic })).status).toBe(200);
    const page = await adminGet(port, '/status', bearer);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.body).not.toMatch(/https?:\/\//);
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    for (const path of ['/metricsx', '/status/', '/admin', '/metrics/../status', '//metrics', '/%2e%2e/']) {
      expect((await adminGet(port, path, bearer)).status, path).toBe(404);
    }
    expect((await adminGet(port, '/metrics?x=1', bearer)).status).toBe(200);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']) {
      const r = await adminGet(port, '/metrics', bearer, method);
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    const head = await adminGet(port, '/healthz', bearer, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('refuses bodies, huge heads, long targets and malformed requests', async () => {
    const auth = `Authorization: Bearer ${TOKEN}\r\n`;
    const withBody = await rawExchange(
      port,
      `GET /metrics HTTP/1.1\r\nHost: a\r\n${auth}Content-Length: 5\r\n\r\nhello`,
    );
    expect(withBody.responses[0]?.status).toBe(413);
    const chunked = await rawExchange(
      port,
      `GET /metrics HTTP/1.1\r\nHost: a\r\n${auth}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    );
    expect(chunked.responses[0]?.status).toBe(413);
    const huge = await rawExchange(
      port,
      `GET /metrics HTTP/1.1\r\nHost: a\r\n${auth}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(huge.responses[0]?.status).toBe(431);
    const long = await adminGet(port, `/${'m'.repeat(2000)}`, bearer);
    expect(long.status).toBe(414);
    for (const junk of [
      'GARBAGE\r\n\r\n',
      'GET /metrics HTTP/9.9\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost a\r\n\r\n',
      '\x00\x01\x02\r\n\r\n',
    ]) {
      const r = await rawExchange(port, junk, { end: true });
      expect(r.responses[0]?.status, JSON.stringify(junk)).toBe(400);
      // Answered and hung up: the connection serves nothing more.
      expect(r.raw.toString()).toMatch(/^HTTP\/1\.1 400 [^\r]*\r\nconnection: close\r\n/i);
    }
    // Still serving after all of it.
    expect((await adminGet(port, '/healthz', bearer)).status).toBe(200);
  });

  it('refuses a non-loopback listen without a token, and weak tokens, naming the field', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let r = thrownCode(() => createAdminServer({ metrics, host: '0.0.0.0' }));
    expect(r.code).toBe('LB_ERR_INVALID_OPTION');
    expect(r.message).toContain('admin server token');
    r = thrownCode(() => createAdminServer({ metrics, host: '::', token: 'short' }));
    expect(r.message).toContain('at least 16');
    expect(r.message).not.toContain('short');
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
      expect(thrownCode(() => createAdminServer({ metrics, host })).code, host).toBeUndefined();
    }
    r = thrownCode(() => createAdminServer({ metrics: {} as never }));
    expect(r.message).toContain('admin server metrics');
  });

  it('config: admin.listen off loopback needs admin.token; the token never prints', () => {
    const base = { upstreams: { web: { backends: ['127.0.0.1:9'] } } };
    let r = thrownCode(() => resolveConfig({ ...base, admin: { listen: '0.0.0.0:9901' } }, '/'));
    expect(r.code).toBe('LB_ERR_INVALID_CONFIG');
    expect(r.message).toContain('admin.token');
    r = thrownCode(() => resolveConfig({ ...base, admin: { listen: '0.0.0.0:9901', token: 'tiny-secret' } }, '/'));
    expect(r.message).toContain('admin.token');
    expect(r.message).not.toContain('tiny-secret');
    r = thrownCode(() => resolveConfig({ ...base, admin: { listen: 'nowhere' } }, '/'));
    expect(r.message).toContain('admin.listen');
    const config = resolveConfig({ ...base, admin: { listen: '[::]:0', token: TOKEN } }, '/');
    expect(config.admin).toEqual({ host: '::', port: 0, token: TOKEN });
    expect(formatConfig(config)).not.toContain(TOKEN);
    expect(resolveConfig({ ...base, admin: {} }, '/').admin).toEqual({
      host: '127.0.0.1',
      port: 9901,
      token: undefined,
    });
    expect(resolveConfig(base, '/').admin).toBeUndefined();
  });
});
