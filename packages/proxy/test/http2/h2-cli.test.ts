import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import {
  generateTestPki,
  type ServeProcess,
  startBackend,
  startServe,
  type TestBackend,
  type TestPki,
} from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type H2Backend, startH2Backend } from './helpers/h2-backend.js';

// Real HTTP/2 clients (curl, nghttp) against `switchyard serve`, to HTTP/1.1, h2c and h2 (TLS) backends.

const CURL = '/usr/bin/curl';
const NGHTTP = '/usr/bin/nghttp';
const BIG = 32 * 1024 * 1024;

function run(program: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(program, args, { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The TLS listener completes a handshake (startServe's default check speaks plain HTTP). */
function tlsReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

let pki: TestPki;
let dir: string;
let h1: TestBackend[] = [];
let h2c: H2Backend;
let h2tls: H2Backend;
let plain: ServeProcess;
let secure: ServeProcess;

beforeAll(async () => {
  pki = generateTestPki();
  dir = mkdtempSync(join(tmpdir(), 'switchyard-h2-'));
  const files = {
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
    big: join(dir, 'big'),
  };
  writeFileSync(files.ca, pki.ca.cert);
  writeFileSync(files.cert, pki.server.cert);
  writeFileSync(files.key, pki.server.key);
  writeFileSync(files.big, Buffer.alloc(BIG, 3));
  h1 = await Promise.all(['a', 'b', 'c'].map((name) => startBackend({ name })));
  h2c = await startH2Backend('h2c');
  h2tls = await startH2Backend('h2tls', pki.server);
  const upstreams = {
    web: { backends: h1.map((b) => b.id) },
    grpcish: { backends: [h2c.id], peer: { alpn: 'h2' } },
    secure: { backends: [h2tls.id], tls: true, sni: 'localhost', peer: { alpn: 'h2', ca: files.ca } },
  };
  const routes = [
    { prefix: '/h2c', upstream: 'grpcish' },
    { prefix: '/h2tls', upstream: 'secure' },
    { prefix: '/', upstream: 'web' },
  ];
  plain = await startServe({
    config: (port) => ({ listen: `127.0.0.1:${port}`, accessLog: false, upstreams, routes, server: { h2c: true } }),
  });
  secure = await startServe({
    config: (port) => ({
      listen: `127.0.0.1:${port}`,
      accessLog: false,
      upstreams,
      routes,
      server: { tls: { cert: files.cert, key: files.key } },
    }),
    ready: tlsReady,
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([plain?.stop(), secure?.stop()]);
  await Promise.all([...h1.map((b) => b.close()), h2c?.close(), h2tls?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function total(): number {
  return h1.reduce((n, b) => n + b.requests.length, 0);
}

describe('curl', () => {
  it('--http2-prior-knowledge (h2c) to HTTP/1.1, h2c and TLS h2 backends', async () => {
    const base = `http://127.0.0.1:${plain.port}`;
    const toH1 = await run(CURL, [
      '-sS',
      '--http2-prior-knowledge',
      '-w',
      '\n%{http_version} %{http_code}',
      `${base}/x`,
    ]);
    expect(toH1.stdout.split('\n').at(-1)).toBe('2 200');
    expect(JSON.parse(toH1.stdout.split('\n')[0] as string).url).toBe('/x');
    const toH2c = await run(CURL, [
      '-sS',
      '--http2-prior-knowledge',
      '-w',
      ' %{http_version} %{http_code}',
      `${base}/h2c/y`,
    ]);
    expect(toH2c.stdout).toBe('h2c 0 2 200');
    const toH2 = await run(CURL, [
      '-sS',
      '--http2-prior-knowledge',
      '-w',
      ' %{http_version} %{http_code}',
      `${base}/h2tls/z`,
    ]);
    expect(toH2.stdout).toBe('h2tls 0 2 200');
    expect(h2c.seen.at(-1)?.httpVersion).toBe('2.0');
    expect(h2tls.seen.at(-1)?.httpVersion).toBe('2.0');
  });

  it('--http2 over TLS negotiates h2 by ALPN; --http1.1 still gets HTTP/1.1', async () => {
    const base = `https://localhost:${secure.port}`;
    const ca = join(dir, 'ca.pem');
    const resolve = `localhost:${secure.port}:127.0.0.1`;
    const h2 = await run(CURL, [
      '-sS',
      '--http2',
      '--cacert',
      ca,
      '--resolve',
      resolve,
      '-w',
      ' %{http_version} %{http_code}',
      `${base}/h2c/a`,
    ]);
    expect(h2.stdout).toBe('h2c 0 2 200');
    const h1only = await run(CURL, [
      '-sS',
      '--http1.1',
      '--cacert',
      ca,
      '--resolve',
      resolve,
      '-o',
      '/dev/null',
      '-w',
      '%{http_version} %{http_code}',
      `${base}/b`,
    ]);
    expect(h1only.stdout).toBe('1.1 200');
  });

  it('a 32 MiB upload and a 32 MiB download over h2c to an HTTP/1.1 backend arrive whole', async () => {
    const base = `http://127.0.0.1:${plain.port}`;
    const up = await run(CURL, [
      '-sS',
      '--http2-prior-knowledge',
      '--data-binary',
      `@${join(dir, 'big')}`,
      `${base}/up`,
    ]);
    expect(JSON.parse(up.stdout).bodyBytes).toBe(BIG);
    for (const b of h1) {
      b.handler = (_req, res) => {
        res.writeHead(200, { 'content-length': String(BIG) });
        res.end(Buffer.alloc(BIG, 4));
      };
    }
    try {
      const down = await run(CURL, [
        '-sS',
        '--http2-prior-knowledge',
        '-o',
        '/dev/null',
        '-w',
        '%{size_download} %{http_version}',
        `${base}/down`,
      ]);
      expect(down.stdout).toBe(`${BIG} 2`);
    } finally {
      for (const b of h1) b.handler = undefined;
    }
  }, 60_000);
});

describe('nghttp', () => {
  it('30 concurrent streams on one connection are spread round-robin: 10 per backend', async () => {
    const before = h1.map((b) => b.requests.length);
    const out = await run(NGHTTP, ['-n', '-s', '-m', '30', `http://127.0.0.1:${plain.port}/rr`]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.match(/\b200\b/g)?.length ?? 0).toBeGreaterThanOrEqual(30);
    expect(h1.map((b, i) => b.requests.length - (before[i] as number))).toEqual([10, 10, 10]);
    expect(total()).toBeGreaterThanOrEqual(30);
  });

  it('large uploads on many streams at once reach the backend whole (TLS, h2 to h2c)', async () => {
    const before = h2c.seen.length;
    const out = await run(NGHTTP, ['-n', '-m', '4', '-d', join(dir, 'big'), `https://127.0.0.1:${secure.port}/h2c/up`]);
    expect(out.code, out.stderr).toBe(0);
    const seen = h2c.seen.slice(before);
    expect(seen.map((s) => s.body.length)).toEqual([BIG, BIG, BIG, BIG]);
  }, 60_000);
});
