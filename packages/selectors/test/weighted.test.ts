import { backend, candidates } from '@switchyard/core';
import { fnvHash, random, roundRobin } from '@switchyard/selectors';
import { describe, expect, it } from 'vitest';
import { backendsOf, ids, pingoraVectors, shuffled, take } from './helpers/fixtures.js';

const vectors = pingoraVectors();

describe('fnvHash (Pingora FNVHash)', () => {
  for (const [i, vector] of vectors.fnv_pingora.entries()) {
    it(`vector ${i}: iter walk and first picks, for any insertion order`, () => {
      for (const seed of [0, 1, 2, 3]) {
        const set = seed === 0 ? backendsOf(vector.backends) : shuffled(backendsOf(vector.backends), seed);
        // Pingora's exact walk draws its fallbacks from the plain list.
        const selector = fnvHash(set, { fallbacks: 'uniform' });
        expect(ids(take(selector.select(vector.iter.key), vector.iter.walk.length))).toEqual(vector.iter.walk);
        const weighted = fnvHash(set);
        for (const [key, want] of Object.entries(vector.first)) {
          expect([key, selector.select(key).next().value?.id]).toEqual([key, want]);
          // The default differs from Pingora only after the first pick.
          expect([key, weighted.select(key).next().value?.id]).toEqual([key, want]);
        }
      }
    });
  }

  it('hashes a string as its UTF-8 bytes', () => {
    const selector = fnvHash(backendsOf(vectors.fnv_pingora[0]!.backends));
    for (const key of ['test', 'naïve', '😀']) {
      expect(ids(take(selector.select(new TextEncoder().encode(key)), 20))).toEqual(
        ids(take(selector.select(key), 20)),
      );
    }
  });
});

describe("roundRobin 'pingora'", () => {
  for (const [i, vector] of vectors.round_robin_pingora.entries()) {
    it(`vector ${i}: first walk, then first picks, for any insertion order`, () => {
      for (const seed of [0, 5, 6]) {
        const set = seed === 0 ? backendsOf(vector.backends) : shuffled(backendsOf(vector.backends), seed);
        const selector = roundRobin(set, { mode: 'pingora', fallbacks: 'uniform' });
        expect(ids(take(selector.select('test'), vector.first_iter_walk.length))).toEqual(vector.first_iter_walk);
        const firsts = vector.then_first_picks.map(() => selector.select('test').next().value?.id);
        expect(firsts).toEqual(vector.then_first_picks);
        // Weighted fallbacks (the default) leave the first picks of a fresh selector as Pingora's.
        const weighted = roundRobin(set, { mode: 'pingora' });
        const plainFirsts = vector.then_first_picks.map(() => weighted.select('test').next().value?.id);
        const fresh = roundRobin(set, { mode: 'pingora', fallbacks: 'uniform' });
        expect(plainFirsts).toEqual(vector.then_first_picks.map(() => fresh.select('test').next().value?.id));
      }
    });
  }
});

describe("roundRobin 'smooth' (nginx)", () => {
  for (const [i, vector] of vectors.smooth_round_robin_nginx.entries()) {
    it(`vector ${i}: sequence`, () => {
      const selector = roundRobin(backendsOf(vector.backends));
      expect(vector.sequence.map(() => selector.select('').next().value?.id)).toEqual(vector.sequence);
    });
  }

  it('follows the given order: ties go to the first listed', () => {
    const [a, b, c] = [backend('10.0.0.3:1'), backend('10.0.0.1:1'), backend('10.0.0.2:1')];
    const selector = roundRobin([a, b, c]);
    expect(Array.from({ length: 6 }, () => selector.select('').next().value)).toEqual([a, b, c, a, b, c]);
  });

  it('fallbacks are the other backends once each, in the order the schedule reaches them, advancing it', () => {
    // Weights 5,1,1: the schedule is a a b a c a a.
    const set = [backend('10.0.0.1:1', 5), backend('10.0.0.2:1'), backend('10.0.0.3:1')];
    const selector = roundRobin(set);
    // Pick a (position 0), then fallbacks pull a (1, seen), b (2), a (3, seen), c (4).
    expect(ids(take(selector.select(''), 10))).toEqual(['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1']);
    // The next first pick continues after the fallbacks: position 5 (a).
    expect(ids(take(selector.select(''), 1))).toEqual(['10.0.0.1:1']);
    // A walk only pulled once leaves the cursor where plain picks would: 6 (a), then 0 (a), 1 (a), 2 (b).
    expect(Array.from({ length: 4 }, () => selector.select('').next().value?.id)).toEqual([
      '10.0.0.1:1',
      '10.0.0.1:1',
      '10.0.0.1:1',
      '10.0.0.2:1',
    ]);
  });

  it('a backend that is out hands its turns to the survivors by weight, not to its list neighbour', () => {
    const [a, b, c] = [backend('10.0.0.1:1'), backend('10.0.0.2:1'), backend('10.0.0.3:1')];
    const selector = roundRobin([a, b, c]);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3_000; i++) {
      // A balancer's walk: pull until the first candidate that is not the one down.
      for (const candidate of selector.select('')) {
        if (candidate.id === a.id) continue;
        counts.set(candidate.id, (counts.get(candidate.id) ?? 0) + 1);
        break;
      }
    }
    expect(Object.fromEntries(counts)).toEqual({ [b.id]: 1_500, [c.id]: 1_500 });
  });

  it('keeps exact counts per window past the schedule limit (O(n) path)', () => {
    const set = [backend('10.0.0.1:1', 40_000), backend('10.0.0.2:1', 30_000), backend('10.0.0.3:1', 1)];
    const selector = roundRobin(set);
    const counts = new Map<string, number>();
    for (let i = 0; i < 70_001; i++) {
      const id = selector.select('').next().value!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ '10.0.0.1:1': 40_000, '10.0.0.2:1': 30_000, '10.0.0.3:1': 1 });
  });
});

describe('random (Pingora Random)', () => {
  it("first pick indexes the expanded list, fallbacks the plain list, in Pingora order ('uniform')", () => {
    const set = backendsOf(vectors.fnv_pingora[0]!.backends); // weights 10, 1, 1 → W = 12, n = 3
    const draws = [11 / 12, 0.5, 0.99, 0];
    let i = 0;
    const selector = random(shuffled(set, 9), { random: () => draws[i++ % draws.length]!, fallbacks: 'uniform' });
    expect(ids(take(selector.select('ignored'), 4))).toEqual([
      '1.1.1.1:80',
      '1.0.0.255:80',
      '1.1.1.1:80',
      '1.0.0.1:80',
    ]);
    expect(selector.select('x').next().value?.id).toBe('1.1.1.1:80');
    expect(selector.select('x').next().value?.id).toBe('1.0.0.1:80');
  });

  it("fallbacks draw from the expanded list too by default ('weighted')", () => {
    const set = backendsOf(vectors.fnv_pingora[0]!.backends);
    const draws = [11 / 12, 0.5, 0.99, 0];
    let i = 0;
    const selector = random(shuffled(set, 9), { random: () => draws[i++ % draws.length]! });
    // Positions 11, 6, 11, 0 of the expanded list [1.0.0.1 ×10, 1.0.0.255, 1.1.1.1].
    expect(ids(take(selector.select('ignored'), 4))).toEqual(['1.1.1.1:80', '1.0.0.1:80', '1.1.1.1:80', '1.0.0.1:80']);
    expect(() => random(set, { fallbacks: 'even' as never })).toThrow(/random fallbacks/);
  });

  it('defaults to Math.random and rejects a source outside [0, 1)', () => {
    const set = [backend('10.0.0.1:1'), backend('10.0.0.2:1')];
    const got = new Set(ids([...candidates(random(set).select(''), 1000)]));
    expect(got).toEqual(new Set(ids(set)));
    expect(() =>
      random(set, { random: () => 1 })
        .select('')
        .next(),
    ).toThrow(expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' }));
    expect(() => random(set, { random: 3 as never })).toThrow(
      expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' }),
    );
  });
});

describe('weighted selectors, common edges', () => {
  it('yield nothing for no backends and reject bad input', () => {
    for (const make of [
      () => fnvHash([]),
      () => random([]),
      () => roundRobin([]),
      () => roundRobin([], { mode: 'pingora' }),
    ]) {
      expect(make().select('k').next().done).toBe(true);
    }
    const invalid = expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' });
    expect(() => roundRobin([backend('10.0.0.1:1')], { mode: 'nginx' as never })).toThrow(invalid);
    expect(() => fnvHash([backend('10.0.0.1:1')], { seed: 1 } as never)).toThrow(invalid);
    expect(() => fnvHash([backend('10.0.0.1:1')]).select(null as never)).toThrow(invalid);
    expect(() => fnvHash([backend('10.0.0.1:1', 2 ** 32), backend('10.0.0.2:1')])).toThrow(invalid);
    expect(() => roundRobin([{ ...backend('10.0.0.1:1'), weight: 0 }])).toThrow(invalid);
  });
});
