import { Agent, request } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { peer, peersApp, responseText, send } from './helpers/server-client.js';
import { serverFixtures } from './helpers/server-fixtures.js';

const GiB = 1024 ** 3;
const CHUNK = Buffer.alloc(256 * 1024, 0x61);
/** The whole process (client, proxy and upstream share it) must stay under this while 1 GiB streams through. */
const RSS_LIMIT = 200 * 1024 * 1024;

const { upstream, proxy } = serverFixtures(1000);

/** `total` bytes made on demand, never held in memory. */
function generated(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK.length, total - sent);
      sent += n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

/** Samples RSS every 50 ms until stopped; returns the peak. */
function watchRss(): () => number {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage.rss());
  };
}

describe('bodies stream with backpressure', () => {
  it('uploads 1 GiB through the proxy with RSS under 200 MB', { timeout: 60_000 }, async () => {
    const u = await upstream();
    u.handler = (req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
      });
      req.on('end', () => res.end(String(n)));
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const stop = watchRss();
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/upload', agent: false });
    const answer = responseText(req);
    generated(GiB).pipe(req);
    const received = await answer;
    const peak = stop();
    console.log(`upload 1 GiB: peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
    expect(Number(received)).toBe(GiB);
    expect(peak).toBeLessThan(RSS_LIMIT);
  });

  it('downloads 1 GiB through the proxy with RSS under 200 MB', { timeout: 60_000 }, async () => {
    const u = await upstream();
    u.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': String(GiB) });
      generated(GiB).pipe(res);
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const stop = watchRss();
    const total = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/download', agent: false });
      req.on('error', reject);
      req.on('response', (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      });
      req.end();
    });
    const peak = stop();
    console.log(`download 1 GiB: peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
    expect(total).toBe(GiB);
    expect(peak).toBeLessThan(RSS_LIMIT);
  });

  it('a slow reader holds the upstream back instead of buffering (backpressure reaches the upstream)', async () => {
    const u = await upstream();
    let produced = 0;
    u.handler = (_req, res) => {
      res.writeHead(200);
      const source = new Readable({
        read() {
          produced += CHUNK.length;
          this.push(produced > 256 * 1024 * 1024 ? null : CHUNK);
        },
      });
      source.pipe(res);
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false });
    req.on('error', () => {});
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => {
      req.on('response', resolve);
      req.end();
    });
    res.pause();
    await new Promise((r) => setTimeout(r, 500));
    // Socket buffers on the three hops hold a few MiB at most; without backpressure all 256 MiB would be produced.
    expect(produced).toBeLessThan(64 * 1024 * 1024);
    req.destroy();
  });
});

/** Every byte value, repeated to `size` bytes (starting at `offset`, so sizes differ in content too). */
function allBytes(size: number, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = (i + offset) & 0xff;
  return out;
}

describe('response bodies arrive byte for byte', () => {
  // Sizes around the 8 KiB a response may hold back to leave with its head in one write.
  const SIZES = [0, 1, 255, 256, 8191, 8192, 8193, 16_384, 70_000];

  it('for every byte value and sizes around the hold limit, over one keep-alive connection', async () => {
    const u = await upstream();
    u.handler = (req, res) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      const size = Number(query.get('size'));
      const mode = query.get('mode');
      const body = allBytes(size, size);
      if (mode === 'chunked') {
        // No Content-Length: chunked framing from the upstream, in three writes.
        res.writeHead(200);
        res.write(body.subarray(0, size / 3));
        res.write(body.subarray(size / 3, (2 * size) / 3));
        res.end(body.subarray((2 * size) / 3));
        return;
      }
      if (mode === 'later') {
        // The second half comes in a later turn than the head and the first half.
        res.writeHead(200, { 'content-length': String(size) });
        res.write(body.subarray(0, size >> 1));
        setTimeout(() => res.end(body.subarray(size >> 1)), 20);
        return;
      }
      res.writeHead(200, { 'content-length': String(size) });
      res.end(body);
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const mode of ['length', 'chunked', 'later']) {
        for (const size of SIZES) {
          const reply = await send(port, `/?size=${size}&mode=${mode}`, { agent });
          expect(reply.status, `${mode} ${size}`).toBe(200);
          expect(reply.bytes.length, `${mode} ${size}`).toBe(size);
          expect(reply.bytes.equals(allBytes(size, size)), `${mode} ${size}: bytes differ`).toBe(true);
        }
      }
    } finally {
      agent.destroy();
    }
  });

  it('many small responses completing in the same turn each get their own body', async () => {
    const u = await upstream();
    u.handler = (req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'));
      const body = allBytes(100 + n, n);
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    try {
      const replies = await Promise.all(Array.from({ length: 200 }, (_, n) => send(port, `/?n=${n}`, { agent })));
      replies.forEach((reply, n) => {
        expect(reply.bytes.equals(allBytes(100 + n, n)), `response ${n}`).toBe(true);
      });
    } finally {
      agent.destroy();
    }
  });
});

describe('a 64 KiB body each way is relayed without stopping either side', () => {
  it('neither pauses the client request nor waits for the client response to drain', async () => {
    const size = 64 * 1024;
    const u = await upstream();
    u.handler = (req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-length': String(size), 'x-received': String(n) });
        res.end(Buffer.alloc(size, 0x62));
      });
    };
    let pauses = 0;
    let drains = 0;
    const app = peersApp([peer(u.id)], {
      requestFilter(session) {
        // undici pauses the request body when a write to the upstream socket reports a full
        // buffer; a response write that reports one asks undici to stop reading until 'drain'.
        session.request.on('pause', () => pauses++);
        session.response.on('drain', () => drains++);
        return false;
      },
    });
    const { port } = await proxy(app, { accessLog: false });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const reply = await send(port, '/big', { method: 'POST', body: Buffer.alloc(size, 0x61), agent });
        expect(reply.status).toBe(200);
        expect(reply.headers['x-received']).toBe(String(size));
        expect(reply.bytes.equals(Buffer.alloc(size, 0x62))).toBe(true);
      }
    } finally {
      agent.destroy();
    }
    expect({ pauses, drains }).toEqual({ pauses: 0, drains: 0 });
  });
});
