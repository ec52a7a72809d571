import { type HttpPeer, LbError, preserve } from '@switchyard/core';
import type { UpstreamOutcome } from '@switchyard/proxy';
import { type BackendEcho, waitFor } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { rawExchange } from './helpers/raw-client.js';
import { captureLogger, peer, peersApp, send } from './helpers/server-client.js';
import { serverFixtures } from './helpers/server-fixtures.js';

const { upstream, proxy } = serverFixtures(1000);

describe('createProxyServer: forwarding', () => {
  it('forwards method, target, headers and body, and returns the upstream response', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const reply = await send(port, '/a/b?c=d', { method: 'POST', headers: { 'x-test': '1' }, body: 'hello' });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-backend']).toBe(u.name);
    const echo = JSON.parse(reply.body) as BackendEcho;
    expect(echo).toMatchObject({ method: 'POST', url: '/a/b?c=d', bodyBytes: 5 });
    expect(echo.headers['x-test']).toBe('1');
    expect(echo.headers.host).toBe(`127.0.0.1:${port}`);
  });

  it('handles empty POST bodies, HEAD, 204 and 304 without breaking framing on a reused connection', async () => {
    const u = await upstream();
    u.handler = (req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/204') res.writeHead(204).end();
        else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end();
        else
          res
            .writeHead(200, { 'content-length': '5', 'x-method': req.method ?? '' })
            .end(req.method === 'HEAD' ? undefined : 'hello');
      });
    };
    const { port } = await proxy(peersApp([peer(u.id, { options: { idleTimeout: 10_000 } })]), { accessLog: false });
    const empty = await send(port, '/', { method: 'POST', headers: { 'content-length': '0' } });
    expect(empty).toMatchObject({ status: 200, body: 'hello' });
    const head = await send(port, '/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('5');
    expect(head.body).toBe('');
    expect((await send(port, '/204')).status).toBe(204);
    expect((await send(port, '/304')).status).toBe(304);
    expect((await send(port, '/')).body).toBe('hello');
    expect(u.connections).toBe(1);
  });

  it('runs the phases in order and lets filters edit the upstream request and the response', async () => {
    const u = await upstream();
    const calls: string[] = [];
    const app = peersApp([peer(u.id)], {
      newCtx: () => {
        calls.push('newCtx');
        return { triedBackends: new Set<string>(), attempts: 0 };
      },
      requestFilter: async () => {
        calls.push('requestFilter');
        return false;
      },
      upstreamRequestFilter: async (_s, request) => {
        calls.push('upstreamRequestFilter');
        request.headers.push('x-added', 'yes');
        request.path = '/rewritten';
      },
      responseFilter: (_s, response) => {
        calls.push('responseFilter');
        response.status = 201;
        response.headers.push('x-resp', 'filtered');
      },
      logging: (_s, error) => {
        calls.push(`logging:${error?.code ?? 'ok'}`);
      },
    });
    const { port } = await proxy(app, { accessLog: false });
    const reply = await send(port, '/orig');
    expect(reply.status).toBe(201);
    expect(reply.headers['x-resp']).toBe('filtered');
    const echo = JSON.parse(reply.body) as BackendEcho;
    expect(echo.url).toBe('/rewritten');
    expect(echo.headers['x-added']).toBe('yes');
    await waitFor('five observer calls', () => calls.length === 5, 5000);
    expect(calls).toEqual(['newCtx', 'requestFilter', 'upstreamRequestFilter', 'responseFilter', 'logging:ok']);
  });

  it('lets requestFilter answer by itself; nothing goes upstream', async () => {
    const u = await upstream();
    const app = peersApp([peer(u.id)], {
      requestFilter: (session) => {
        session.response.writeHead(429, { 'x-rate-limit': '0' });
        session.response.end('slow down');
        return true;
      },
    });
    const { port } = await proxy(app, { accessLog: false });
    const reply = await send(port, '/');
    expect(reply).toMatchObject({ status: 429, body: 'slow down' });
    expect(u.requests.length).toBe(0);
  });

  it('maps LB_ERR_NO_HEALTHY_BACKEND to 503, refused connects to 502, thrown non-LbErrors to 500', async () => {
    const noBackend = await proxy(
      {
        upstreamPeer: () => {
          throw new LbError('LB_ERR_NO_HEALTHY_BACKEND', 'none');
        },
      },
      { accessLog: false },
    );
    expect((await send(noBackend.port, '/')).status).toBe(503);
    const u = await upstream();
    const deadPort = u.port;
    await u.close();
    const refused = await proxy(peersApp([peer(`127.0.0.1:${deadPort}`)]), { accessLog: false });
    expect((await send(refused.port, '/')).status).toBe(502);
    const buggy = await proxy(
      {
        upstreamPeer: () => {
          throw new TypeError('bug');
        },
      },
      { accessLog: false },
    );
    expect((await send(buggy.port, '/')).status).toBe(500);
  });

  it('strips hop-by-hop request headers (standard policy) and response hop-by-hop headers', async () => {
    const u = await upstream({
      handler: (_req, res) => {
        res.writeHead(200, { 'keep-alive': 'timeout=99', 'x-hop': 'drop-me', connection: 'x-hop', 'x-keep': 'yes' });
        res.end('ok');
      },
    });
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const reply = await send(port, '/', {
      headers: { connection: 'x-secret', 'x-secret': 's', te: 'trailers', 'proxy-authorization': 'Basic abc' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-keep']).toBe('yes');
    expect(reply.headers['x-hop']).toBeUndefined();
    expect(reply.headers['keep-alive']).not.toBe('timeout=99');
    const seen = u.requests[0]?.headers ?? {};
    expect(seen['x-secret']).toBeUndefined();
    expect(seen.te).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
  });

  it('answers 400 with the reason for a policy rejection and sends nothing upstream', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const reply = await send(port, '/', { headers: { connection: 'x-forwarded-for' } });
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('x-forwarded-for');
    expect(u.requests.length).toBe(0);
    expect(u.connections).toBe(0);
  });

  it('forwards everything with the preserve() policy', async () => {
    const u = await upstream();
    const p = peer(u.id, { options: { httpUpstreamRequestPolicy: preserve() } });
    const { port } = await proxy(peersApp([p]), { accessLog: false });
    const reply = await send(port, '/', { headers: { te: 'trailers', 'proxy-authorization': 'Basic abc' } });
    expect(reply.status).toBe(200);
    expect(u.requests[0]?.headers.te).toBe('trailers');
    expect(u.requests[0]?.headers['proxy-authorization']).toBe('Basic abc');
  });

  it('rejects Content-Length together with Transfer-Encoding with 400 before anything reaches the upstream', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    // Read until the proxy closes (or 2 s): a smuggled second request would have time to arrive.
    const exchange = await rawExchange(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
      { timeoutMs: 2000, responses: 2 },
    );
    const raw = exchange.raw.toString('latin1');
    expect(raw.startsWith('HTTP/1.1 400')).toBe(true);
    expect(u.requests.length).toBe(0);
  });
});

describe('createProxyServer: X-Forwarded-*', () => {
  it('replaces an untrusted client’s X-Forwarded-* with its own view', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    await send(port, '/', {
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil' },
    });
    const h = u.requests[0]?.headers ?? {};
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(`127.0.0.1:${port}`);
  });

  it('appends to a trusted proxy’s X-Forwarded-*', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false, trustedProxies: ['127.0.0.1'] });
    await send(port, '/', {
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'example.com' },
    });
    const h = u.requests[0]?.headers ?? {};
    expect(h['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('https, http');
    expect(h['x-forwarded-host']).toBe(`example.com, 127.0.0.1:${port}`);
  });
});

describe('createProxyServer: observers and access log', () => {
  it('reports each attempt’s outcome and duration to observers', async () => {
    const ok = await upstream();
    const failing = await upstream({ mode: 'fail' });
    const events: [string, UpstreamOutcome][] = [];
    const observer = {
      onStart: (p: HttpPeer) => events.push([p.id, 'success']),
      onFinish: (p: HttpPeer, outcome: UpstreamOutcome, ms: number) => {
        expect(ms).toBeGreaterThanOrEqual(0);
        events.push([p.id, outcome]);
      },
    };
    const a = await proxy(peersApp([peer(ok.id)]), { accessLog: false, observers: [observer] });
    await send(a.port, '/');
    const b = await proxy(peersApp([peer(failing.id)]), { accessLog: false, observers: [observer] });
    expect((await send(b.port, '/')).status).toBe(500);
    expect(events).toEqual([
      [ok.id, 'success'],
      [ok.id, 'success'],
      [failing.id, 'success'],
      [failing.id, 'http-5xx'],
    ]);
  });

  it('writes one access-log line per request with the fields, and can be switched off', async () => {
    const u = await upstream();
    const { logger, lines } = captureLogger();
    const { port } = await proxy(peersApp([peer(u.id)]), { logger });
    await send(port, '/log/me?token=secret', { method: 'POST', body: 'x'.repeat(100) });
    await waitFor('an access-log line', () => lines.length >= 1, 5000);
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 30,
      method: 'POST',
      path: '/log/me',
      status: 200,
      backend: u.id,
      attempts: 1,
      component: 'proxy',
    });
    expect(line.bytesIn).toBeGreaterThan(100);
    expect(line.bytesOut).toBeGreaterThan(0);
    expect(typeof line.durationMs).toBe('number');
    expect(lines.join('\n')).not.toContain('secret');

    const quiet = captureLogger();
    const off = await proxy(peersApp([peer(u.id)]), { logger: quiet.logger, accessLog: false });
    await send(off.port, '/');
    expect(quiet.lines).toEqual([]);
  });
});
