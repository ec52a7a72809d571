import { describe, expect, it } from 'vitest';
import { authorityError, requestTarget } from '../src/internal/server/request-target.js';
import { checkTransferCodings } from '../src/internal/server/transfer-coding.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('authorityError', () => {
  it.each([
    'a.example',
    'a.example:8080',
    '127.0.0.1',
    '127.0.0.1:1',
    '[::1]',
    '[::1]:65535',
    '[2001:db8::ff00:42:8329]:443',
    'xn--bcher-kva.example',
    'a%2Eb',
    "sub-delims!$&'()*+,;=",
  ])('accepts %s', (authority) => {
    expect(authorityError(authority)).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    [':80', 'empty host'],
    ['user@a.example', 'userinfo'],
    ['user:pass@a.example:80', 'userinfo'],
    ['a b', 'invalid character'],
    ['a\tb', 'invalid character'],
    ['a/b', 'invalid character'],
    ['a%2', 'invalid character'],
    ['a.example:', 'bad port'],
    ['a.example:65536', 'bad port'],
    ['a.example:123456', 'bad port'],
    ['a.example:-1', 'bad port'],
    ['a.example:80:80', 'bad port'],
    ['[::1', 'unclosed'],
    ['[nope]', 'invalid IPv6'],
    ['[::1]x', 'after the IPv6'],
  ])('refuses %j (%s)', (authority, reason) => {
    expect(authorityError(authority)).toContain(reason);
  });
});

describe('requestTarget', () => {
  const host = (value: string) => ['Host', value];

  it('keeps origin-form and leaves Host alone', () => {
    expect(requestTarget('GET', '/a?b', '1.1', host('x'))).toEqual({ uri: '/a?b', authority: undefined });
  });

  it('turns absolute-form into origin-form with its authority', () => {
    expect(requestTarget('GET', 'http://a.example:81/p?q', '1.1', host('x'))).toEqual({
      uri: '/p?q',
      authority: 'a.example:81',
    });
    expect(requestTarget('GET', 'HTTPS://a.example', '1.1', host('x'))).toEqual({ uri: '/', authority: 'a.example' });
    expect(requestTarget('GET', 'http://[::1]:8/', '1.1', host('x'))).toEqual({ uri: '/', authority: '[::1]:8' });
    expect(requestTarget('GET', 'http://a.example?q', '1.1', host('x'))).toEqual({
      uri: '/?q',
      authority: 'a.example',
    });
  });

  it('accepts * for OPTIONS only', () => {
    expect(requestTarget('OPTIONS', '*', '1.1', host('x'))).toEqual({ uri: '*', authority: undefined });
    expect(message(() => requestTarget('GET', '*', '1.1', host('x')))).toContain('only for OPTIONS');
  });

  it('refuses other forms and schemes with LB_ERR_BAD_REQUEST', () => {
    for (const url of ['a.example:443', 'ftp://a/b', 'http:/a', 'x']) {
      expect(
        code(() => requestTarget('GET', url, '1.1', host('x'))),
        url,
      ).toBe('LB_ERR_BAD_REQUEST');
    }
    expect(message(() => requestTarget('GET', 'http://u@a/b', '1.1', host('x')))).toContain('userinfo');
    expect(message(() => requestTarget('GET', 'http:///b', '1.1', host('x')))).toContain('empty');
  });

  it('refuses two Host fields (any case), an invalid one, and none on HTTP/1.1', () => {
    expect(message(() => requestTarget('GET', '/', '1.1', ['Host', 'a', 'HOST', 'a']))).toContain('more than one Host');
    expect(message(() => requestTarget('GET', '/', '1.1', ['host', 'a b']))).toContain('invalid Host header');
    expect(message(() => requestTarget('GET', '/', '1.1', ['X-Host', 'a']))).toContain('missing Host');
    expect(requestTarget('GET', '/', '1.0', ['X-Host', 'a'])).toEqual({ uri: '/', authority: undefined });
    expect(message(() => requestTarget('GET', '/', '1.0', ['Host', '']))).toContain('empty');
  });
});

describe('checkTransferCodings', () => {
  it('accepts no Transfer-Encoding and plain chunked in any case', () => {
    expect(() => checkTransferCodings(['Host', 'a'])).not.toThrow();
    expect(() => checkTransferCodings(['Transfer-Encoding', 'Chunked'])).not.toThrow();
  });

  it('refuses other codings before chunked with LB_ERR_NOT_IMPLEMENTED naming the coding', () => {
    expect(code(() => checkTransferCodings(['Transfer-Encoding', 'gzip, chunked']))).toBe('LB_ERR_NOT_IMPLEMENTED');
    expect(message(() => checkTransferCodings(['transfer-encoding', 'br', 'Transfer-Encoding', 'chunked']))).toContain(
      '"br"',
    );
  });

  it('refuses a list that does not end in chunked, or applies it twice, with LB_ERR_BAD_REQUEST', () => {
    for (const value of ['gzip', 'chunked, gzip', 'chunked, chunked', '']) {
      expect(
        code(() => checkTransferCodings(['Transfer-Encoding', value])),
        value,
      ).toBe('LB_ERR_BAD_REQUEST');
    }
  });
});
