import { request as httpRequest } from 'node:http';
import { constants, createServer } from 'node:http2';
import { waitFor } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { peer, peersApp, responseText } from '../helpers/server-client.js';
import { serverFixtures } from '../helpers/server-fixtures.js';
import { startH2Backend } from './helpers/h2-backend.js';
import { h2Close, h2Connect, h2Request } from './helpers/h2-client.js';

const { cleanup, upstream, proxy } = serverFixtures(1000);

async function h2Backend(name: string) {
  const b = await startH2Backend(name);
  cleanup.push(() => b.close());
  return b;
}

async function session(port: number) {
  const s = await h2Connect(`http://127.0.0.1:${port}`);
  cleanup.push(() => h2Close(s));
  return s;
}

/** GET over HTTP/1.1 with exactly these raw header pairs; resolves with the body text. */
function h1Get(port: number, path: string, headers: string[]): Promise<string> {
  const req = httpRequest({ port, host: '127.0.0.1', path, headers, setHost: false });
  const text = responseText(req);
  req.end();
  return text;
}

describe('upstream h2c (alpn on a cleartext peer)', () => {
  it("alpn 'h2' speaks HTTP/2 with prior knowledge; sequential requests share one upstream session", async () => {
    const b = await h2Backend('h2c');
    const { port } = await proxy(peersApp([peer(b.id, { options: { alpn: 'h2' } })]), { accessLog: false });
    for (let i = 0; i < 3; i++) {
      expect(await h1Get(port, `/n${i}`, ['host', 'example.test'])).toBe('h2c 0');
    }
    expect(b.seen.map((s) => [s.httpVersion, s.url])).toEqual([
      ['2.0', '/n0'],
      ['2.0', '/n1'],
      ['2.0', '/n2'],
    ]);
    expect(b.sessionsOpened).toBe(1);
  });

  it("bodiless requests share one upstream connection, within the backend's SETTINGS_MAX_CONCURRENT_STREAMS", async () => {
    const backend = createServer({ settings: { maxConcurrentStreams: 5 } });
    let sessions = 0;
    let active = 0;
    let maxActive = 0;
    backend.on('session', () => {
      sessions++;
    });
    backend.on('stream', (stream) => {
      active++;
      maxActive = Math.max(maxActive, active);
      stream.resume();
      stream.on('end', () =>
        setTimeout(() => {
          active--;
          stream.respond({ ':status': 200 });
          stream.end('ok');
        }, 50),
      );
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => backend.close(resolve)));
    const id = `127.0.0.1:${(backend.address() as { port: number }).port}`;
    const { port } = await proxy(peersApp([peer(id, { options: { alpn: 'h2' } })]), { h2c: true, accessLog: false });
    const s = await session(port);
    // The first request opens the connection; the next 20 find it open.
    expect((await h2Request(s, { ':path': '/warm' })).status).toBe(200);
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => h2Request(s, { ':path': `/m${i}` })));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(sessions).toBe(1);
    expect(maxActive).toBe(5);
  });

  it("alpn 'h2h1' on a cleartext peer stays HTTP/1.1", async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id, { options: { alpn: 'h2h1' } })]), { accessLog: false });
    const body = JSON.parse(await h1Get(port, '/', ['host', 'example.test']));
    expect(body.url).toBe('/');
    expect(u.requests.length).toBe(1);
  });
});

describe('header rules across versions', () => {
  it('h2 → h1: exactly the end-to-end fields, :authority as Host, cookie crumbs joined', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const s = await session(port);
    const reply = await h2Request(s, {
      ':path': '/t?q=1',
      ':authority': 'app.example:8443',
      'x-custom': 'one',
      cookie: ['a=1', 'b=2'],
      'user-agent': 'ua',
      te: 'trailers',
    });
    expect(reply.status).toBe(200);
    const raw = u.requests[0]?.rawHeaders ?? [];
    const pairs: string[] = [];
    for (let i = 0; i < raw.length; i += 2) pairs.push(`${(raw[i] as string).toLowerCase()}: ${raw[i + 1]}`);
    // Node's HTTP/1.1 client side (undici) adds only `connection: keep-alive`, its own framing.
    expect(pairs.sort()).toEqual(
      [
        'host: app.example:8443',
        'x-custom: one',
        'cookie: a=1; b=2',
        'user-agent: ua',
        'connection: keep-alive',
        'x-forwarded-for: 127.0.0.1',
        'x-real-ip: 127.0.0.1',
        'x-forwarded-proto: http',
        'x-forwarded-host: app.example:8443',
      ].sort(),
    );
  });

  it('h1 → h2: Host becomes :authority, hop-by-hop fields are dropped, end-to-end fields kept', async () => {
    const b = await h2Backend('h2');
    const { port } = await proxy(peersApp([peer(b.id, { options: { alpn: 'h2' } })]), { accessLog: false });
    await h1Get(port, '/x', [
      'host',
      'app.example',
      'connection',
      'keep-alive, x-hop',
      'x-hop',
      'gone',
      'keep-alive',
      'timeout=5',
      'te',
      'trailers',
      'x-custom',
      'kept',
    ]);
    const raw = b.seen[0]?.rawHeaders ?? [];
    const pairs: string[] = [];
    for (let i = 0; i < raw.length; i += 2) pairs.push(`${raw[i]}: ${raw[i + 1]}`);
    expect(pairs.sort()).toEqual(
      [
        ':authority: app.example',
        ':method: GET',
        ':path: /x',
        ':scheme: http',
        'x-custom: kept',
        'x-forwarded-for: 127.0.0.1',
        'x-real-ip: 127.0.0.1',
        'x-forwarded-proto: http',
        'x-forwarded-host: app.example',
      ].sort(),
    );
  });

  it('h2 → h2: te: trailers is kept, and response trailers reach the client', async () => {
    const b = await h2Backend('h2');
    b.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/grpc' });
      res.addTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' });
      res.end(Buffer.from([0, 0, 0, 0, 0]));
    };
    const { port } = await proxy(peersApp([peer(b.id, { options: { alpn: 'h2' } })]), { h2c: true, accessLog: false });
    const reply = await h2Request(
      await session(port),
      { ':method': 'POST', ':path': '/pkg.Svc/Call', te: 'trailers' },
      'x',
    );
    expect(reply.status).toBe(200);
    expect(reply.trailers?.['grpc-status']).toBe('0');
    expect(reply.trailers?.['grpc-message']).toBe('fine');
    const raw = b.seen[0]?.rawHeaders ?? [];
    expect(raw[raw.indexOf('te') + 1]).toBe('trailers');
  });

  it('h1 response → h2 client: hop-by-hop fields dropped, repeated fields and every Set-Cookie kept', async () => {
    const u = await upstream();
    u.handler = (_req, res) => {
      res.writeHead(200, [
        'connection',
        'keep-alive, x-hop',
        'x-hop',
        'gone',
        'keep-alive',
        'timeout=5',
        'set-cookie',
        'a=1',
        'set-cookie',
        'b=2',
        'x-dup',
        'one',
        'x-dup',
        'two',
      ]);
      res.end('ok');
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':path': '/' });
    expect(reply.status).toBe(200);
    expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(reply.headers['x-dup']).toBe('one, two');
    expect(reply.headers['x-hop']).toBeUndefined();
    expect(reply.headers['keep-alive']).toBeUndefined();
    expect(reply.headers.connection).toBeUndefined();
  });

  it('h1 chunked response trailers reach an h2 client', async () => {
    const u = await upstream();
    u.handler = (_req, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked', trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end();
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const reply = await h2Request(await session(port), { ':path': '/', te: 'trailers' });
    expect(reply.body.toString()).toBe('body');
    expect(reply.trailers?.['x-checksum']).toBe('abc');
  });
});

describe('streams', () => {
  it('a client RST_STREAM aborts the upstream request (h1 and h2c upstreams)', async () => {
    const u = await upstream();
    let h1Closed = false;
    u.handler = (_req, res) => {
      res.on('close', () => {
        h1Closed = true;
      });
    };
    const b = await h2Backend('h2');
    let h2Closed = false;
    b.handler = (req) => {
      req.stream.on('close', () => {
        h2Closed = true;
      });
    };
    const peers = [peer(u.id), peer(b.id, { options: { alpn: 'h2' } })];
    const { port } = await proxy(
      { upstreamPeer: (session) => peers[session.path === '/h2' ? 1 : 0] as never },
      { h2c: true, accessLog: false },
    );
    const s = await session(port);
    for (const path of ['/h1', '/h2']) {
      const stream = s.request({ ':path': path });
      stream.on('error', () => {});
      if (path === '/h1') await waitFor('the h1 upstream request', () => u.requests.length === 1, 10_000);
      else await waitFor('the h2 upstream request', () => b.seen.length === 1, 10_000);
      stream.close(constants.NGHTTP2_CANCEL);
    }
    await waitFor('both upstream requests aborted', () => h1Closed && h2Closed, 10_000);
  });

  it('large bodies both ways stream with backpressure: a client that stops reading holds the upstream back', async () => {
    const total = 64 * 1024 * 1024;
    const u = await upstream();
    let written = 0;
    let finished = false;
    u.handler = (_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 1);
      // Bounded: at most total / chunk writes, each waiting for drain when refused.
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        finished = true;
        res.end();
      };
      pump();
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const s = await session(port);
    const stream = s.request({ ':path': '/big' });
    stream.pause();
    await waitFor('the upstream to start writing', () => written > 0, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    // Held back by the h2 window, the proxy and the socket buffers: far below the 64 MiB body.
    expect(finished).toBe(false);
    expect(written).toBeLessThan(total / 4);
    let received = 0;
    stream.on('data', (c: Buffer) => {
      received += c.length;
    });
    stream.resume();
    await new Promise((resolve) => stream.on('end', resolve));
    expect(received).toBe(total);

    // Upload: 16 MiB from the h2 client reach the h1 backend in full.
    const up = 16 * 1024 * 1024;
    u.handler = undefined;
    const reply = await h2Request(s, { ':method': 'POST', ':path': '/up' }, Buffer.alloc(up, 2));
    expect(JSON.parse(reply.body.toString()).bodyBytes).toBe(up);
  }, 60_000);

  it('full duplex over h2 → h2c: each message is echoed back before the client sends the next', async () => {
    // Answers at once and echoes every chunk as it arrives (H2Backend answers after the body).
    const echo = createServer();
    echo.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.on('data', (c: Buffer) => stream.write(c));
      stream.on('end', () => stream.end());
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => echo.close(resolve)));
    const echoPort = (echo.address() as { port: number }).port;
    const { port } = await proxy(peersApp([peer(`127.0.0.1:${echoPort}`, { options: { alpn: 'h2' } })]), {
      h2c: true,
      accessLog: false,
    });
    const s = await session(port);
    const stream = s.request({ ':method': 'POST', ':path': '/duplex', te: 'trailers' }, { endStream: false });
    const received: string[] = [];
    const next = () => new Promise<string>((resolve) => stream.once('data', (c: Buffer) => resolve(c.toString())));
    for (let i = 0; i < 5; i++) {
      const reply = next();
      stream.write(`msg${i}`);
      received.push(await reply);
    }
    stream.end();
    expect(received).toEqual(['msg0', 'msg1', 'msg2', 'msg3', 'msg4']);
  });

  it('a backend that stops reading holds a large upload back (backpressure towards the client)', async () => {
    const u = await upstream();
    let release: (() => void) | undefined;
    let received = 0;
    u.handler = (req, res) => {
      req.pause();
      release = () => {
        req.on('data', (c: Buffer) => {
          received += c.length;
        });
        req.on('end', () => res.end('done'));
        req.resume();
      };
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const s = await session(port);
    const total = 64 * 1024 * 1024;
    const stream = s.request({ ':method': 'POST', ':path': '/slow-reader' }, { endStream: false });
    stream.on('error', () => {});
    const chunk = Buffer.alloc(64 * 1024, 5);
    let sent = 0;
    // Bounded: at most total / chunk writes, each waiting for drain when refused.
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!stream.write(chunk)) {
          stream.once('drain', pump);
          return;
        }
      }
      stream.end();
    };
    pump();
    await waitFor('the upstream request', () => release !== undefined, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(sent).toBeLessThan(total / 4);
    release?.();
    const body = await new Promise<string>((resolve) => {
      let text = '';
      stream.on('data', (c: Buffer) => {
        text += c.toString();
      });
      stream.on('end', () => resolve(text));
    });
    expect(body).toBe('done');
    expect(received).toBe(total);
  }, 60_000);
});
