import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { getHead, headerValues, rawExchange } from '../helpers/raw-client.js';
import { peer, peersApp } from '../helpers/server-client.js';
import { serverFixtures } from '../helpers/server-fixtures.js';
import { startH2Backend } from './helpers/h2-backend.js';

// Upstream response trailers reach HTTP/1.1 clients in the trailer section of a chunked body,
// from an HTTP/1.1 chunked upstream and from an HTTP/2 (h2c) upstream alike; a response framed by
// Content-Length has no trailer section, and its trailers are dropped.

const { cleanup, upstream, proxy } = serverFixtures(1000);

/** The trailer section of a chunked response on the wire (lines after the last chunk), `undefined` if there is none. */
function trailerLines(raw: Buffer): string[] | undefined {
  const text = raw.toString('latin1');
  const match = /\r\n0\r\n((?:[^\r\n]+\r\n)*)\r\n$/.exec(text);
  if (match === null) return undefined;
  return (match[1] ?? '').split('\r\n').filter((line) => line !== '');
}

function curl(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', [...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`curl failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('response trailers to HTTP/1.1 clients', () => {
  it('an HTTP/1.1 chunked upstream: its trailers follow the last chunk, with or without TE: trailers; framing fields are dropped', async () => {
    const u = await upstream();
    u.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('hello ');
      res.write('world');
      res.addTrailers([
        ['X-Checksum', 'abc'],
        ['x-note', 'one'],
        ['x-note', 'two'],
        // Not allowed in a trailer section (RFC 9110 §6.5.1): never forwarded.
        ['content-type', 'text/html'],
      ]);
      res.end();
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    for (const te of [[], ['TE: trailers']]) {
      const r = await rawExchange(port, getHead('/t', te));
      expect(r.invalid).toBeUndefined();
      const [response] = r.responses;
      expect(response?.status).toBe(200);
      expect(response?.body.toString()).toBe('hello world');
      expect(headerValues(response?.headers ?? [], 'transfer-encoding')).toEqual(['chunked']);
      expect(trailerLines(r.raw)).toEqual(['x-checksum: abc', 'x-note: one', 'x-note: two']);
    }
  });

  it('an h2c upstream (gRPC-like): grpc-status and grpc-message reach the HTTP/1.1 client as trailers', async () => {
    const b = await startH2Backend('grpcish');
    cleanup.push(() => b.close());
    b.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/grpc' });
      res.write(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
      res.addTrailers({ 'grpc-status': '0', 'grpc-message': 'all%20good' });
      res.end();
    };
    const { port } = await proxy(peersApp([peer(b.id, { options: { alpn: 'h2' } })]), { accessLog: false });
    const r = await rawExchange(port, getHead('/pkg.Svc/Call', ['TE: trailers']));
    expect(r.invalid).toBeUndefined();
    const [response] = r.responses;
    expect(response?.status).toBe(200);
    expect([...(response?.body ?? [])]).toEqual([0, 0, 0, 0, 2, 8, 1]);
    expect(trailerLines(r.raw)).toEqual(['grpc-status: 0', 'grpc-message: all%20good']);
  });

  it('curl --raw shows the trailer section', async () => {
    const u = await upstream();
    u.handler = (_req, res) => {
      res.writeHead(200, { trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'x-checksum': 'c0ffee' });
      res.end();
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const out = await curl(['--silent', '--raw', '--http1.1', `http://127.0.0.1:${port}/curl`]);
    expect(out).toBe('4\r\nbody\r\n0\r\nx-checksum: c0ffee\r\n\r\n');
  });

  it('a response framed by Content-Length has no trailer section: the body arrives intact, the trailers are dropped', async () => {
    const b = await startH2Backend('sized');
    cleanup.push(() => b.close());
    b.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '4' });
      res.write('body');
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end();
    };
    const { port } = await proxy(peersApp([peer(b.id, { options: { alpn: 'h2' } })]), { accessLog: false });
    const r = await rawExchange(port, getHead('/sized', ['TE: trailers']));
    expect(r.invalid).toBeUndefined();
    const [response] = r.responses;
    expect(response?.status).toBe(200);
    expect(headerValues(response?.headers ?? [], 'content-length')).toEqual(['4']);
    expect(response?.body.toString()).toBe('body');
    expect(r.raw.toString('latin1').endsWith('\r\n\r\nbody')).toBe(true);
  });
});
