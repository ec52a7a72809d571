import { LbError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { errorBody, errorHeaders, errorStatus } from '../src/internal/server/error-response.js';

describe('error responses', () => {
  it('take the status of the LbError, 500 for anything else', () => {
    expect(errorStatus(new LbError('LB_ERR_NO_HEALTHY_BACKEND', 'x'))).toBe(503);
    expect(errorStatus(new LbError('LB_ERR_CONNECT_FAILED', 'x'))).toBe(502);
    expect(errorStatus(new LbError('LB_ERR_UPSTREAM_TIMEOUT', 'x'))).toBe(504);
    expect(errorStatus(new LbError('LB_ERR_BAD_REQUEST', 'x'))).toBe(400);
    expect(errorStatus(undefined)).toBe(500);
  });

  it('show a bad request its own reason', () => {
    const err = new LbError('LB_ERR_BAD_REQUEST', 'too many Connection header nominations');
    expect(errorBody(400, err)).toBe('400 Bad Request: too many Connection header nominations\n');
  });

  it('show upstream failures a fixed reason, never the message (it may name internal addresses)', () => {
    const cases: [string, number, string][] = [
      ['LB_ERR_NO_HEALTHY_BACKEND', 503, '503 Service Unavailable: no healthy backend\n'],
      ['LB_ERR_CONNECT_FAILED', 502, '502 Bad Gateway: could not connect to an upstream\n'],
      ['LB_ERR_CONNECT_TIMEOUT', 502, '502 Bad Gateway: upstream connect timed out\n'],
      ['LB_ERR_TLS_HANDSHAKE', 502, '502 Bad Gateway: upstream TLS handshake failed\n'],
      ['LB_ERR_UPSTREAM_TIMEOUT', 504, '504 Gateway Timeout: upstream timed out\n'],
      ['LB_ERR_UPSTREAM_ERROR', 502, '502 Bad Gateway: upstream error\n'],
    ];
    for (const [code, status, body] of cases) {
      const err = new LbError(code as LbError['code'], 'connect 10.1.2.3:8443 refused');
      expect(errorStatus(err)).toBe(status);
      expect(errorBody(status, err)).toBe(body);
      expect(errorBody(status, err)).not.toContain('10.1.2.3');
    }
  });

  it('show the status line alone when there is no reason to give', () => {
    expect(errorBody(500, undefined)).toBe('500 Internal Server Error\n');
    expect(errorBody(502, new LbError('LB_ERR_INVALID_OPTION', 'upstreamPeer result: 10.0.0.1'))).toBe(
      '502 Bad Gateway\n',
    );
    expect(errorBody(418, undefined)).toBe('418 Error\n');
  });

  it('carry a plain-text content type and the body length in bytes, not characters', () => {
    const body = '400 Bad Request: é\n'; // 19 characters, 20 bytes in UTF-8
    expect(errorHeaders(body)).toEqual(['content-type', 'text/plain; charset=utf-8', 'content-length', '20']);
  });

  it('a refused method or coding shows its reason; a 405 lists the methods in Allow', () => {
    const connect = new LbError('LB_ERR_METHOD_NOT_ALLOWED', 'CONNECT is not forwarded');
    expect(errorStatus(connect)).toBe(405);
    expect(errorBody(405, connect)).toBe('405 Method Not Allowed: CONNECT is not forwarded\n');
    const allow = errorHeaders('x', 405);
    expect(allow.slice(4)).toEqual(['allow', 'GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH']);
    const gzip = new LbError('LB_ERR_NOT_IMPLEMENTED', 'transfer coding "gzip" is not supported (only chunked is)');
    expect(errorStatus(gzip)).toBe(501);
    expect(errorBody(501, gzip)).toBe(
      '501 Not Implemented: transfer coding "gzip" is not supported (only chunked is)\n',
    );
    expect(errorHeaders('x', 501)).toHaveLength(4);
  });
});
