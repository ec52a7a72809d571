import { haproxyKeyExtractor, keyExtractor } from '@switchyard/proxy';
import { describe, expect, it } from 'vitest';
import { sessionOf } from './helpers/session.js';

describe('keyExtractor', () => {
  const s = sessionOf(
    '/shop/cart?user=ann%20lee&empty=&flag&x=1&user=bob',
    { 'x-tenant': 'acme', 'x-multi': ['a', 'b'], cookie: 'theme=dark; sid="s3cr3t"; sidx=no' },
    '127.0.0.9',
  );

  it('uri, path and client-ip read the request as received', () => {
    expect(keyExtractor('uri')(s)).toBe('/shop/cart?user=ann%20lee&empty=&flag&x=1&user=bob');
    expect(keyExtractor('path')(s)).toBe('/shop/cart');
    expect(keyExtractor('client-ip')(s)).toBe('127.0.0.9');
  });

  it('header:NAME is case-insensitive and joins repeated headers', () => {
    expect(keyExtractor('header:X-Tenant')(s)).toBe('acme');
    expect(keyExtractor('header:x-multi')(s)).toBe('a,b');
    expect(keyExtractor('header:x-missing')(s)).toBe('');
  });

  it('cookie:NAME finds the exact cookie, unquoted, not a longer name', () => {
    expect(keyExtractor('cookie:theme')(s)).toBe('dark');
    expect(keyExtractor('cookie:sid')(s)).toBe('s3cr3t');
    expect(keyExtractor('cookie:sidx')(s)).toBe('no');
    expect(keyExtractor('cookie:si')(s)).toBe('');
    expect(keyExtractor('cookie:theme')(sessionOf('/'))).toBe('');
  });

  it('query:NAME takes the first value, percent-decoded; present-but-empty and absent give ""', () => {
    expect(keyExtractor('query:user')(s)).toBe('ann lee');
    expect(keyExtractor('query:x')(s)).toBe('1');
    expect(keyExtractor('query:empty')(s)).toBe('');
    expect(keyExtractor('query:flag')(s)).toBe('');
    expect(keyExtractor('query:nope')(s)).toBe('');
    expect(keyExtractor('query:a')(sessionOf('/p?a=x+y%2Fz#frag'))).toBe('x y/z');
    expect(keyExtractor('query:a')(sessionOf('/p?a=%E0%A4%A'))).toBe('%E0%A4%A');
    expect(keyExtractor('query:a')(sessionOf('/p'))).toBe('');
  });

  it('rejects an unknown spec with LB_ERR_INVALID_OPTION naming what is accepted', () => {
    for (const bad of ['url', 'header:', 'cookie', 'query:a b', '', 'header:a:b']) {
      expect(() => keyExtractor(bad)).toThrow(expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' }));
    }
    expect(() => keyExtractor('url')).toThrow(/header:NAME/);
  });
});

describe('haproxyKeyExtractor: the key bytes of HAProxy samples', () => {
  const s = sessionOf(
    '/p?user=ann%20lee&user=bob',
    {
      'x-user': ' "a,b" , c',
      'x-multi': ['first, second', 'third'],
      'x-latin': Buffer.from([0x63, 0xe9, 0x2c, 0x64]).toString('latin1'),
    },
    '127.0.0.9',
  );
  const text = (v: string | Uint8Array): string => (typeof v === 'string' ? v : Buffer.from(v).toString('latin1'));

  it("header:NAME is hdr()'s first value: up to a comma outside quotes, trimmed, as the bytes received", () => {
    expect(text(haproxyKeyExtractor('header:X-User')(s))).toBe('"a,b"');
    expect(text(haproxyKeyExtractor('header:x-multi')(s))).toBe('first');
    expect([...(haproxyKeyExtractor('header:x-latin')(s) as Uint8Array)]).toEqual([0x63, 0xe9]);
    expect(text(haproxyKeyExtractor('header:x-absent')(s))).toBe('');
  });

  it('query:NAME is url_param: the first value, not percent-decoded; other specs as keyExtractor', () => {
    expect(text(haproxyKeyExtractor('query:user')(s))).toBe('ann%20lee');
    expect(keyExtractor('query:user')(s)).toBe('ann lee');
    expect(haproxyKeyExtractor('client-ip')(s)).toBe('127.0.0.9');
    expect(haproxyKeyExtractor('uri')(s)).toBe('/p?user=ann%20lee&user=bob');
  });
});
