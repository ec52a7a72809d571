import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { observe, type ThresholdState } from '../src/internal/threshold.js';

/** Pingora's HealthInner::observe, transcribed literally: one counter of opposite results. */
function pingora(results: boolean[], hT: number, uT: number, initial: boolean): boolean[] {
  let healthy = initial;
  let counter = 0;
  const out: boolean[] = [];
  for (const r of results) {
    if (r !== healthy) {
      counter++;
      if (counter >= (r ? hT : uT)) {
        healthy = r;
        counter = 0;
      }
    } else if (counter !== 0) {
      counter = 0;
    }
    out.push(healthy);
  }
  return out;
}

describe('threshold state machine', () => {
  it('matches Pingora flip for flip (seed pinned)', () => {
    const seed = 20261126;
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        (results, hT, uT, initial) => {
          let state: ThresholdState = { healthy: initial, consecutiveSuccesses: 0, consecutiveFailures: 0 };
          const ours: boolean[] = [];
          for (const r of results) {
            const { next, flipped } = observe(state, r, hT, uT);
            expect(flipped).toBe(next.healthy !== state.healthy);
            state = next;
            ours.push(state.healthy);
          }
          expect(ours).toEqual(pingora(results, hT, uT, initial));
        },
      ),
      { seed, numRuns: 500, verbose: true },
    );
  });
});
