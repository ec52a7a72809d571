import { createServer, request, type Server } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { hostPort } from './net.js';

/**
 * Bulk transfers for backpressure tests: a body of a known byte pattern written as fast as the
 * reader allows, and a reader that consumes at a set rate and checks every byte's place. The
 * pattern is `offset % 251` (a prime, so it never lines up with power-of-two chunk sizes): a
 * lost, repeated or reordered chunk shows up at its edges.
 */

const PATTERN_PERIOD = 251;
/** One write: 4096 pattern periods (about 1 MB), so every write starts at pattern offset 0. */
const BLOCK = Buffer.from(Array.from({ length: PATTERN_PERIOD * 4096 }, (_, i) => i % PATTERN_PERIOD));

/** The pattern body length closest above `bytes`: a whole number of blocks. */
export function patternLength(bytes: number): number {
  return Math.ceil(bytes / BLOCK.length) * BLOCK.length;
}

/** Writes `length` pattern bytes (a multiple of the block, see {@link patternLength}) honouring backpressure, then ends. */
export async function writePattern(out: Writable, length: number): Promise<void> {
  const blocks = length / BLOCK.length;
  for (let i = 0; i < blocks; i++) {
    if (out.destroyed) throw new Error(`pattern writer: stream destroyed after ${i} blocks`);
    if (!out.write(BLOCK)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          out.off('close', onClose);
          resolve();
        };
        const onClose = () => {
          out.off('drain', onDrain);
          reject(new Error(`pattern writer: stream closed after ${i + 1} blocks`));
        };
        out.once('drain', onDrain);
        out.once('close', onClose);
      });
    }
  }
  await new Promise<void>((resolve) => out.end(resolve));
}

/** What a paced read got. */
export interface PacedRead {
  readonly bytes: number;
  /** The first offset whose byte was not the pattern's, or -1. */
  readonly firstBadOffset: number;
  readonly elapsedMs: number;
}

/**
 * Reads `stream` to its end at no more than `bytesPerSecond` (pausing it whenever it is ahead of
 * schedule), checking the first and last byte of every chunk against the pattern.
 */
export function readPaced(stream: Readable, bytesPerSecond: number): Promise<PacedRead> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let bytes = 0;
    let firstBadOffset = -1;
    stream.on('data', (chunk: Buffer) => {
      if (firstBadOffset < 0 && chunk.length > 0) {
        const last = bytes + chunk.length - 1;
        if (chunk[0] !== bytes % PATTERN_PERIOD) firstBadOffset = bytes;
        else if (chunk[chunk.length - 1] !== last % PATTERN_PERIOD) firstBadOffset = last;
      }
      bytes += chunk.length;
      const aheadMs = (bytes / bytesPerSecond) * 1000 - (performance.now() - start);
      if (aheadMs > 1) {
        stream.pause();
        setTimeout(() => stream.resume(), aheadMs);
      }
    });
    stream.once('end', () => resolve({ bytes, firstBadOffset, elapsedMs: performance.now() - start }));
    stream.once('error', reject);
  });
}

/** A loopback backend for bulk transfers: `PUT` bodies are read paced; `GET /bytes/N` streams N pattern bytes. */
export interface PacedBackend {
  readonly id: string;
  /** Rate at which request bodies are read, bytes/s; changeable between requests. */
  uploadRate: number;
  /** Every upload read so far. */
  readonly uploads: PacedRead[];
  stop(): Promise<void>;
}

/** Starts a {@link PacedBackend} on 127.0.0.1. */
export async function startPacedBackend(uploadRate: number): Promise<PacedBackend> {
  const uploads: PacedRead[] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'PUT') {
      readPaced(req, self.uploadRate).then(
        (read) => {
          uploads.push(read);
          res.end(JSON.stringify(read));
        },
        () => res.destroy(),
      );
      return;
    }
    const wanted = /^\/bytes\/(\d+)$/.exec(url);
    if (wanted === null) {
      res.end('ok');
      return;
    }
    const length = patternLength(Number(wanted[1]));
    res.writeHead(200, { 'content-length': String(length), 'content-type': 'application/octet-stream' });
    writePattern(res, length).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const self: PacedBackend = {
    id: hostPort('127.0.0.1', port),
    uploadRate,
    uploads,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return self;
}

/** Uploads `length` pattern bytes with `PUT path` to `port` as fast as the proxy takes them; resolves with the status and body. */
export function uploadPattern(port: number, path: string, length: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path,
      agent: false,
      headers: { 'content-length': String(length) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    writePattern(req, length).catch(reject);
  });
}

/** Downloads `GET path` from `port` reading at `bytesPerSecond`; resolves with the status and what was read. */
export function downloadPaced(
  port: number,
  path: string,
  bytesPerSecond: number,
): Promise<{ status: number; read: PacedRead }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      readPaced(res, bytesPerSecond).then((read) => resolve({ status: res.statusCode ?? 0, read }), reject);
    });
    req.end();
  });
}
