import { type ClientHttp2Stream, constants, createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { waitFor } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { peer, peersApp } from '../helpers/server-client.js';
import { serverFixtures } from '../helpers/server-fixtures.js';
import { FRAME, frame } from '../hostile/h2-attacks.js';
import { h2Close, h2Connect, h2Request } from './helpers/h2-client.js';

// headersTimeout and requestTimeout bound HTTP/2 as they bound HTTP/1.1: a stream's request must
// arrive whole within requestTimeout (408 before any response byte, a reset after), a gRPC call
// is ended when idle that long with its request open, and a connection must complete its first
// request head within headersTimeout.

const { cleanup, upstream, proxy } = serverFixtures(1000);
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

async function session(port: number) {
  const s = await h2Connect(`http://127.0.0.1:${port}`);
  s.on('error', () => undefined);
  cleanup.push(() => h2Close(s));
  return s;
}

/** How a stream the client left open ended. */
interface StreamEnd {
  readonly status: number | undefined;
  readonly headers: Record<string, unknown>;
  readonly trailers: Record<string, unknown> | undefined;
  readonly rstCode: number;
  readonly afterMs: number;
}

function ended(stream: ClientHttp2Stream): Promise<StreamEnd> {
  const started = performance.now();
  let headers: Record<string, unknown> = {};
  let trailers: Record<string, unknown> | undefined;
  stream.on('response', (h) => {
    headers = h;
  });
  stream.on('trailers', (t) => {
    trailers = t;
  });
  stream.on('error', () => undefined);
  stream.resume();
  return new Promise((resolve) => {
    stream.on('close', () =>
      resolve({
        status: headers[':status'] === undefined ? undefined : Number(headers[':status']),
        headers,
        trailers,
        rstCode: stream.rstCode ?? -1,
        afterMs: performance.now() - started,
      }),
    );
  });
}

describe('requestTimeout on HTTP/2 streams', { timeout: 20_000 }, () => {
  it('a request body that does not arrive in time: 408 and RST_STREAM NO_ERROR, the upstream request cancelled', async () => {
    const u = await upstream();
    let upstreamClosed = false;
    u.handler = (req) => {
      req.on('close', () => {
        upstreamClosed = true;
      });
      req.resume();
    };
    const { port } = await proxy(peersApp([peer(u.id)]), {
      h2c: true,
      headersTimeout: 300,
      requestTimeout: 600,
      accessLog: false,
    });
    const stream = (await session(port)).request({ ':method': 'POST', ':path': '/upload' }, { endStream: false });
    stream.write('part of a body');
    const end = await ended(stream);
    expect(end.status).toBe(408);
    expect(end.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
    expect(end.afterMs).toBeGreaterThanOrEqual(500);
    expect(end.afterMs).toBeLessThan(5000);
    await waitFor('the upstream request to be cancelled', () => upstreamClosed, 3000);
  });

  it('a response already under way when the request times out: the stream is reset (CANCEL)', async () => {
    const u = await upstream();
    u.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('early answer');
    };
    const { port } = await proxy(peersApp([peer(u.id)]), {
      h2c: true,
      headersTimeout: 300,
      requestTimeout: 600,
      accessLog: false,
    });
    const stream = (await session(port)).request({ ':method': 'POST', ':path': '/early' }, { endStream: false });
    stream.write('x');
    const end = await ended(stream);
    expect(end.status).toBe(200);
    expect(end.rstCode).toBe(constants.NGHTTP2_CANCEL);
    expect(end.afterMs).toBeGreaterThanOrEqual(500);
  });

  it('bounds receiving the request only: a whole request answered slowly is not cut; 0 turns the bound off', async () => {
    const u = await upstream({ delayMs: 1200 });
    const { port } = await proxy(peersApp([peer(u.id)]), {
      h2c: true,
      headersTimeout: 300,
      requestTimeout: 600,
      accessLog: false,
    });
    const reply = await h2Request(await session(port), { ':method': 'POST', ':path': '/slow' }, 'whole body');
    expect(reply.status).toBe(200);

    const v = await upstream();
    const { port: off } = await proxy(peersApp([peer(v.id)]), {
      h2c: true,
      headersTimeout: 300,
      requestTimeout: 0,
      accessLog: false,
    });
    const stream = (await session(off)).request({ ':method': 'POST', ':path': '/unbounded' }, { endStream: false });
    const end = ended(stream);
    stream.write('first half, ');
    await new Promise((r) => setTimeout(r, 1500));
    stream.end('second half');
    expect((await end).status).toBe(200);
  });

  it('gRPC: a call stays open while messages move, and is ended with DEADLINE_EXCEEDED once idle that long', async () => {
    // The backend answers /Chat at once and sends a message every 150 ms for 1.2 s, then goes quiet;
    // it never answers /Quiet. Either way the call's request stays open.
    const backend = createServer();
    const seen: string[] = [];
    backend.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      stream.on('error', () => undefined);
      seen.push(path);
      stream.resume();
      if (path !== '/pkg.Svc/Chat') return;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      let sent = 0;
      const tick = setInterval(() => {
        if (stream.destroyed || ++sent > 8) clearInterval(tick);
        else stream.write(Buffer.from([0, 0, 0, 0, 1, sent]));
      }, 150);
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => backend.close(resolve)));
    const address = backend.address() as AddressInfo;
    const { port } = await proxy(peersApp([peer(`127.0.0.1:${address.port}`, { options: { alpn: 'h2' } })]), {
      h2c: true,
      headersTimeout: 300,
      requestTimeout: 500,
      accessLog: false,
    });
    const s = await session(port);
    const call = (path: string) => {
      const stream = s.request(
        { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' },
        { endStream: false },
      );
      stream.write(Buffer.from([0, 0, 0, 0, 0]));
      return ended(stream);
    };
    const [chat, quiet] = await Promise.all([call('/pkg.Svc/Chat'), call('/pkg.Svc/Quiet')]);
    // Busy for 1.2 s, then ended 0.5 s into the silence: as trailers after the response head.
    expect(chat.status).toBe(200);
    expect(chat.trailers?.['grpc-status']).toBe('4');
    expect(String(chat.trailers?.['grpc-message'])).toContain('switchyard: request timeout');
    expect(chat.afterMs).toBeGreaterThanOrEqual(1200);
    // Nothing ever moved: a trailers-only answer after about 0.5 s.
    expect(quiet.status).toBe(200);
    expect(quiet.headers['grpc-status']).toBe('4');
    expect(quiet.afterMs).toBeGreaterThanOrEqual(400);
    expect(quiet.afterMs).toBeLessThan(chat.afterMs);
    // The backend saw each call's request: the proxy forwarded them before ending them.
    expect(seen.sort()).toEqual(['/pkg.Svc/Chat', '/pkg.Svc/Quiet']);
  });
});

describe('headersTimeout on HTTP/2 connections', { timeout: 20_000 }, () => {
  it('a session that sends frames but no request head within headersTimeout is closed; one that does is served', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), {
      h2c: true,
      headersTimeout: 400,
      requestTimeout: 1000,
      keepAliveTimeout: 60_000,
      accessLog: false,
    });
    const socket: Socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    let goaway: number | undefined;
    let buffered = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        if (buffered.readUInt8(3) === FRAME.GOAWAY) goaway ??= buffered.readUInt32BE(13);
        buffered = buffered.subarray(9 + length);
      }
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = performance.now();
    socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
    // A PING every 100 ms keeps the connection busy (well within the PING budget), never a HEADERS.
    const pinging = setInterval(() => {
      if (!socket.destroyed) socket.write(frame(FRAME.PING, 0, 0, Buffer.alloc(8)));
    }, 100);
    const closedAfter = await new Promise<number>((resolve) =>
      socket.once('close', () => resolve(performance.now() - started)),
    );
    clearInterval(pinging);
    expect(goaway).toBe(constants.NGHTTP2_NO_ERROR);
    expect(closedAfter).toBeGreaterThanOrEqual(350);
    expect(closedAfter).toBeLessThan(5000);
    // An honest client's first request comes at once and its session outlives headersTimeout.
    const s = await session(port);
    expect((await h2Request(s, { ':path': '/first' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 700));
    expect(s.closed || s.destroyed).toBe(false);
    expect((await h2Request(s, { ':path': '/second' })).status).toBe(200);
  });
});
