import { constants } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { HttpPeer, backend as parseBackend } from '@switchyard/core';
import { roundRobin } from '@switchyard/selectors';
import { freePort, generateTestPki, type TestPki, waitFor } from '@switchyard/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { captureLogger, peer, peersApp, responseText, send } from '../helpers/server-client.js';
import { serverFixtures } from '../helpers/server-fixtures.js';
import { h2Close, h2Connect, h2Request } from './helpers/h2-client.js';

const { cleanup, upstream, proxy } = serverFixtures(1000);

let pki: TestPki;
beforeAll(() => {
  pki = generateTestPki();
});

/** An h2 session to the proxy on `port`, closed after the test. */
async function session(port: number, tls = false) {
  const s = await h2Connect(
    tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    tls ? pki.ca.cert : undefined,
  );
  cleanup.push(() => h2Close(s));
  return s;
}

function alpnOf(port: number): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      ca: pki.ca.cert,
      servername: 'localhost',
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    socket.once('secureConnect', () => {
      resolve(socket.alpnProtocol ?? false);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('downstream HTTP/2', () => {
  it('h2c with prior knowledge: GET and POST reach an HTTP/1.1 backend; HTTP/1.1 keeps working on the same port', async () => {
    const u = await upstream({ name: 'a' });
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const s = await session(port);
    const got = await h2Request(s, { ':path': '/get?x=1' });
    expect(got.status).toBe(200);
    const posted = await h2Request(s, { ':method': 'POST', ':path': '/post' }, Buffer.alloc(100_000, 7));
    expect(posted.status).toBe(200);
    expect(u.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /get?x=1', 'POST /post']);
    expect(JSON.parse(posted.body.toString()).bodyBytes).toBe(100_000);
    expect((await send(port, '/h1')).status).toBe(200);
    expect(u.requests.length).toBe(3);
  });

  it('an HTTP/1.1 request line claiming HTTP/2.0 stays an HTTP/1.1 exchange (h2c on or off)', async () => {
    const u = await upstream();
    for (const h2c of [true, false]) {
      const { port } = await proxy(peersApp([peer(u.id)]), { h2c, accessLog: false });
      const head = await new Promise<string>((resolve, reject) => {
        const socket = netConnect(port, '127.0.0.1', () => socket.write('GET /v HTTP/2.0\r\nHost: a\r\n\r\n'));
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (text.includes('\r\n\r\n')) {
            socket.destroy();
            resolve(text.slice(0, text.indexOf('\r\n')));
          }
        });
        socket.on('error', reject);
      });
      expect(head).toMatch(/^HTTP\/1\.1 \d{3} /);
      expect((await send(port, '/after')).status).toBe(200);
    }
  });

  it('without h2c a cleartext listener does not speak HTTP/2', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    await expect(h2Connect(`http://127.0.0.1:${port}`).then((s) => h2Request(s, { ':path': '/' }))).rejects.toThrow();
    expect(u.requests.length).toBe(0);
  });

  it('TLS offers h2 then http/1.1 by ALPN; both protocols are proxied; http2: false offers http/1.1 only', async () => {
    const u = await upstream({ name: 'a' });
    const { port } = await proxy(peersApp([peer(u.id)]), { tls: pki.server, accessLog: false });
    expect(await alpnOf(port)).toBe('h2');
    const s = await session(port, true);
    const got = await h2Request(s, { ':path': '/over-h2' });
    expect(got.status).toBe(200);
    const req = httpsRequest({ port, host: '127.0.0.1', path: '/over-h1', ca: pki.ca.cert, servername: 'localhost' });
    const text = responseText(req);
    req.end();
    expect(JSON.parse(await text).url).toBe('/over-h1');
    const h1only = await proxy(peersApp([peer(u.id)]), { tls: pki.server, http2: false, accessLog: false });
    expect(await alpnOf(h1only.port)).toBe('http/1.1');
    const seen = u.requests.map((r) => [r.url, r.headers['x-forwarded-proto']]);
    expect(seen).toEqual([
      ['/over-h2', 'https'],
      ['/over-h1', 'https'],
    ]);
  });

  it("one connection's streams are balanced one by one: 30 concurrent streams over 3 backends round-robin, 10 each", async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map((name) => upstream({ name })));
    const selector = roundRobin(backends.map((b) => parseBackend(b.id)));
    const app = {
      upstreamPeer: () => new HttpPeer(selector.select('').next().value as never, false, ''),
    };
    const { port } = await proxy(app, { h2c: true, accessLog: false });
    const s = await session(port);
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => h2Request(s, { ':path': `/s${i}` })));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(backends.map((b) => b.requests.length)).toEqual([10, 10, 10]);
  });

  it('a requestFilter answers an h2 stream through session.response', async () => {
    const u = await upstream();
    const app = peersApp([peer(u.id)], {
      requestFilter(session) {
        session.response.writeHead(429, { 'x-rate-limit': '0' });
        session.response.end('slow down');
        return true;
      },
    });
    const { port } = await proxy(app, { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':path': '/' });
    expect([reply.status, reply.headers['x-rate-limit'], reply.body.toString()]).toEqual([429, '0', 'slow down']);
    expect(u.requests.length).toBe(0);
  });

  it('each stream gets its own access-log line and logging phase', async () => {
    const u = await upstream({ name: 'a' });
    const { logger, lines } = captureLogger();
    const logged: string[] = [];
    const app = peersApp([peer(u.id)], { logging: (session) => logged.push(session.path) });
    const { port } = await proxy(app, { h2c: true, logger });
    const s = await session(port);
    await Promise.all([h2Request(s, { ':path': '/one' }), h2Request(s, { ':path': '/two' })]);
    await waitFor('two access lines', () => lines.filter((l) => l.includes('"request"')).length === 2, 10_000);
    const records = lines.map((l) => JSON.parse(l)).filter((r) => r.msg === 'request');
    expect(records.map((r) => [r.method, r.path, r.status, r.backend, r.attempts]).sort()).toEqual([
      ['GET', '/one', 200, u.id, 1],
      ['GET', '/two', 200, u.id, 1],
    ]);
    expect(records.reduce((n, r) => n + r.bytesOut, 0)).toBeGreaterThan(0);
    expect(logged.sort()).toEqual(['/one', '/two']);
  });

  it('a stream the client resets while its backend works is a 499: never retried, never answered with an error', async () => {
    const a = await upstream({ name: 'a', delayMs: 3000 });
    const b = await upstream({ name: 'b', delayMs: 3000 });
    const { logger, lines } = captureLogger();
    const { port } = await proxy(peersApp([peer(a.id), peer(b.id)]), { h2c: true, logger, maxAttempts: 3 });
    const stream = (await session(port)).request({ ':path': '/reset-me' });
    stream.on('error', () => undefined);
    await waitFor('the backend to get the request', () => a.requests.length + b.requests.length === 1, 10_000);
    stream.close(constants.NGHTTP2_CANCEL);
    await waitFor('the access line', () => lines.some((l) => l.includes('"request"')), 10_000);
    const record = lines.map((l) => JSON.parse(l)).find((r) => r.msg === 'request');
    expect([record.status, record.attempts, record.cause]).toEqual([499, 1, 'client closed the connection']);
    // A misread cancel would go on to the other backend (GET may be retried).
    await new Promise((r) => setTimeout(r, 300));
    expect(a.requests.length + b.requests.length).toBe(1);
  });

  it('a stream whose first backend refuses the connection is retried on the next', async () => {
    const u = await upstream({ name: 'live' });
    const dead = `127.0.0.1:${await freePort()}`;
    const { port } = await proxy(peersApp([peer(dead), peer(u.id)]), { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':method': 'POST', ':path': '/retry' }, 'payload');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString()).bodyBytes).toBe(7);
  });

  it('CONNECT over h2 is answered 405 (by node:http2, no connect listener) and never reaches a backend', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':method': 'CONNECT', ':authority': 'elsewhere.example:443' });
    expect(reply.status).toBe(405);
    expect(u.requests.length).toBe(0);
  });

  it('no backend left: the h2 client gets the error response (503)', async () => {
    const { port } = await proxy(peersApp([]), { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':path': '/' });
    expect(reply.status).toBe(503);
    expect(reply.body.toString()).toContain('no healthy backend');
  });

  it('keepAliveTimeout closes an idle h2 connection, but not one whose stream is still open', async () => {
    const u = await upstream({ name: 'slow', delayMs: 1200 });
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, keepAliveTimeout: 300, accessLog: false });
    const idle = await session(port);
    const busy = await session(port);
    const idleClosed = new Promise<number>((resolve) => {
      const started = performance.now();
      idle.once('close', () => resolve(performance.now() - started));
    });
    const slow = await h2Request(busy, { ':path': '/slow' });
    expect(slow.status).toBe(200);
    expect(busy.closed).toBe(false);
    expect(await idleClosed).toBeLessThan(1200 + 5000);
  });

  it('close() sends GOAWAY to h2 sessions and lets their open streams finish', async () => {
    const u = await upstream({ name: 'slow', delayMs: 300 });
    const { proxy: p, port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const s = await session(port);
    const pending = h2Request(s, { ':path': '/slow' });
    await waitFor('the slow request upstream', () => u.requests.length === 1, 10_000);
    const closed = p.close({ deadlineMs: 10_000 });
    expect((await pending).status).toBe(200);
    await closed;
  });
});
