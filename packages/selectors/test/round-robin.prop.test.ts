import { roundRobin } from '@switchyard/selectors';
import { arbBackends } from '@switchyard/selectors/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const SEED = 0x5300_7401;

/** nginx's smooth weighted round-robin written out plainly, as the reference. */
function nginxSmooth(weights: readonly number[], picks: number): number[] {
  const current = weights.map(() => 0);
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  for (let p = 0; p < picks; p++) {
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (best === -1 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}

describe("roundRobin 'smooth' properties", { timeout: 60_000 }, () => {
  it('equals nginx smooth WRR and every window of W picks holds each backend exactly weight times', () => {
    fc.assert(
      fc.property(arbBackends({ min: 1, max: 12, weights: { min: 1, max: 20 } }), (backends) => {
        const total = backends.reduce((sum, b) => sum + b.weight, 0);
        const selector = roundRobin(backends);
        const picks = Array.from({ length: 3 * total }, () => backends.indexOf(selector.select('').next().value!));
        expect(picks).toEqual(
          nginxSmooth(
            backends.map((b) => b.weight),
            3 * total,
          ),
        );
        for (let start = 0; start + total <= picks.length; start++) {
          const counts = backends.map(() => 0);
          for (let i = start; i < start + total; i++) counts[picks[i]!]!++;
          expect(counts).toEqual(backends.map((b) => b.weight));
        }
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});
