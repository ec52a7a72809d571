import { type Backend, backend, candidates, type SelectorFactory } from '@switchyard/core';
import { consistentHash, failover, pathRouter, roundRobin } from '@switchyard/selectors';
import { arbBackends, checkBalance, checkMinimalDisruption, checkSelectorLaws } from '@switchyard/selectors/testing';
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

  it("runs the laws on a user's own selector (rendezvous hashing)", () => {
    // A minimal highest-random-weight selector, as a user might write one.
    const score = (key: string | Uint8Array, b: Backend): number => {
      const text = `${typeof key === 'string' ? key : Buffer.from(key).toString('hex')}|${b.id}`;
      let h = 0x811c9dc5;
      for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
      return h;
    };
    const rendezvous: SelectorFactory = (backends) => ({
      select: (key) =>
        [...backends].sort((a, b) => score(key, b) - score(key, a) || (a.id < b.id ? -1 : 1))[Symbol.iterator](),
    });
    checkSelectorLaws(rendezvous, { numRuns: 50 });
    checkMinimalDisruption(rendezvous, { numRuns: 20, keysPerRun: 100 });
    // This rendezvous ignores weights, so balance is checked over equal weights; with
    // K = 20,000 keys and n ≤ 16 only sampling noise remains: 4.5·√(15/20,000) ≈ 0.12.
    const { worstMaxOverMean } = checkBalance(rendezvous, {
      tolerance: 0.15,
      numRuns: 5,
      backends: arbBackends({ min: 2, max: 16, weights: { min: 1, max: 1 } }),
    });
    expect(worstMaxOverMean).toBeGreaterThan(1);
  });
});
