import { type Backend, backend, candidates, LoadTracker, type Selector } from '@switchyard/core';
import { arbBackends, checkMinimalDisruption, checkSelectorLaws } from '@switchyard/selectors/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BOUNDED_LOAD_DEFAULTS, boundedLoad, boundedLoadSlots } from '../src/bounded-load.js';
import { consistentHash } from '../src/consistent-hash.js';
import { maglev } from '../src/maglev.js';
import { pool, seeded } from './helpers/beyond-laws.js';

const SEED = 0xb0b;

/** The real system: a tracker and a bounded-load selector over it, as the proxy runs them. */
interface Real {
  readonly tracker: LoadTracker;
  readonly selector: Selector;
  readonly backends: readonly Backend[];
  readonly c: number;
}
/** The model: which backend each in-flight request sits on. */
interface Model {
  readonly inFlight: string[];
}

class Arrive implements fc.Command<Model, Real> {
  constructor(readonly key: string) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const s = model.inFlight.length;
    const picked = real.selector.select(this.key).next().value!;
    real.tracker.start(picked.id);
    model.inFlight.push(picked.id);
    const held = model.inFlight.filter((id) => id === picked.id).length;
    const w = picked.weight;
    const total = real.backends.reduce((sum, b) => sum + b.weight, 0);
    // HAProxy's split of T = ceil((S + 1) c) slots gives a backend at most ceil(w T / W).
    const limit = Math.max(1, Math.ceil((w * boundedLoadSlots(s, real.c)) / total));
    if (held > limit) throw new Error(`${picked.id} holds ${held} > ${limit} with S = ${s}`);
    if (real.backends.every((b) => b.weight === w)) {
      // Equal weights: ceil(c x average) with average = (S + 1) / n.
      const average = (s + 1) / real.backends.length;
      const cap = Math.ceil(real.c * average - 1e-9);
      if (held > Math.max(1, cap)) throw new Error(`${picked.id} holds ${held} > ceil(c x avg) = ${cap}`);
    }
    expect(real.tracker.inFlight(picked.id)).toBe(held);
  }
  toString(): string {
    return `arrive(${JSON.stringify(this.key)})`;
  }
}

class Finish implements fc.Command<Model, Real> {
  constructor(readonly which: number) {}
  check(model: Readonly<Model>): boolean {
    return model.inFlight.length > 0;
  }
  run(model: Model, real: Real): void {
    const [id] = model.inFlight.splice(this.which % model.inFlight.length, 1);
    real.tracker.finish(id!, 5);
    expect(real.tracker.total()).toBe(model.inFlight.length);
  }
  toString(): string {
    return `finish(${this.which})`;
  }
}

describe('boundedLoad', () => {
  it('passes the shared selector laws', () => {
    checkSelectorLaws(boundedLoad, {
      numRuns: 50,
      options: () => ({ tracker: new LoadTracker(), random: seeded(1) }),
    });
  }, 30_000);

  it('moves only the keys it must on membership change while the pool is idle (the inner ring decides)', () => {
    checkMinimalDisruption(boundedLoad, { numRuns: 30, options: () => ({ tracker: new LoadTracker() }) });
  }, 30_000);

  it('has frozen defaults: c = 1.25 over consistentHash', () => {
    expect(Object.isFrozen(BOUNDED_LOAD_DEFAULTS)).toBe(true);
    expect(BOUNDED_LOAD_DEFAULTS.balanceFactor).toBe(1.25);
    expect(BOUNDED_LOAD_DEFAULTS.inner).toBe(consistentHash);
  });

  it('never lets a backend hold more than ceil(c x average) in flight, for any arrival sequence (model-based)', () => {
    // A few keys, so many arrivals share a home and overflow is exercised.
    const key = fc.constantFrom('a', 'b', 'c', 'hot', '/video/1', '/video/2');
    const commands = fc.commands([key.map((k) => new Arrive(k)), fc.nat().map((i) => new Finish(i))], {
      maxCommands: 300,
    });
    const scenario = fc.record({
      backends: fc.oneof(
        arbBackends({ min: 1, max: 12, weights: { min: 1, max: 1 } }),
        arbBackends({ min: 1, max: 12, weights: { min: 1, max: 5 } }),
      ),
      c: fc.constantFrom(1, 1.1, 1.25, 1.5, 2),
      inner: fc.constantFrom('consistent', 'maglev'),
    });
    const details = fc.check(
      fc.property(scenario, commands, ({ backends, c, inner }, cmds) => {
        const tracker = new LoadTracker();
        const selector = boundedLoad(backends, {
          balanceFactor: c,
          tracker,
          random: seeded(7),
          ...(inner === 'maglev' ? { inner: maglev as never, innerOptions: { tableSize: 1201 } } : {}),
        });
        fc.modelRun(() => ({ model: { inFlight: [] }, real: { tracker, selector, backends, c } }), cmds);
      }),
      { seed: SEED, numRuns: 200 },
    );
    expect(details.failed, `fast-check seed ${SEED}: ${fc.defaultReportMessage(details) ?? ''}`).toBe(false);
  }, 30_000);

  it('keeps every key on its home backend while home is under the bound', () => {
    const backends = pool(10);
    const tracker = new LoadTracker();
    const plain = consistentHash(backends);
    const bounded = boundedLoad(backends, { tracker, random: seeded(2) });
    const homes = new Map<string, number>();
    // 100 in flight spread evenly: every backend holds 10, the bound is ceil(1.25 x 101 / 10) = 13.
    for (const b of backends) for (let k = 0; k < 10; k++) tracker.start(b.id);
    for (let k = 0; k < 5000; k++) {
      const key = `user-${k}`;
      expect(bounded.select(key).next().value).toBe(plain.select(key).next().value);
      const home = plain.select(key).next().value!.id;
      homes.set(home, (homes.get(home) ?? 0) + 1);
    }
    expect(homes.size).toBe(10);
  });

  it('moves a hot key off its full home, onto backends under the bound', () => {
    const backends = pool(8);
    const tracker = new LoadTracker();
    const bounded = boundedLoad(backends, { tracker, random: seeded(3) });
    const home = consistentHash(backends).select('hot').next().value!.id;
    const placed = new Map<string, number>();
    for (let r = 0; r < 80; r++) {
      const id = bounded.select('hot').next().value!.id;
      tracker.start(id);
      placed.set(id, (placed.get(id) ?? 0) + 1);
    }
    // 80 requests, c = 1.25: nobody above ceil(1.25 x 80 / 8) = 13, and home is full.
    for (const count of placed.values()) expect(count).toBeLessThanOrEqual(13);
    expect(placed.get(home)).toBeGreaterThanOrEqual(12);
    expect(placed.size).toBeGreaterThan(5);
  });

  it('splits slots by weight like HAProxy (floor or ceil of the weighted share, never 0)', () => {
    const heavy = backend('10.0.0.1:80', 3);
    const light = backend('10.0.0.2:80', 1);
    const tracker = new LoadTracker();
    const s = boundedLoad([heavy, light], { tracker, balanceFactor: 1, random: seeded(4) });
    // With c = 1 the split is exact: 4 requests go 3 / 1.
    for (let r = 0; r < 400; r++) {
      const id = s.select(`k${r}`).next().value!.id;
      tracker.start(id);
    }
    expect(tracker.inFlight(heavy.id)).toBe(300);
    expect(tracker.inFlight(light.id)).toBe(100);
  });

  it('falls back along the inner walk, each backend once', () => {
    const backends = pool(6);
    const s = boundedLoad(backends, { tracker: new LoadTracker() });
    const walk = [...candidates(consistentHash(backends).select('x'), 10_000)].map((b) => b.id);
    expect([...candidates(s.select('x'), 100)].map((b) => b.id)).toEqual(walk);
  });

  it('computes ceil((S + 1) c) without floating-point drift', () => {
    expect(boundedLoadSlots(9, 1.1)).toBe(11);
    expect(boundedLoadSlots(0, 1.25)).toBe(2);
    expect(boundedLoadSlots(3, 1.25)).toBe(5);
  });

  it('rejects bad options', () => {
    expect(() => boundedLoad(pool(2), { balanceFactor: 0.9 })).toThrow(/balanceFactor/);
    expect(() => boundedLoad(pool(2), { balanceFactor: 125 as number, inner: 3 as never })).toThrow(/inner/);
    expect(() => boundedLoad(pool(2), { maxJumps: -1 })).toThrow(/maxJumps/);
    expect(() => boundedLoad(pool(2), { tracker: [] as never })).toThrow(/tracker/);
  });
});
