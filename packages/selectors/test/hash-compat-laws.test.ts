import type { Backend, SelectorFactory } from '@switchyard/core';
import { haproxyHash, maglev, ringHash } from '@switchyard/selectors';
import { arbBackends, checkBalance, checkSelectorLaws } from '@switchyard/selectors/testing';
import { describe, expect, it } from 'vitest';

const total = (bs: readonly Backend[]): number => bs.reduce((sum, b) => sum + b.weight, 0);

// HAProxy and Envoy's ring follow the list order on purpose (server numbering, the
// map's interleaving, Envoy's running sums), so only Envoy's Maglev, which sorts its
// hosts, also keeps the order-independence law.
describe('the HAProxy and Envoy selectors pass the shared laws', { timeout: 60_000 }, () => {
  for (const hashType of ['consistent', 'map-based'] as const) {
    it(`haproxyHash ${hashType}: laws except order independence`, () => {
      const factory: SelectorFactory<never> = (bs) => haproxyHash(bs, { hashType });
      const report = checkSelectorLaws(factory, { numRuns: 40, skip: ['order-independent'] });
      expect(report.laws).toEqual(expect.arrayContaining(['deterministic', 'membership', 'reaches-all', 'empty']));
      expect(report.laws).not.toContain('order-independent');
      // Only the map is recomputed without servers that are down; the tree is walked past them.
      if (hashType === 'map-based') expect(report.laws).toContain('without');
      else expect(report.laws).not.toContain('without');
    });
  }

  it('the without law catches a without() that still yields a server that is out', () => {
    const leaky: SelectorFactory<never> = (bs) => {
      const selector = haproxyHash(bs);
      return { select: (key) => selector.select(key), without: () => selector };
    };
    expect(() => checkSelectorLaws(leaky, { numRuns: 40, skip: ['order-independent'] })).toThrow(
      /law "without" violated/,
    );
  });

  it('ringHash: laws except order independence; reaches every host within one turn of the ring', () => {
    // The ring has at most ⌈1024 / w_min⌉ entries per unit of normalised weight, i.e. ≤ 1024 × W + n.
    const report = checkSelectorLaws(ringHash as SelectorFactory<never>, {
      numRuns: 40,
      skip: ['order-independent'],
      reachBound: (bs) => 1024 * total(bs) + bs.length,
    });
    expect(report.laws).toContain('reaches-all');
  });

  it("maglev { variant: 'envoy' }: every law, order independence included", () => {
    const factory: SelectorFactory<never> = (bs) => maglev(bs, { variant: 'envoy' });
    // Envoy's retry walk covers every slot within 2^17 attempts for the 65,537-slot table.
    const report = checkSelectorLaws(factory, { numRuns: 30, reachBound: () => 131_072 });
    expect(report.laws).toContain('order-independent');
  });

  it('balance: shares follow weights within the sampling and table tolerance', () => {
    // Same derivation as laws.test.ts: σ² = 1/(points per weight · w_min) + 1/(K · p_min), z = 4.5,
    // K = 20,000 keys and p_min ≥ 1/61. HAProxy's ring has 16 points per weight; the map and
    // Maglev tables are exact up to sampling; Envoy's ring gives a host ⌈1024 × w_min⌉ × w / w_min ≥ 1024 × p
    // entries, so 1/(1024 · p_min) = 61/1024 (loose: most draws give far more entries).
    const sampling = 1 / (20_000 / 61);
    checkBalance(((bs) => haproxyHash(bs, { hashType: 'consistent', avalanche: true })) as SelectorFactory<never>, {
      tolerance: 4.5 * Math.sqrt(1 / 16 + sampling),
      numRuns: 8,
    });
    checkBalance(((bs) => haproxyHash(bs, { avalanche: true })) as SelectorFactory<never>, {
      tolerance: 4.5 * Math.sqrt(sampling),
      numRuns: 8,
    });
    checkBalance(ringHash as SelectorFactory<never>, { tolerance: 4.5 * Math.sqrt(61 / 1024 + sampling), numRuns: 8 });
    checkBalance(((bs) => maglev(bs, { variant: 'envoy' })) as SelectorFactory<never>, {
      tolerance: 4.5 * Math.sqrt(sampling),
      backends: arbBackends({ min: 2, max: 16 }),
      numRuns: 8,
    });
  });
});
