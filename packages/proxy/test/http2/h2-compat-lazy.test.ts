import { Http2ServerRequest } from 'node:http2';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { peer, peersApp } from '../helpers/server-client.js';
import { h2Request } from './helpers/h2-client.js';
import { echo } from './helpers/h2-raw-backend.js';
import { h2c, h2UpstreamFixtures } from './helpers/h2-upstream-fixtures.js';

// HTTP/2 streams are served from node:http2's core 'stream' event; the compatibility request and
// response (`session.request` / `session.response`) are built only when a phase reads them.

const { upstream, proxy, backend, session } = h2UpstreamFixtures(1000);

/**
 * Counts Http2ServerRequest constructions in this process, whoever builds them (node:http2's own
 * compatibility layer or the proxy): the constructor registers its 'pause' listener through
 * `this.on`, which an own `on` on the prototype intercepts.
 */
let built = 0;
const proto = Http2ServerRequest.prototype as unknown as { on?: unknown };
beforeEach(() => {
  built = 0;
  proto.on = function on(this: Readable, event: string | symbol, listener: (...args: unknown[]) => void) {
    if (event === 'pause') built++;
    return Readable.prototype.on.call(this, event, listener);
  };
});
afterEach(() => {
  delete proto.on;
});

describe('lazy compatibility objects on HTTP/2 streams', () => {
  it('a plain proxied stream (GET and POST, to an HTTP/1.1 and an h2c backend) builds no compatibility request', async () => {
    const h1 = await upstream({ name: 'a' });
    const h2 = await backend();
    h2.onStream = (stream) => echo(stream);
    const viaH1 = await proxy(peersApp([peer(h1.id)]), { h2c: true, accessLog: false });
    const viaH2 = await proxy(peersApp([h2c(h2.id)]), { h2c: true, accessLog: false });
    const s1 = await session(viaH1.port);
    const s2 = await session(viaH2.port);
    const replies = await Promise.all([
      h2Request(s1, { ':path': '/get' }),
      h2Request(s1, { ':method': 'POST', ':path': '/post' }, Buffer.alloc(50_000, 1)),
      h2Request(s2, { ':path': '/get' }),
      h2Request(s2, { ':method': 'POST', ':path': '/post' }, Buffer.alloc(50_000, 2)),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(JSON.parse((replies[1] as { body: Buffer }).body.toString()).bodyBytes).toBe(50_000);
    expect((replies[3] as { body: Buffer }).body.equals(Buffer.alloc(50_000, 2))).toBe(true);
    expect(built).toBe(0);
  });

  it('a phase reading session.request.headers builds it: it has the pseudo-header fields, and the body still goes upstream whole', async () => {
    const u = await upstream({ name: 'a' });
    const seen: unknown[] = [];
    const app = peersApp([peer(u.id)], {
      upstreamRequestFilter(s) {
        const headers = s.request.headers as Record<string, unknown>;
        seen.push([headers[':method'], headers[':path'], headers['x-probe']]);
      },
    });
    const { port } = await proxy(app, { h2c: true, accessLog: false });
    const reply = await h2Request(
      await session(port),
      { ':method': 'POST', ':path': '/up', 'x-probe': 'yes' },
      Buffer.alloc(70_000, 3),
    );
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString()).bodyBytes).toBe(70_000);
    expect(seen).toEqual([['POST', '/up', 'yes']]);
    expect(built).toBe(1);
  });

  it('a requestFilter answers through session.response; the proxy writes nothing behind it', async () => {
    const u = await upstream({ name: 'a' });
    const app = peersApp([peer(u.id)], {
      requestFilter(s) {
        s.response.setHeader('x-answered-by', 'filter');
        s.response.writeHead(403);
        s.response.end('no');
        return true;
      },
    });
    const { port } = await proxy(app, { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':path': '/' });
    expect([reply.status, reply.headers['x-answered-by'], reply.body.toString()]).toEqual([403, 'filter', 'no']);
    expect(u.requests.length).toBe(0);
    expect(built).toBe(1);
  });

  it('once a phase built session.response, the proxied response goes through it, trailers included', async () => {
    const h2 = await backend();
    h2.onStream = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end('payload');
    };
    const states: unknown[] = [];
    const app = peersApp([h2c(h2.id)], {
      upstreamPeer(s, ctx) {
        states.push(['before', s.response.headersSent]);
        return peersApp([h2c(h2.id)]).upstreamPeer(s, ctx);
      },
      logging(s) {
        states.push(['after', s.response.headersSent, s.response.statusCode, s.response.writableEnded]);
      },
    });
    const { port } = await proxy(app, { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':path': '/x', te: 'trailers' });
    expect([reply.status, reply.body.toString(), reply.trailers?.['grpc-status']]).toEqual([200, 'payload', '0']);
    expect(states).toEqual([
      ['before', false],
      ['after', true, 200, true],
    ]);
    expect(built).toBe(1);
  });

  it('a logging phase that first reads session.response after the proxy answered sees the status sent', async () => {
    const u = await upstream({
      name: 'a',
      handler: (_req, res) => {
        res.writeHead(404, { 'content-length': '0' });
        res.end();
      },
    });
    const statuses: number[] = [];
    const app = peersApp([peer(u.id)], { logging: (s) => statuses.push(s.response.statusCode) });
    const { port } = await proxy(app, { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':path': '/missing' });
    expect(reply.status).toBe(404);
    expect(statuses).toEqual([404]);
    expect(built).toBe(1);
  });

  it('built first by a logging phase after a response with trailers went out: the trailers are sent once', async () => {
    const h2 = await backend();
    h2.onStream = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' }));
      stream.end(Buffer.alloc(20_000, 4));
    };
    const seen: unknown[] = [];
    const app = peersApp([h2c(h2.id)], {
      logging: (s) => seen.push([s.response.statusCode, s.response.headersSent]),
    });
    const { port } = await proxy(app, { h2c: true, accessLog: false });
    const s = await session(port);
    const replies = await Promise.all([1, 2, 3].map(() => h2Request(s, { ':path': '/t', te: 'trailers' })));
    expect(
      replies.map((r) => [r.status, r.body.length, r.trailers?.['grpc-status'], r.trailers?.['grpc-message']]),
    ).toEqual([1, 2, 3].map(() => [200, 20_000, '0', 'fine']));
    expect(seen).toEqual([1, 2, 3].map(() => [200, true]));
    expect(built).toBe(3);
  });
});
