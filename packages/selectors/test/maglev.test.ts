import { backend, candidates } from '@switchyard/core';
import { checkSelectorLaws } from '@switchyard/selectors/testing';
import { describe, expect, it } from 'vitest';
import { MAGLEV_DEFAULTS, maglev, nextPrime } from '../src/maglev.js';
import { pool, seeded } from './helpers/beyond-laws.js';

function expectInvalid(fn: () => unknown, fragment: RegExp): void {
  expect(fn).toThrow(
    expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION', message: expect.stringMatching(fragment) }),
  );
}

/** Which backend id owns each table slot: walk a key per slot is not possible, so compare owners by entries + picks. */
function owners(selector: ReturnType<typeof maglev>, keys: number): string[] {
  return Array.from({ length: keys }, (_, k) => selector.select(`k${k}`).next().value!.id);
}

describe('maglev', () => {
  it('passes the shared selector laws', () => {
    // 1,609 is the smallest prime >= 100 x 16, the most backends the laws generate.
    checkSelectorLaws(maglev, { options: { tableSize: 1609 } });
  });

  it('has frozen defaults (Envoy: 65537)', () => {
    expect(Object.isFrozen(MAGLEV_DEFAULTS)).toBe(true);
    expect(MAGLEV_DEFAULTS.tableSize).toBe(65_537);
  });

  it('gives 1,000 equal backends exact table shares within 1% (max/mean <= 1.01)', () => {
    // Exact shares: table entries / table size, not sampled keys (sampling noise alone is
    // about 1/sqrt(1000) = 3% per backend at 1,000 keys each).
    const m = nextPrime(100 * 1000);
    expect(m).toBe(100_003);
    const entries = maglev(pool(1000), { tableSize: m }).entries();
    expect(entries.reduce((a, b) => a + b, 0)).toBe(m);
    const mean = m / 1000;
    const max = Math.max(...entries);
    const min = Math.min(...entries);
    // Paper §3.4: every backend owns floor(M/N) or ceil(M/N) entries.
    expect(max).toBeLessThanOrEqual(Math.ceil(mean));
    expect(min).toBeGreaterThanOrEqual(Math.floor(mean));
    expect(max / mean).toBeLessThanOrEqual(1.01);
  });

  // Maglev trades some disruption for balance: movement on removal shrinks as M/N grows
  // (paper Fig. 12). Measured here (mean over 5 removals, in units of the minimum 1/n):
  // n=1000: M=100,003 -> 6.6, 655,373 -> 4.5, 5,000,011 -> 1.7; n=100: 10,007 -> 2.8,
  // 65,537 -> 1.6; n=10: 65,537 -> 1.03. So the <= 2/n law holds from M/N of about 650 up.
  it('moves at most 2 x 1/n of the keys when one backend leaves, at M/N >= 650', () => {
    const seed = 20261126;
    const random = seeded(seed);
    for (const [n, m] of [
      [100, 65_537],
      [500, 655_373],
      [10, 65_537],
    ] as const) {
      const backends = pool(n);
      const before = maglev(backends, { tableSize: m });
      const removed = Math.floor(random() * n);
      const after = maglev(
        backends.filter((_, i) => i !== removed),
        { tableSize: m },
      );
      const keys = 200_000;
      const a = owners(before, keys);
      const b = owners(after, keys);
      let moved = 0;
      for (let k = 0; k < keys; k++) if (a[k] !== b[k]) moved++;
      const fraction = moved / keys;
      // 2/n plus a 3-sigma sampling allowance: sd of a proportion p over K keys is sqrt(p/K).
      const allowance = 3 * Math.sqrt(2 / n / keys);
      expect(fraction, `n=${n} removed=${removed} seed=${seed}`).toBeLessThanOrEqual(2 / n + allowance);
      // Only keys of the removed backend must move; every one of them did.
      const gone = backends[removed]!.id;
      for (let k = 0; k < keys; k++) if (a[k] === gone) expect(b[k]).not.toBe(gone);
    }
  }, 60_000);

  it('splits the table by weight: 1 vs 2 gives 21,846 / 43,691 of 65,537 (Envoy), within one entry', () => {
    const entries = maglev([backend('10.0.0.1:80', 1), backend('10.0.0.2:80', 2)]).entries();
    expect(entries[0]! + entries[1]!).toBe(65_537);
    expect(Math.abs(entries[0]! - 21_846)).toBeLessThanOrEqual(1);
    expect(Math.abs(entries[1]! - 43_691)).toBeLessThanOrEqual(1);
    const mixed = maglev(
      pool(50, (i) => 1 + (i % 4)),
      { tableSize: 65_537 },
    ).entries();
    const total = pool(50, (i) => 1 + (i % 4)).reduce((s, b) => s + b.weight, 0);
    mixed.forEach((e, i) => {
      const expected = (65_537 * (1 + (i % 4))) / total;
      expect(Math.abs(e - expected)).toBeLessThanOrEqual(1);
    });
  });

  it('still reaches a backend whose weight is too small to own a slot, after all the others', () => {
    const tiny = backend('10.0.0.1:80', 1);
    const huge = backend('10.0.0.2:80', 100_000);
    const s = maglev([tiny, huge]);
    // The tiny backend's turn would come after 100,000 rounds; the table fills in 65,537.
    expect(s.entries()).toEqual([0, 65_537]);
    for (const key of ['a', 'b', 'c']) expect([...candidates(s.select(key), 10)]).toEqual([huge, tiny]);
  });

  it('builds the same table for any insertion order', () => {
    const backends = pool(60);
    const shuffled = [...backends].reverse();
    const a = maglev(backends);
    const b = maglev(shuffled);
    for (let k = 0; k < 2000; k++) expect(b.select(`x${k}`).next().value!.id).toBe(a.select(`x${k}`).next().value!.id);
  });

  it('accepts Uint8Array keys equal to their UTF-8 strings', () => {
    const s = maglev(pool(10));
    for (const key of ['plain', 'ünïcødé', '/a/b?c=1']) {
      const bytes = new TextEncoder().encode(key);
      expect([...candidates(s.select(bytes), 10)]).toEqual([...candidates(s.select(key), 10)]);
    }
  });

  it('rejects table sizes that are not prime, too large, or below 100 x backends', () => {
    expectInvalid(() => maglev(pool(3), { tableSize: 65_536 }), /tableSize: expected a prime/);
    expectInvalid(() => maglev(pool(3), { tableSize: 5_000_101 }), /5000011/);
    expectInvalid(
      () => maglev(pool(1000)),
      /tableSize: expected a prime >= 100 x 1000 backends \(the smallest is 100003\), got 65537/,
    );
    expectInvalid(() => maglev(pool(3), { tableSize: 65_537.5 }), /tableSize/);
    expectInvalid(() => maglev(pool(3), { bogus: 1 } as never), /maglev options/);
    expect(() => maglev(pool(655))).not.toThrow();
    expectInvalid(() => maglev(pool(656)), /the smallest is 65609/);
  });
});
