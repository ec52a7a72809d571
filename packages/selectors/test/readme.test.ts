import { type Backend, backend, candidates, type SelectorFactory } from '@switchyard/core';
import { consistentHash, failover, pathRouter, roundRobin } from '@switchyard/selectors';
import {
  balanceTolerance,
  checkBalance,
  checkMinimalDisruption,
  checkSelectorLaws,
  type SelectorLaw,
} from '@switchyard/selectors/testing';
import { describe, expect, it } from 'vitest';

// The README's two examples, kept runnable so the documentation cannot drift.
describe('README examples', { timeout: 60_000 }, () => {
  it('composes path routing, failover, consistent hashing and round-robin', () => {
    const web = ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'].map((a) => backend(a));
    const backup = [backend('10.0.1.1:8080', 2)];
    const router = pathRouter(
      [{ prefix: '/api', selector: failover([consistentHash(web), roundRobin(backup)]) }],
      roundRobin(web),
    );
    const healthy = new Set(['10.0.0.2:8080', '10.0.1.1:8080']);
    const request = { method: 'GET', path: '/api/users', headers: {} };
    const walk = [...candidates(router.select('user-42', request), 256)];
    const chosen = walk.find((b) => healthy.has(b.id));
    // Tier 0 yields all three web backends (in user-42's ring order) before the backup.
    expect(
      walk
        .map((b) => b.id)
        .slice(0, 3)
        .sort(),
    ).toEqual(web.map((b) => b.id));
    expect(walk.map((b) => b.id).slice(3)).toEqual(['10.0.1.1:8080']);
    expect(chosen?.id).toBe('10.0.0.2:8080');
  });

  it("runs the laws on a user's own selector and on the built-ins it names, with their documented tolerances", () => {
    // A minimal weighted highest-random-weight selector, as a user might write one:
    // score = −w / ln(u) with u uniform in (0, 1) from a hash of key and backend.
    const unit = (key: string | Uint8Array, b: Backend): number => {
      const text = `${typeof key === 'string' ? key : Buffer.from(key).toString('hex')}|${b.id}`;
      let h = 0x811c9dc5;
      for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
      // murmur3's finalizer: FNV alone leaves similar keys' scores correlated.
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      return (((h ^ (h >>> 16)) >>> 0) + 0.5) / 2 ** 32;
    };
    const myRendezvous = (backends: readonly Backend[], _options: { seed: number }) => ({
      select: (key: string | Uint8Array) => {
        const score = (b: Backend): number => -b.weight / Math.log(unit(key, b));
        return [...backends].sort((a, b) => score(b) - score(a) || (a.id < b.id ? -1 : 1))[Symbol.iterator]();
      },
    });
    // From here on, the README's example as written (numRuns lowered to keep the suite quick).
    const cases: [string, SelectorFactory<never>, number, SelectorLaw[]][] = [
      ['my rendezvous', (bs) => myRendezvous(bs, { seed: 1 }), balanceTolerance(), []],
      ['consistentHash', (bs) => consistentHash(bs), balanceTolerance({ pointsPerWeight: 160 }), []],
      ['roundRobin', (bs) => roundRobin(bs), 0.01, ['order-independent']],
    ];
    for (const [name, factory, tolerance, skip] of cases) {
      checkSelectorLaws(factory, { numRuns: 30, skip });
      if (name !== 'roundRobin') checkMinimalDisruption(factory, { numRuns: 10, keysPerRun: 100 });
      const { worstMaxOverMean } = checkBalance(factory, { tolerance, numRuns: 5 });
      expect(worstMaxOverMean).toBeGreaterThanOrEqual(1);
    }
  });
});
