import { request } from 'node:http';
import { HttpPeer, LbError } from '@switchyard/core';
import type { UpstreamOutcome } from '@switchyard/proxy';
import { type BackendEcho, freePort } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { peer, peersApp, send } from './helpers/server-client.js';
import { serverFixtures } from './helpers/server-fixtures.js';

const { upstream, proxy } = serverFixtures(1000);

describe('createProxyServer: retries', () => {
  it('retries a refused connect on the next backend, calling upstreamPeer again', async () => {
    const good = await upstream();
    const dead = `127.0.0.1:${await freePort()}`;
    const outcomes: [string, UpstreamOutcome][] = [];
    let calls = 0;
    const app = peersApp([peer(dead), peer(good.id)]);
    const { port } = await proxy(
      {
        ...app,
        upstreamPeer: (s, ctx) => {
          calls++;
          return app.upstreamPeer(s, ctx);
        },
      },
      { accessLog: false, observers: [{ onFinish: (p, o) => outcomes.push([p.id, o]) }] },
    );
    const reply = await send(port, '/');
    expect(reply.status).toBe(200);
    expect(calls).toBe(2);
    expect(outcomes).toEqual([
      [dead, 'connect-error'],
      [good.id, 'success'],
    ]);
  });

  it('stops after maxAttempts and answers 502', async () => {
    const deads = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const good = await upstream();
    let calls = 0;
    const app = peersApp([...deads.map((p) => peer(`127.0.0.1:${p}`)), peer(good.id)]);
    const { port } = await proxy(
      {
        ...app,
        upstreamPeer: (s, ctx) => {
          calls++;
          return app.upstreamPeer(s, ctx);
        },
      },
      { accessLog: false, maxAttempts: 3 },
    );
    expect((await send(port, '/')).status).toBe(502);
    expect(calls).toBe(3);
    expect(good.requests.length).toBe(0);
  });

  it('does not retry when failToConnect makes the error non-retryable', async () => {
    const good = await upstream();
    const dead = `127.0.0.1:${await freePort()}`;
    const app = peersApp([peer(dead), peer(good.id)], {
      failToConnect: (_s, _p, error) => new LbError(error.code, error.message, { cause: error, retryable: false }),
    });
    const { port } = await proxy(app, { accessLog: false });
    expect((await send(port, '/')).status).toBe(502);
    expect(good.requests.length).toBe(0);
  });

  it('never retries once request-body bytes went upstream (reset mid-request → 502, one attempt)', async () => {
    const first = await upstream({ mode: 'reset' });
    const second = await upstream();
    const { port } = await proxy(peersApp([peer(first.id), peer(second.id)]), { accessLog: false });
    const reply = await send(port, '/upload', { method: 'POST', body: 'x'.repeat(256 * 1024) });
    expect(reply.status).toBe(502);
    expect(first.requests.length).toBe(1);
    expect(second.requests.length).toBe(0);
  });

  it('a reset after the request was sent is a 502 and not retried on another backend', async () => {
    const first = await upstream({ mode: 'hang' });
    const second = await upstream();
    first.handler = (req) => {
      req.resume();
      req.on('end', () => req.socket.resetAndDestroy());
    };
    const { port } = await proxy(peersApp([peer(first.id), peer(second.id)]), { accessLog: false });
    const reply = await send(port, '/', { method: 'POST', body: 'abc' });
    expect(reply.status).toBe(502);
    expect(second.requests.length).toBe(0);
  });

  it('resends idempotent requests whose pooled keep-alive socket the upstream had closed', async () => {
    const u = await upstream({ mode: 'close-on-reuse' });
    const { port } = await proxy(peersApp([peer(u.id, { options: { idleTimeout: 60_000 } })]), {
      accessLog: false,
    });
    // Rounds of 8 parallel requests: each round finds 8 pooled sockets the upstream will drop,
    // so a resend on another pooled socket would fail again. None of them may fail.
    for (let round = 0; round < 5; round++) {
      const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => send(port, `/r${round}-${i}`)));
      for (const [i, reply] of replies.entries()) {
        expect(reply.status).toBe(200);
        expect((JSON.parse(reply.body) as BackendEcho).url).toBe(`/r${round}-${i}`);
      }
    }
    expect(u.connections).toBeGreaterThanOrEqual(40);
  });

  it('a GET whose fresh connection is dropped too goes to the next backend', async () => {
    const dropping = await upstream({ mode: 'reset' });
    const good = await upstream();
    const outcomes: [string, UpstreamOutcome][] = [];
    const { port } = await proxy(peersApp([peer(dropping.id), peer(good.id)]), {
      accessLog: false,
      observers: [{ onFinish: (p, o) => outcomes.push([p.id, o]) }],
    });
    const reply = await send(port, '/');
    expect(reply.status).toBe(200);
    expect(dropping.requests.length).toBe(2);
    expect(outcomes).toEqual([
      [dropping.id, 'error'],
      [dropping.id, 'connect-error'],
      [good.id, 'success'],
    ]);
    // Not for a POST: it is not idempotent.
    const post = await send(port, '/', { method: 'POST', body: 'x' });
    expect(post.status).toBe(502);
  });

  it('answers 503 when upstreamPeer finds no backend', async () => {
    const { port } = await proxy(
      {
        upstreamPeer: async () => {
          throw new LbError('LB_ERR_NO_HEALTHY_BACKEND', 'none');
        },
      },
      { accessLog: false },
    );
    expect((await send(port, '/')).status).toBe(503);
  });

  it('aborts the upstream request when the client goes away', async () => {
    const u = await upstream();
    let upstreamClosed = false;
    u.handler = (req) => {
      req.resume();
      req.socket.once('close', () => {
        upstreamClosed = true;
      });
    };
    const outcomes: UpstreamOutcome[] = [];
    const { port } = await proxy(peersApp([new HttpPeer(u.id, false)]), {
      accessLog: false,
      observers: [{ onFinish: (_p, o) => outcomes.push(o) }],
    });
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false });
    req.on('error', () => {});
    req.end();
    const start = Date.now();
    while (u.requests.length === 0 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
    req.destroy();
    while (!upstreamClosed && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
    // Well before undici's 4 s keep-alive would have closed an abandoned socket.
    expect(Date.now() - start).toBeLessThan(2000);
    expect(upstreamClosed).toBe(true);
    expect(outcomes).toEqual(['cancelled']);
  });
});
