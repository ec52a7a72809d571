import { request } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { peer, peersApp, responseText } from './helpers/server-client.js';
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
