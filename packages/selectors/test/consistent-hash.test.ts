import { backend, candidates } from '@switchyard/core';
import { consistentHash } from '@switchyard/selectors';
import { describe, expect, it } from 'vitest';
import { backendsOf, ids, nginxTrace, pingoraVectors, shuffled, take } from './helpers/fixtures.js';

const NGINX_TRACE_BACKENDS = Array.from({ length: 9 }, (_, i) => backend(`10.0.0.${i + 1}:443`, 100));

describe("consistentHash 'nginx'", () => {
  it('matches every row of the real-nginx trace (9 backends, weight 100, key = URI)', () => {
    const rows = nginxTrace();
    expect(rows.length).toBe(1001);
    const selector = consistentHash(NGINX_TRACE_BACKENDS);
    const mismatches = rows.filter(([uri, want]) => selector.select(uri).next().value?.id !== want);
    expect(mismatches).toEqual([]);
  });

  it('matches the trace for any insertion order of the backends', () => {
    const rows = nginxTrace();
    for (const seed of [1, 2, 3]) {
      const selector = consistentHash(shuffled(NGINX_TRACE_BACKENDS, seed));
      expect(rows.every(([uri, want]) => selector.select(uri).next().value?.id === want)).toBe(true);
    }
  });

  it('hashes a string key as its UTF-8 bytes', () => {
    const selector = consistentHash(NGINX_TRACE_BACKENDS);
    for (const [uri, want] of nginxTrace().slice(0, 50)) {
      expect(selector.select(new TextEncoder().encode(uri)).next().value?.id).toBe(want);
    }
    const key = 'café ☃ 😀';
    expect(selector.select(key).next().value).toBe(selector.select(new TextEncoder().encode(key)).next().value);
  });

  const vectors = pingoraVectors().consistent_nginx;
  for (const [i, vector] of vectors.entries()) {
    const label = `Pingora vector ${i} (${vector.backends.map(([a]) => a).join(', ')})`;
    if (vector.first) {
      it(`${label}: first picks`, () => {
        const selector = consistentHash(backendsOf(vector.backends));
        for (const [key, want] of Object.entries(vector.first ?? {})) {
          expect([key, selector.select(key).next().value?.id]).toEqual([key, want]);
        }
      });
    }
    if (vector.iter) {
      it(`${label}: raw ring walk for ${JSON.stringify(vector.iter.key)}`, () => {
        const { key, raw_ring_walk } = vector.iter!;
        const selector = consistentHash(backendsOf(vector.backends));
        expect(ids(take(selector.select(key), raw_ring_walk.length))).toEqual(raw_ring_walk);
      });
    }
  }

  it('reproduces the other Pingora ketama tests (10 backends, then an 11th)', () => {
    const ten = Array.from({ length: 10 }, (_, i) => backend(`127.0.0.${i + 1}:6443`));
    const eleven = [...ten, backend('127.0.0.11:6443')];
    for (const set of [ten, eleven]) {
      const selector = consistentHash(set);
      expect(selector.select('a').next().value?.id).toBe('127.0.0.10:6443');
      expect(selector.select('b').next().value?.id).toBe('127.0.0.5:6443');
    }
  });

  it('walks one full turn of weight × 160 points, reaching every backend', () => {
    const set = [backend('10.1.0.1:80', 2), backend('10.1.0.2:80'), backend('[2001:db8::1]:80')];
    const walk = take(consistentHash(set).select('k'), 1_000_000);
    expect(walk.length).toBeLessThanOrEqual(4 * 160);
    expect(walk.length).toBeGreaterThan(4 * 160 - 3);
    expect(new Set(ids(walk))).toEqual(new Set(ids(set)));
    expect(ids([...candidates(consistentHash(set).select('k'), 10_000)]).sort()).toEqual(ids(set).sort());
  });

  it("ipv6HashFormat changes only IPv6 backends' points", () => {
    const v4 = [backend('10.0.0.1:80'), backend('example.internal:80')];
    const v6 = [backend('[2001:db8::1]:80'), backend('[2001:db8::2]:80')];
    const walk = (set: typeof v4, format: 'pingora' | 'nginx') =>
      ids(take(consistentHash(set, { ipv6HashFormat: format }).select('key'), 1_000_000));
    expect(walk(v4, 'nginx')).toEqual(walk(v4, 'pingora'));
    expect(walk(v6, 'nginx')).not.toEqual(walk(v6, 'pingora'));
  });

  it('honours pointsPerWeight', () => {
    expect(take(consistentHash([backend('10.0.0.1:1')], { pointsPerWeight: 7 }).select('x'), 1_000_000).length).toBe(7);
  });

  it('yields nothing for no backends', () => {
    expect(consistentHash([]).select('x').next().done).toBe(true);
    expect(consistentHash([], { algorithm: 'ketama' }).select('x').next().done).toBe(true);
  });

  it('rejects bad options, backends and keys with LB_ERR_INVALID_OPTION', () => {
    const one = [backend('10.0.0.1:1')];
    const bad = [
      () => consistentHash(one, { algorithm: 'md5' as never }),
      () => consistentHash(one, { pointsPerWeight: 0 }),
      () => consistentHash(one, { pointsPerWeight: 1.5 }),
      () => consistentHash(one, { algorithm: 'ketama', pointsPerWeight: 10 }),
      () => consistentHash(one, { bogus: 1 } as never),
      () => consistentHash(one, { ipv6HashFormat: 'brackets' as never }),
      () => consistentHash([backend('10.0.0.1:1'), backend('10.0.0.1:1')]),
      () => consistentHash([backend('10.0.0.1:1', 1 << 20)], { pointsPerWeight: 160 }),
      () => consistentHash('10.0.0.1:1' as never),
      () => consistentHash(one).select(42 as never),
    ];
    for (const fn of bad) expect(fn).toThrow(expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' }));
  });
});
