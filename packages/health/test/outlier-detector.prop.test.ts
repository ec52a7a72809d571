import { backend } from '@switchyard/core';
import { createOutlierDetector, type OutlierDetector, type OutlierOutcome } from '@switchyard/health';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** The simple model: eager expiry, plain maps. */
interface Model {
  now: number;
  readonly ids: readonly string[];
  readonly threshold: number;
  readonly base: number;
  readonly max: number;
  readonly cap: number;
  readonly failures: Map<string, number>;
  readonly times: Map<string, number>;
  readonly until: Map<string, number>;
}
interface Real {
  detector: OutlierDetector;
  clock: { now: number };
}

function expireAll(m: Model): void {
  for (const [id, until] of m.until) {
    if (m.now >= until) {
      m.until.delete(id);
      m.failures.set(id, 0);
    }
  }
}

function assertSame(m: Model, r: Real): void {
  expireAll(m);
  expect([...r.detector.ejected()].sort()).toEqual([...m.until.keys()].sort());
  for (const id of m.ids) expect(r.detector.isEjected(id), id).toBe(m.until.has(id));
  expect(m.until.size).toBeLessThanOrEqual(m.cap);
}

class RecordCmd implements fc.Command<Model, Real> {
  constructor(
    readonly index: number,
    readonly outcome: OutlierOutcome,
  ) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const id = m.ids[this.index % m.ids.length]!;
    r.detector.record(id, this.outcome);
    expireAll(m);
    if (!m.until.has(id)) {
      if (this.outcome === 'success') m.failures.set(id, 0);
      else {
        const f = (m.failures.get(id) ?? 0) + 1;
        m.failures.set(id, f);
        if (f >= m.threshold && m.until.size < m.cap) {
          const times = (m.times.get(id) ?? 0) + 1;
          m.times.set(id, times);
          m.until.set(id, m.now + Math.min(m.base * times, m.max));
          m.failures.set(id, 0);
        }
      }
    }
    assertSame(m, r);
  }
  toString = (): string => `record(${this.index}, ${this.outcome})`;
}

class AdvanceCmd implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    m.now += this.ms;
    r.clock.now += this.ms;
    assertSame(m, r);
  }
  toString = (): string => `advance(${this.ms})`;
}

class ReinstateCmd implements fc.Command<Model, Real> {
  constructor(readonly index: number) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const id = m.ids[this.index % m.ids.length]!;
    r.detector.reinstate(id);
    if (m.until.delete(id)) m.failures.set(id, 0);
    assertSame(m, r);
  }
  toString = (): string => `reinstate(${this.index})`;
}

const outcome = fc.constantFrom<OutlierOutcome>('success', 'connect-error', 'timeout', 'http-5xx');
const commands = fc.commands(
  [
    fc.tuple(fc.nat(20), outcome).map(([i, o]) => new RecordCmd(i, o)),
    fc
      .tuple(fc.nat(20), fc.constantFrom<OutlierOutcome>('connect-error', 'http-5xx'))
      .map(([i, o]) => new RecordCmd(i, o)),
    fc.integer({ min: 1, max: 400 }).map((ms) => new AdvanceCmd(ms)),
    fc.nat(20).map((i) => new ReinstateCmd(i)),
  ],
  { maxCommands: 200 },
);

describe('outlier detector against a model (fc.commands)', () => {
  it('ejects, caps, expires and reinstates exactly like the model (seed pinned)', () => {
    const seed = 4_2026_11;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 10, max: 100 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 60 }),
        commands,
        (size, threshold, base, extra, percent, cmds) => {
          const ids = Array.from({ length: size }, (_, i) => `127.0.0.${i + 1}:80`);
          const clock = { now: 1_000_000 };
          const detector = createOutlierDetector({
            backends: ids.map((id) => backend(id)),
            consecutiveFailures: threshold,
            baseEjectionMs: base,
            maxEjectionMs: base + extra,
            maxEjectedPercent: percent,
            now: () => clock.now,
          });
          const model: Model = {
            now: clock.now,
            ids,
            threshold,
            base,
            max: base + extra,
            cap: Math.max(1, Math.floor((size * percent) / 100)),
            failures: new Map(),
            times: new Map(),
            until: new Map(),
          };
          fc.modelRun(() => ({ model, real: { detector, clock } }), cmds);
        },
      ),
      { seed, numRuns: 300, verbose: true },
    );
  });
});
