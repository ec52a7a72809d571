import { LbError } from '@switchyard/core';
import { waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeGrpcMessage,
  grpcFailureFields,
  grpcStatusFor,
  parseGrpcTimeout,
} from '../../src/internal/server/grpc-call.js';
import { h2Close, h2Connect, h2Request } from '../http2/helpers/h2-client.js';
import { type GrpcFixture, startGrpcFixture } from './helpers/grpc-fixture.js';

// What Switchyard itself answers to a gRPC call, seen on the wire by a plain node:http2 client.

/** One JSON Echo message in gRPC's length-prefixed framing. */
function frame(message: object): Buffer {
  const body = Buffer.from(JSON.stringify(message));
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

const grpcHead = (extra: Record<string, string> = {}) => ({
  ':method': 'POST',
  ':path': '/switchyard.test.Echo/Unary',
  'content-type': 'application/grpc',
  te: 'trailers',
  ...extra,
});

describe('Switchyard’s own answers to gRPC calls', () => {
  let f: GrpcFixture;
  afterEach(() => f?.close());

  it('no backend to reach: HTTP 200, trailers-only, grpc-status 14 and a message, no body', async () => {
    f = await startGrpcFixture();
    await Promise.all(f.backends.map((b) => b.stop()));
    const s = await h2Connect(`http://127.0.0.1:${f.port}`);
    try {
      const reply = await h2Request(s, grpcHead(), frame({}));
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toBe('application/grpc');
      expect(reply.headers['grpc-status']).toBe('14');
      expect(reply.headers['grpc-message']).toBe('switchyard: could not connect to an upstream');
      expect(reply.body.length).toBe(0);
      expect(reply.trailers).toBeUndefined();
      // The same failure for a request that is not gRPC keeps the plain-text 502.
      const plain = await h2Request(s, { ':method': 'GET', ':path': '/' });
      expect(plain.status).toBe(502);
      expect(plain.body.toString()).toBe('502 Bad Gateway: could not connect to an upstream\n');
    } finally {
      await h2Close(s);
    }
  });

  it('grpc-timeout bounds the upstream attempt: DEADLINE_EXCEEDED, and the backend’s stream is reset', async () => {
    f = await startGrpcFixture();
    const s = await h2Connect(`http://127.0.0.1:${f.port}`);
    try {
      const started = performance.now();
      // No client-side deadline here: only the proxy enforces the 300 ms.
      const reply = await h2Request(s, grpcHead({ 'grpc-timeout': '300m' }), frame({ delayMs: 10_000 }));
      expect(performance.now() - started).toBeLessThan(8000);
      expect(reply.status).toBe(200);
      // The backend sent its response head at once (Echo sends metadata first): the status comes
      // in trailers after it, where a client reads it as the call's outcome.
      expect(reply.headers['x-backend']).toMatch(/^[abc]$/);
      expect(reply.trailers?.['grpc-status']).toBe('4');
      expect(reply.trailers?.['grpc-message']).toBe('switchyard: upstream timed out');
      const call = f.backends.flatMap((b) => b.calls).find((c) => c.method === 'unary');
      await waitFor('the backend to see the call cancelled', () => call?.cancelled === true, 5000, 10);
      expect(call?.finished).toBe(false);
    } finally {
      await h2Close(s);
    }
  });

  it('a call that ends in time is untouched by its grpc-timeout', async () => {
    f = await startGrpcFixture();
    const s = await h2Connect(`http://127.0.0.1:${f.port}`);
    try {
      const reply = await h2Request(s, grpcHead({ 'grpc-timeout': '10S' }), frame({ text: 'in time' }));
      expect(reply.status).toBe(200);
      expect(reply.trailers?.['grpc-status']).toBe('0');
      expect(reply.body.subarray(5).toString()).toContain('"text":"in time"');
    } finally {
      await h2Close(s);
    }
  });
});

describe('gRPC terms, as pure functions', () => {
  it('parses grpc-timeout by the protocol’s grammar (1–8 digits, one unit), rounding up to whole ms', () => {
    expect(parseGrpcTimeout('300m')).toBe(300);
    expect(parseGrpcTimeout('2S')).toBe(2000);
    expect(parseGrpcTimeout('1M')).toBe(60_000);
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('1500u')).toBe(2);
    expect(parseGrpcTimeout('1n')).toBe(1);
    expect(parseGrpcTimeout('0m')).toBe(1);
    for (const bad of [undefined, '', '5', 'm', '123456789m', '1.5S', '5s', ' 5S', '-1S']) {
      expect(parseGrpcTimeout(bad)).toBeUndefined();
    }
    expect(parseGrpcTimeout('99999999H')).toBeUndefined(); // beyond a timer's reach: no bound
  });

  it('maps the proxy’s failures to gRPC codes', () => {
    expect(grpcStatusFor(new LbError('LB_ERR_NO_HEALTHY_BACKEND', 'x'))).toBe(14);
    expect(grpcStatusFor(new LbError('LB_ERR_CONNECT_FAILED', 'x'))).toBe(14);
    expect(grpcStatusFor(new LbError('LB_ERR_UPSTREAM_ERROR', 'x'))).toBe(14);
    expect(grpcStatusFor(new LbError('LB_ERR_UPSTREAM_TIMEOUT', 'x'))).toBe(4);
    expect(grpcStatusFor(new LbError('LB_ERR_BAD_REQUEST', 'x'))).toBe(13);
    expect(grpcStatusFor(undefined)).toBe(13);
  });

  it('percent-encodes grpc-message (non-ASCII and % itself)', () => {
    expect(encodeGrpcMessage('plain text: ok')).toBe('plain text: ok');
    expect(encodeGrpcMessage('100% ünïcode\n')).toBe('100%25 %C3%BCn%C3%AFcode%0A');
    expect(grpcFailureFields(new LbError('LB_ERR_BAD_REQUEST', 'a bad header'))).toEqual({
      'grpc-status': '13',
      'grpc-message': 'switchyard: a bad header',
    });
  });
});
