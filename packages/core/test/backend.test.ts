import { type Backend, backend, candidates, emptyIterator } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { expectInvalid } from './helpers/expect-invalid.js';

describe('backend()', () => {
  it('parses IPv4, host names and bracketed IPv6', () => {
    expect(backend('10.0.0.1:443')).toEqual({ id: '10.0.0.1:443', host: '10.0.0.1', port: 443, weight: 1, meta: {} });
    expect(backend('example.com:80', 3).weight).toBe(3);
    const v6 = backend('[::1]:7777');
    expect(v6.id).toBe('[::1]:7777');
    expect(v6.host).toBe('::1');
    expect(v6.port).toBe(7777);
  });

  it('is frozen, meta included', () => {
    const b = backend('127.0.0.1:1', 1, { zone: 'a' });
    expect(Object.isFrozen(b)).toBe(true);
    expect(Object.isFrozen(b.meta)).toBe(true);
    expect(b.meta).toEqual({ zone: 'a' });
  });

  it('names the bad part of the input', () => {
    expectInvalid(() => backend('127.0.0.1'), /port.*":port" suffix/);
    expectInvalid(() => backend('127.0.0.1:'), /port.*decimal port/);
    expectInvalid(() => backend('127.0.0.1:0'), /port.*1 to 65535/);
    expectInvalid(() => backend('127.0.0.1:65536'), /port.*1 to 65535/);
    expectInvalid(() => backend('127.0.0.1:80x'), /port/);
    expectInvalid(() => backend(':80'), /host.*non-empty/);
    expectInvalid(() => backend('::1:80'), /IPv6 hosts in brackets/);
    expectInvalid(() => backend('[::1:80'), /closing "\]"/);
    expectInvalid(() => backend('[nope]:80'), /IPv6 address/);
    expectInvalid(() => backend('bad host!:80'), /host.*IP address or host name/);
    expectInvalid(() => backend('127.0.0.1:80', 0), /weight.*integer >= 1/);
    expectInvalid(() => backend('127.0.0.1:80', 1.5), /weight/);
    expectInvalid(() => backend('127.0.0.1:80', Number.NaN), /weight/);
    expectInvalid(() => backend(42 as unknown as string), /address/);
  });
});

describe('candidates()', () => {
  const a = backend('127.0.0.1:1');
  const b = backend('127.0.0.1:2');

  function* endless(items: Backend[]): Generator<Backend> {
    for (let i = 0; ; i++) yield items[i % items.length]!;
  }

  it('dedupes by id and stops after max raw pulls', () => {
    expect([...candidates(endless([a, a, b]), 2)]).toEqual([a]);
    expect([...candidates(endless([a, a, b]), 3)]).toEqual([a, b]);
    expect([...candidates(endless([a, b]), 1000)]).toEqual([a, b]);
  });

  it('yields nothing for max 0 and for an exhausted iterator', () => {
    expect([...candidates(endless([a]), 0)]).toEqual([]);
    expect([...candidates(emptyIterator(), 10)]).toEqual([]);
  });

  it('rejects a bad bound', () => {
    expectInvalid(() => [...candidates(emptyIterator(), -1)], /max/);
  });
});
