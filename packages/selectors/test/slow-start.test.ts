import { type Backend, candidates, LoadTracker, type Selector } from '@switchyard/core';
import { checkSelectorLaws } from '@switchyard/selectors/testing';
import { describe, expect, it } from 'vitest';
import { leastRequest } from '../src/least-request.js';
import { maglev } from '../src/maglev.js';
import { SLOW_START_DEFAULTS, withSlowStart } from '../src/slow-start.js';
import { pool, seeded } from './helpers/beyond-laws.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A factory that records the weights each build was given and picks the first backend. */
function recording(): { factory: (bs: readonly Backend[]) => Selector; builds: Map<string, number>[] } {
  const builds: Map<string, number>[] = [];
  const factory = (bs: readonly Backend[]): Selector => {
    builds.push(new Map(bs.map((b) => [b.id, b.weight])));
    return { select: () => bs[Symbol.iterator]() };
  };
  return { factory, builds };
}

describe('withSlowStart', () => {
  it('passes the shared selector laws around a deterministic selector', () => {
    checkSelectorLaws((bs, o) => withSlowStart(maglev, { now: () => 0 })(bs, o), { options: { tableSize: 1609 } });
  });

  it('has frozen defaults: Envoy min_weight_percent 10, aggression 1', () => {
    expect(Object.isFrozen(SLOW_START_DEFAULTS)).toBe(true);
    expect(SLOW_START_DEFAULTS.minWeightPercent).toBe(10);
    expect(SLOW_START_DEFAULTS.aggression).toBe(1);
  });

  it("ramps a joining backend by Envoy's formula and leaves the first build at full weight", () => {
    const c = clock();
    const { factory, builds } = recording();
    const slow = withSlowStart(factory, { windowMs: 10_000, now: c.now });
    const [a, b] = pool(2, () => 3);
    slow([a!]);
    expect(builds[0]!.get(a!.id)).toBe(30);
    const s = slow([a!, b!]);
    expect(builds.at(-1)!.get(b!.id)).toBe(3); // 3 x 10 x max(0.1, 1 s / 10 s) = 3
    expect(builds.at(-1)!.get(a!.id)).toBe(30);
    for (const [elapsed, share] of [
      [500, 0.1],
      [2500, 0.25],
      [5000, 0.5],
      [9000, 0.9],
      [10_000, 1],
      [20_000, 1],
    ] as const) {
      c.advance(elapsed - (c.now() - 0));
      expect(slow.share(b!.id), `at ${elapsed} ms`).toBeCloseTo(share, 9);
      s.select('k');
      expect(builds.at(-1)!.get(b!.id), `at ${elapsed} ms`).toBe(Math.max(1, Math.round(30 * share)));
    }
    const count = builds.length;
    c.advance(60_000);
    s.select('k');
    expect(builds.length).toBe(count);
  });

  it('bends the ramp with aggression: share = timeFactor^(1/aggression)', () => {
    const c = clock();
    const slow = withSlowStart(recording().factory, { windowMs: 10_000, aggression: 2, now: c.now });
    const [a, b] = pool(2);
    slow([a!]);
    slow([a!, b!]);
    c.advance(2500);
    expect(slow.share(b!.id)).toBeCloseTo(Math.sqrt(0.25), 9);
    expect(slow.share(a!.id)).toBe(1);
  });

  it('ramps again after recovered() and after leaving and rejoining', () => {
    const c = clock();
    const slow = withSlowStart(recording().factory, { windowMs: 10_000, now: c.now });
    const [a, b] = pool(2);
    slow([a!, b!]);
    expect(slow.share(a!.id)).toBe(1);
    slow.recovered(a!.id);
    expect(slow.share(a!.id)).toBeCloseTo(0.1, 9);
    c.advance(20_000);
    slow([b!]);
    slow([a!, b!]);
    expect(slow.share(a!.id)).toBeCloseTo(0.1, 9);
  });

  it('steers traffic away from a ramping backend with a weight-aware selector, then shares evenly', () => {
    const c = clock();
    const tracker = new LoadTracker({ now: c.now });
    const slow = withSlowStart(leastRequest, { windowMs: 10_000, now: c.now });
    const [a, b] = pool(2);
    slow([a!], { tracker });
    const s = slow([a!, b!], { tracker, random: seeded(3) });
    // Nothing in flight: weight / 1 decides, 10 against 1.
    expect(s.select('').next().value!.id).toBe(a!.id);
    c.advance(10_000);
    tracker.start(a!.id);
    expect(s.select('').next().value!.id).toBe(b!.id);
    expect([...candidates(s.select(''), 5)]).toEqual([b, a]);
  });

  it('rejects bad options', () => {
    const bad = expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' });
    expect(() => withSlowStart(maglev, { windowMs: 0 })).toThrow(bad);
    expect(() => withSlowStart(maglev, { minWeightPercent: 0 })).toThrow(/minWeightPercent/);
    expect(() => withSlowStart(maglev, { minWeightPercent: 101 })).toThrow(/minWeightPercent/);
    expect(() => withSlowStart(maglev, { aggression: -1 })).toThrow(/aggression/);
    expect(() => withSlowStart(maglev, { weightScale: 0 })).toThrow(/weightScale/);
    expect(() => withSlowStart('x' as never)).toThrow(/factory/);
  });
});
