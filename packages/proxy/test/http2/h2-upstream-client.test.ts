import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { HttpPeer } from '@switchyard/core';
import { generateTestPki, type TestPki } from '@switchyard/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { peersApp, responseText, send } from '../helpers/server-client.js';
import { h2Request } from './helpers/h2-client.js';
import { echo } from './helpers/h2-raw-backend.js';
import { h2c, h2UpstreamFixtures } from './helpers/h2-upstream-fixtures.js';

const { cleanup, proxy, backend, session } = h2UpstreamFixtures(1000);

let pki: TestPki;
beforeAll(() => {
  pki = generateTestPki();
});

describe('requests with bodies multiplex on the upstream session', () => {
  it('40 concurrent POSTs share ONE upstream h2c session; every body arrives intact both ways', async () => {
    const b = await backend();
    // Holds every answer until 40 streams are open at once: only a client that multiplexes
    // requests with bodies on one connection gets there with one session.
    const held: ServerHttp2Stream[] = [];
    b.onStream = (stream) => {
      held.push(stream);
      if (held.length === 40) for (const s of held) echo(s);
    };
    const { port } = await proxy(peersApp([h2c(b.id)]), { h2c: true, accessLog: false });
    const s = await session(port);
    const bodies = Array.from({ length: 40 }, (_, i) => Buffer.alloc(20_000 + i * 997, i + 1));
    const replies = await Promise.all(
      bodies.map((body, i) => h2Request(s, { ':method': 'POST', ':path': `/p${i}` }, body)),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(40).fill(200));
    expect(replies.map((r, i) => r.body.equals(bodies[i] as Buffer))).toEqual(Array(40).fill(true));
    expect(b.sessions).toBe(1);
    expect(b.maxPerSession).toBe(40);
  });

  it("at most the upstream's SETTINGS_MAX_CONCURRENT_STREAMS per session; a second session opens when connectionsPerPool allows", async () => {
    const run = async (connectionsPerPool: number) => {
      const b = await backend({ maxConcurrentStreams: 4 });
      b.onStream = (stream) => {
        stream.resume();
        stream.on('end', () =>
          setTimeout(() => {
            stream.respond({ ':status': 200 });
            stream.end('ok');
          }, 5),
        );
      };
      const { port } = await proxy(peersApp([h2c(b.id)]), { h2c: true, accessLog: false, connectionsPerPool });
      // 150 requests over two client sessions: more than one upstream session's 100 (streams and waiting).
      const clients = [await session(port), await session(port)];
      const replies = await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          h2Request(clients[i % 2] as never, { ':method': 'POST', ':path': `/q${i}` }, `b${i}`),
        ),
      );
      expect(replies.every((r) => r.status === 200 && r.body.toString() === 'ok')).toBe(true);
      return b;
    };
    const two = await run(2);
    expect(two.maxPerSession).toBe(4);
    expect(two.sessions).toBe(2);
    expect(two.maxActive).toBeLessThanOrEqual(8);
    const one = await run(1);
    expect(one.maxPerSession).toBe(4);
    expect(one.sessions).toBe(1);
  }, 30_000);
});

describe('request trailers', () => {
  async function trailerBackend() {
    const b = await backend();
    const seen: { body: string; trailers: IncomingHttpHeaders | undefined }[] = [];
    b.onStream = (stream) => {
      let body = '';
      let trailers: IncomingHttpHeaders | undefined;
      stream.on('trailers', (t: IncomingHttpHeaders) => {
        trailers = t;
      });
      stream.on('data', (c: Buffer) => {
        body += c.toString();
      });
      stream.on('end', () => {
        seen.push({ body, trailers });
        stream.respond({ ':status': 200 });
        stream.end('ok');
      });
    };
    return { b, seen };
  }

  it('h2 client → proxy → h2c backend: the client’s trailers arrive, framing fields filtered out', async () => {
    const { b, seen } = await trailerBackend();
    const { port } = await proxy(peersApp([h2c(b.id)]), { h2c: true, accessLog: false });
    const s = await session(port);
    const stream = s.request({ ':method': 'POST', ':path': '/t' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc123', 'content-length': '5' }));
    stream.end('hello');
    const status = await new Promise((resolve) => stream.on('response', (h) => resolve(h[':status'])));
    stream.resume();
    expect(status).toBe(200);
    expect(seen[0]?.body).toBe('hello');
    expect(seen[0]?.trailers?.['x-checksum']).toBe('abc123');
    expect(seen[0]?.trailers?.['content-length']).toBeUndefined();
  });

  it('HTTP/1.1 chunked client → proxy → h2c backend: the chunked trailers arrive', async () => {
    const { b, seen } = await trailerBackend();
    const { port } = await proxy(peersApp([h2c(b.id)]), { accessLog: false });
    const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/t', headers: { trailer: 'x-sum' } });
    const text = responseText(req);
    req.write('chunk');
    req.addTrailers({ 'x-sum': '42' });
    req.end();
    expect(await text).toBe('ok');
    expect(seen[0]).toEqual({ body: 'chunk', trailers: expect.objectContaining({ 'x-sum': '42' }) });
  });
});

describe('HTTP/2 over TLS upstream (ALPN h2)', () => {
  const tlsPeer = (id: string) => new HttpPeer(id, true, 'localhost', { options: { alpn: 'h2', ca: pki.ca.cert } });

  it('speaks HTTP/2 to a TLS backend that offers only h2, one session for sequential and concurrent requests', async () => {
    const b = await backend({}, pki.server);
    const { port } = await proxy(peersApp([tlsPeer(b.id)]), { h2c: true, accessLog: false });
    const s = await session(port);
    const first = await h2Request(s, { ':method': 'POST', ':path': '/a' }, 'one');
    expect(first.body.toString()).toBe('one');
    const more = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h2Request(s, { ':method': 'POST', ':path': '/b' }, `n${i}`)),
    );
    expect(more.map((r) => r.body.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    expect(b.sessions).toBe(1);
  });

  it('a TLS backend that does not agree on h2 fails the attempt as a TLS handshake failure (502)', async () => {
    const h1 = createHttpsServer({ cert: pki.server.cert, key: pki.server.key }, (_req, res) => res.end('h1'));
    await new Promise<void>((resolve) => h1.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => h1.close(resolve)));
    const id = `127.0.0.1:${(h1.address() as { port: number }).port}`;
    const { port } = await proxy(peersApp([tlsPeer(id)]), { accessLog: false });
    const reply = await send(port, '/');
    expect(reply.status).toBe(502);
  });
});
