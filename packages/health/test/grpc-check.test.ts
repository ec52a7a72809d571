import { createServer as createHttpServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { backend, HttpPeer, isLbError } from '@switchyard/core';
import { grpcCheck } from '@switchyard/health';
import { close, deadAddress, type GrpcBackend, generateTestPki, listen, startGrpcBackend } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHealthResponse, encodeHealthRequest } from '../src/internal/grpc-health-wire.js';

const pki = generateTestPki();

describe('grpcCheck against a grpc-js server with the standard health service', () => {
  let up: GrpcBackend;
  beforeAll(async () => {
    up = await startGrpcBackend({ name: 'g1', health: { '': 'SERVING', 'shop.Cart': 'SERVING' } });
  });
  afterAll(() => up.stop());

  it('passes while the server says SERVING, over h2c, and closes its connection', async () => {
    const before = up.connections;
    const result = await grpcCheck().check(backend(up.id));
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(result.reason).toBeUndefined();
    expect(up.connections).toBe(before + 1);
    expect(up.traffic()).toBe(0); // a health call is not Echo traffic
  });

  it('fails with the serving status the server reports (NOT_SERVING, UNKNOWN)', async () => {
    const check = grpcCheck();
    up.health.setStatus('', 'NOT_SERVING');
    expect(await check.check(backend(up.id))).toMatchObject({ ok: false, reason: 'status NOT_SERVING', status: 200 });
    up.health.setStatus('', 'UNKNOWN');
    expect(await check.check(backend(up.id))).toMatchObject({ ok: false, reason: 'status UNKNOWN' });
    up.health.setStatus('', 'SERVING');
    expect(await check.check(backend(up.id))).toMatchObject({ ok: true });
  });

  it('asks about the configured service; an unknown one fails with grpc-status NOT_FOUND', async () => {
    expect(await grpcCheck({ service: 'shop.Cart' }).check(backend(up.id))).toMatchObject({ ok: true });
    up.health.setStatus('shop.Cart', 'NOT_SERVING');
    expect(await grpcCheck({ service: 'shop.Cart' }).check(backend(up.id))).toMatchObject({
      ok: false,
      reason: 'status NOT_SERVING',
    });
    up.health.setStatus('shop.Cart', 'SERVING');
    const unknown = await grpcCheck({ service: 'shop.Nowhere' }).check(backend(up.id));
    expect(unknown.ok).toBe(false);
    expect(unknown.reason).toMatch(/^grpc-status 5 \(NOT_FOUND\)/);
  });

  it('keeps one connection across checks with reuseConnection, and reconnects after the backend restarts', async () => {
    const check = grpcCheck({ reuseConnection: true });
    const before = up.connections;
    for (let i = 0; i < 3; i++) expect(await check.check(backend(up.id))).toMatchObject({ ok: true });
    expect(up.connections).toBe(before + 1);
    await up.stop();
    expect(await check.check(backend(up.id))).toMatchObject({ ok: false });
    await up.restart();
    expect(await check.check(backend(up.id))).toMatchObject({ ok: true });
    expect(up.connections).toBe(before + 2);
    await check.close?.();
    // close() destroyed the kept session: the backend sees the connection go.
    await expect.poll(() => up.sockets.size, { timeout: 5000 }).toBe(0);
  });

  it('fails with "check aborted" when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await grpcCheck().check(backend(up.id), controller.signal)).toMatchObject({
      ok: false,
      reason: 'check aborted',
    });
  });
});

describe('grpcCheck failures', () => {
  it('fails with "connection refused" on a port with nothing listening', async () => {
    expect(await grpcCheck().check(backend(await deadAddress()))).toMatchObject({
      ok: false,
      reason: 'connection refused',
    });
  });

  it('fails with a timeout reason when the server accepts and never speaks HTTP/2', async () => {
    const sockets: Socket[] = [];
    const server = createNetServer((s) => sockets.push(s));
    const port = await listen(server);
    try {
      const result = await grpcCheck({ timeoutMs: 200 }).check(backend(`127.0.0.1:${port}`));
      expect(result).toMatchObject({ ok: false, reason: 'timeout after 200 ms' });
    } finally {
      for (const s of sockets) s.destroy();
      await close(server);
    }
  });

  it('fails when the backend speaks HTTP/1.1 only', async () => {
    const server = createHttpServer((_req, res) => res.end('ok'));
    const port = await listen(server);
    try {
      const result = await grpcCheck({ timeoutMs: 2000 }).check(backend(`127.0.0.1:${port}`));
      expect(result.ok).toBe(false);
      expect(result.reason).not.toMatch(/timeout/);
    } finally {
      await close(server);
    }
  });

  it('fails on an HTTP status other than 200 and on a missing grpc-status', async () => {
    let answer: 'http-503' | 'no-status' = 'http-503';
    const server = createSecureServer({ ...pki.server, allowHTTP1: false }, (req, res) => {
      req.resume();
      if (answer === 'http-503') {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/grpc' });
      res.end(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01])); // SERVING, but no trailers at all
    });
    const port = await listen(server);
    const check = grpcCheck({ tls: true, ca: pki.ca.cert });
    try {
      expect(await check.check(backend(`127.0.0.1:${port}`))).toMatchObject({
        ok: false,
        reason: 'HTTP status 503',
        status: 503,
      });
      answer = 'no-status';
      expect(await check.check(backend(`127.0.0.1:${port}`))).toMatchObject({
        ok: false,
        reason: 'no grpc-status in the answer',
      });
    } finally {
      await check.close?.();
      await close(server);
    }
  });
});

describe('grpcCheck over TLS (h2)', () => {
  let up: GrpcBackend;
  beforeAll(async () => {
    up = await startGrpcBackend({ name: 'tls', tls: pki.server });
  });
  afterAll(() => up.stop());

  it('verifies the certificate with the given CA and passes', async () => {
    expect(await grpcCheck({ tls: true, ca: pki.ca.cert }).check(backend(up.id))).toMatchObject({ ok: true });
  });

  it('fails with a TLS verification reason against an untrusted CA', async () => {
    const result = await grpcCheck({ tls: true, ca: pki.otherCa.cert }).check(backend(up.id));
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/^TLS certificate verification failed/);
  });

  it('offers h2 even when the peer template says alpn h1, without changing the template', async () => {
    const peer = new HttpPeer('0.0.0.0:1', true, '', { options: { ca: pki.ca.cert, alpn: 'h1' } });
    expect(await grpcCheck({ peer }).check(backend(up.id))).toMatchObject({ ok: true });
    expect(peer.options.alpn).toBe('h1');
  });

  it('fails when a TLS server answers ALPN h2 with an alert (an HTTP/1.1-only server)', async () => {
    const server = createHttpsServer({ ...pki.server, ALPNProtocols: ['http/1.1'] }, (_q, s) => s.end());
    const port = await listen(server);
    try {
      const result = await grpcCheck({ tls: true, ca: pki.ca.cert }).check(backend(`127.0.0.1:${port}`));
      expect(result.ok).toBe(false);
      expect(result.reason).toMatch(/^TLS error: .*no application protocol/);
    } finally {
      await close(server);
    }
  });

  it('fails when a TLS server does not agree to h2', async () => {
    // A server that offers no ALPN at all: the handshake completes, but nothing agreed to h2.
    const server = createTlsServer(pki.server, (s) => s.end());
    const port = await listen(server);
    try {
      const result = await grpcCheck({ tls: true, ca: pki.ca.cert }).check(backend(`127.0.0.1:${port}`));
      expect(result.ok).toBe(false);
      expect(result.reason).toBe('the backend did not agree to HTTP/2 (ALPN none)');
    } finally {
      await close(server);
    }
  });
});

describe('grpcCheck options and wire format', () => {
  it('rejects bad options with LB_ERR_INVALID_OPTION naming the field', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ service: 7 }, /grpcCheck service/],
      [{ authority: '' }, /grpcCheck authority/],
      [{ reuseConnection: 'yes' }, /grpcCheck reuseConnection/],
      [{ timeoutMs: 0 }, /grpcCheck timeoutMs/],
      [{ peer: new HttpPeer('0.0.0.0:1', false), tls: true }, /grpcCheck tls/],
    ];
    for (const [options, message] of bad) {
      let thrown: unknown;
      try {
        grpcCheck(options as never);
      } catch (err) {
        thrown = err;
      }
      expect(isLbError(thrown) && thrown.code).toBe('LB_ERR_INVALID_OPTION');
      expect((thrown as Error).message).toMatch(message);
    }
  });

  it('frames the request as gRPC does: flag, 4-byte length, field 1 as a string', () => {
    expect([...encodeHealthRequest('')]).toEqual([0, 0, 0, 0, 0]);
    expect([...encodeHealthRequest('ab')]).toEqual([0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
  });

  it('decodes the status, skipping unknown fields, and names malformed answers', () => {
    const frame = (bytes: number[]) => Buffer.from([0, 0, 0, 0, bytes.length, ...bytes]);
    expect(decodeHealthResponse(frame([0x08, 0x01]))).toBe(1);
    expect(decodeHealthResponse(frame([]))).toBe(0); // proto3: absent means UNKNOWN
    // field 2 (length-delimited, 3 bytes), field 3 (fixed32), then status 2
    expect(decodeHealthResponse(frame([0x12, 3, 1, 2, 3, 0x1d, 0, 0, 0, 0, 0x08, 0x02]))).toBe(2);
    expect(decodeHealthResponse(Buffer.from([0, 0, 0]))).toMatch(/truncated/);
    expect(decodeHealthResponse(Buffer.from([1, 0, 0, 0, 0]))).toMatch(/compressed/);
    expect(decodeHealthResponse(Buffer.from([0, 0, 0, 0, 5, 0x08]))).toMatch(/prefix says 5/);
    expect(decodeHealthResponse(frame([0x08]))).toMatch(/bad varint/);
    expect(decodeHealthResponse(frame([0x12, 9, 1]))).toMatch(/bad length/);
    expect(decodeHealthResponse(frame([0x0b]))).toMatch(/wire type 3/);
  });
});
