import { type ClientHttp2Stream, constants, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer, connect as netConnect } from 'node:net';
import { waitFor } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { peersApp, send } from '../helpers/server-client.js';
import { h2Request } from './helpers/h2-client.js';
import { echo } from './helpers/h2-raw-backend.js';
import { h2c, h2UpstreamFixtures } from './helpers/h2-upstream-fixtures.js';

const { cleanup, proxy, backend, session } = h2UpstreamFixtures(1000);

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** One HTTP/2 frame on stream 0 (RFC 9113 §4.1). */
function frame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  return Buffer.concat([head, payload]);
}

/** Whether the client's bytes (preface, then frames) hold a complete HEADERS frame. */
function headersFrameSeen(bytes: Buffer): boolean {
  let at = 24; // the connection preface
  // Bounded: each pass moves past one whole frame.
  while (at + 9 <= bytes.length) {
    const length = bytes.readUIntBE(at, 3);
    if (bytes[at + 3] === 1 && at + 9 + length <= bytes.length) return true;
    at += 9 + length;
  }
  return false;
}

function closed(stream: ClientHttp2Stream | ServerHttp2Stream): Promise<number | undefined> {
  return new Promise((resolve) => stream.once('close', () => resolve(stream.rstCode)));
}

describe('failures map to the retry decision', () => {
  it('connect refused: the attempt goes to the next peer, a POST with its body included', async () => {
    const b = await backend();
    const dead = `127.0.0.1:${await deadPort()}`;
    const { port } = await proxy(peersApp([h2c(dead), h2c(b.id)]), { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':method': 'POST', ':path': '/c' }, 'payload');
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('payload');
  });

  it('a peer that accepts the connection but never speaks HTTP/2 counts as a connect failure', async () => {
    const b = await backend();
    // Reads (so it sees the proxy close the connection) and never writes.
    const silent = createNetServer((socket) => socket.on('error', () => {}).resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => silent.close(resolve)));
    const silentId = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    const peers = [h2c(silentId, { connectionTimeout: 300 }), h2c(b.id)];
    const { port } = await proxy(peersApp(peers), { h2c: true, accessLog: false });
    const started = Date.now();
    const reply = await h2Request(await session(port), { ':method': 'POST', ':path': '/s' }, 'late');
    expect(reply.body.toString()).toBe('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('a stream refused with REFUSED_STREAM is sent again, whatever the method', async () => {
    const b = await backend();
    b.onStream = (stream) => {
      if (b.streams === 1) stream.close(constants.NGHTTP2_REFUSED_STREAM);
      else echo(stream);
    };
    const { port } = await proxy(peersApp([h2c(b.id)]), { h2c: true, accessLog: false, maxAttempts: 1 });
    const reply = await h2Request(await session(port), { ':method': 'POST', ':path': '/r' });
    expect(reply.status).toBe(200);
    expect(b.streams).toBe(2);
  });

  it('a stream above a GOAWAY’s last stream id is sent again on a new session', async () => {
    const b = await backend();
    // The first connection answers the first HEADERS frame with GOAWAY(last stream 0); later
    // connections are passed through to the real backend.
    let connections = 0;
    const front = createNetServer((socket) => {
      socket.on('error', () => {});
      if (++connections > 1) {
        const back = netConnect(b.port, '127.0.0.1');
        back.on('error', () => socket.destroy());
        socket.pipe(back).pipe(socket);
        return;
      }
      socket.write(frame(4, 0, Buffer.alloc(0))); // SETTINGS
      let seen = Buffer.alloc(0);
      socket.on('data', (data: Buffer) => {
        seen = Buffer.concat([seen, data]);
        if (headersFrameSeen(seen)) socket.write(frame(7, 0, Buffer.alloc(8))); // GOAWAY, last stream 0, NO_ERROR
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => front.close(resolve)));
    const id = `127.0.0.1:${(front.address() as { port: number }).port}`;
    const { port } = await proxy(peersApp([h2c(id)]), { h2c: true, accessLog: false, maxAttempts: 1 });
    const reply = await h2Request(await session(port), { ':method': 'POST', ':path': '/g' });
    expect(reply.status).toBe(200);
    expect(connections).toBe(2);
    expect(b.streams).toBe(1);
  });

  it('after a GOAWAY the session takes no new streams: the next request opens a new one', async () => {
    const b = await backend();
    b.onStream = (stream) => {
      echo(stream);
      if (b.streams === 1) stream.session?.goaway(constants.NGHTTP2_NO_ERROR, stream.id);
    };
    const { port } = await proxy(peersApp([h2c(b.id)]), { accessLog: false });
    expect((await send(port, '/1')).status).toBe(200);
    expect((await send(port, '/2')).status).toBe(200);
    expect(b.sessions).toBe(2);
  });

  it('a session that dies under an unanswered GET counts as dropped: sent again on a new session', async () => {
    const b = await backend();
    b.onStream = (stream) => {
      if (b.streams === 1) stream.session?.destroy();
      else echo(stream);
    };
    const { port } = await proxy(peersApp([h2c(b.id)]), { accessLog: false, maxAttempts: 1 });
    expect((await send(port, '/d')).status).toBe(200);
    expect(b.sessions).toBe(2);
  });

  it('a session that dies under an answered response cuts it off, without a resend, as an upstream error', async () => {
    const b = await backend();
    b.onStream = (stream) => {
      stream.respond({ ':status': 200 });
      stream.write('head start', () => setTimeout(() => stream.session?.destroy(), 50));
    };
    const outcomes: string[] = [];
    const observer = { onFinish: (_p: unknown, outcome: string) => outcomes.push(outcome) };
    const { port } = await proxy(peersApp([h2c(b.id)]), { h2c: true, accessLog: false, observers: [observer] });
    const stream = (await session(port)).request({ ':path': '/cut' });
    stream.on('error', () => {});
    let body = '';
    stream.on('data', (c: Buffer) => {
      body += c.toString();
    });
    await closed(stream);
    expect(body).toBe('head start');
    expect(b.streams).toBe(1);
    expect(outcomes).toEqual(['error']);
  });

  it('readTimeout: no response head in time is a 504 and the upstream stream is reset', async () => {
    const b = await backend();
    let upstream: Promise<number | undefined> | undefined;
    b.onStream = (stream) => {
      stream.resume();
      upstream = closed(stream);
    };
    const { port } = await proxy(peersApp([h2c(b.id, { readTimeout: 300 })]), { accessLog: false });
    const started = Date.now();
    expect((await send(port, '/slow')).status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await upstream).toBe(constants.NGHTTP2_CANCEL);
  });

  it('readTimeout between body chunks resets the upstream stream (CANCEL) and the downstream one (INTERNAL_ERROR)', async () => {
    const b = await backend();
    let upstream: Promise<number | undefined> | undefined;
    b.onStream = (stream) => {
      upstream = closed(stream);
      stream.respond({ ':status': 200 });
      stream.write('part');
    };
    const { port } = await proxy(peersApp([h2c(b.id, { readTimeout: 300 })]), { h2c: true, accessLog: false });
    const stream = (await session(port)).request({ ':path': '/stall' });
    stream.on('error', () => {});
    let body = '';
    let trailers = false;
    stream.on('data', (c: Buffer) => {
      body += c.toString();
    });
    stream.on('trailers', () => {
      trailers = true;
    });
    // The client sees the response cut (INTERNAL_ERROR), not a stream that merely ended.
    expect(await closed(stream)).toBe(constants.NGHTTP2_INTERNAL_ERROR);
    expect(await upstream).toBe(constants.NGHTTP2_CANCEL);
    expect(body).toBe('part');
    expect(trailers).toBe(false);
  });

  it('a client cancel mid-upload resets the upstream stream with CANCEL', async () => {
    const b = await backend();
    let upstream: Promise<number | undefined> | undefined;
    b.onStream = (stream) => {
      stream.resume();
      upstream = closed(stream);
    };
    const { port } = await proxy(peersApp([h2c(b.id)]), { h2c: true, accessLog: false });
    const stream = (await session(port)).request({ ':method': 'POST', ':path': '/up' }, { endStream: false });
    stream.on('error', () => {});
    stream.write('first part');
    await waitFor('the upstream stream', () => upstream !== undefined, 10_000);
    stream.close(constants.NGHTTP2_CANCEL);
    expect(await upstream).toBe(constants.NGHTTP2_CANCEL);
  });
});
