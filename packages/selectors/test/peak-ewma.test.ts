import { backend, candidates, LoadTracker } from '@switchyard/core';
import { checkSelectorLaws } from '@switchyard/selectors/testing';
import { describe, expect, it } from 'vitest';
import { PEAK_EWMA_DEFAULTS, PEAK_EWMA_PENALTY, peakEwma } from '../src/peak-ewma.js';
import { pool, seeded } from './helpers/beyond-laws.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('peakEwma', () => {
  it('passes the shared selector laws', () => {
    checkSelectorLaws(peakEwma, { options: () => ({ random: seeded(2), tracker: new LoadTracker() }) });
  });

  it('has frozen defaults: decay 10 s, two choices (Finagle)', () => {
    expect(Object.isFrozen(PEAK_EWMA_DEFAULTS)).toBe(true);
    expect(PEAK_EWMA_DEFAULTS.decayMs).toBe(10_000);
    expect(PEAK_EWMA_DEFAULTS.choices).toBe(2);
  });

  it('costs latency x (in-flight + 1): a fast busy backend beats a slow idle one until load catches up', () => {
    const c = clock();
    const tracker = new LoadTracker({ now: c.now });
    const fast = backend('10.0.0.1:80');
    const slow = backend('10.0.0.2:80');
    tracker.finish(fast.id, 10);
    tracker.finish(slow.id, 50);
    const s = peakEwma([fast, slow], { tracker, random: seeded(9) });
    // 10 x 4 = 40 < 50 x 1.
    for (let i = 0; i < 3; i++) tracker.start(fast.id);
    expect(s.select('').next().value!.id).toBe(fast.id);
    // 10 x 6 = 60 > 50.
    tracker.start(fast.id);
    tracker.start(fast.id);
    expect(s.select('').next().value!.id).toBe(slow.id);
    expect([...candidates(s.select(''), 5)].map((b) => b.id)).toEqual([slow.id, fast.id]);
  });

  it('reacts to a latency peak at once and forgets it with decay, so the backend is probed again', () => {
    const c = clock();
    const tracker = new LoadTracker({ now: c.now, decayMs: 1000 });
    const a = backend('10.0.0.1:80');
    const b = backend('10.0.0.2:80');
    tracker.finish(a.id, 20);
    tracker.finish(b.id, 30);
    const s = peakEwma([a, b], { tracker, decayMs: 1000, random: seeded(4) });
    expect(s.select('').next().value!.id).toBe(a.id);
    tracker.finish(a.id, 500);
    expect(s.select('').next().value!.id).toBe(b.id);
    // b keeps answering in 30 ms; a gets nothing, so its 500 decays: after 3 s it is
    // 500 e^-3 = 24.9 against b's 30.
    for (let t = 0; t < 30; t++) {
      c.advance(100);
      tracker.finish(b.id, 30);
    }
    expect(s.select('').next().value!.id).toBe(a.id);
  });

  it("penalises a backend with requests in flight but no observation (Finagle's Penalty)", () => {
    const tracker = new LoadTracker({ now: () => 0 });
    const unknown = backend('10.0.0.1:80');
    const slow = backend('10.0.0.2:80');
    tracker.start(unknown.id);
    tracker.finish(slow.id, 60_000);
    const s = peakEwma([unknown, slow], { tracker, random: seeded(1) });
    expect(s.select('').next().value!.id).toBe(slow.id);
    expect(PEAK_EWMA_PENALTY).toBeGreaterThan(1e14);
    // Idle and never observed costs 0: a new backend is tried first.
    tracker.finish(unknown.id);
    expect(s.select('').next().value!.id).toBe(unknown.id);
  });

  it('steers a simulated stream of requests away from a slow backend', () => {
    // Discrete-event model with injected time: backend 0 answers in 100 ms, the other
    // four in 10 ms; one request arrives every 2 ms for 20 s.
    const c = clock();
    const tracker = new LoadTracker({ now: c.now });
    const backends = pool(5);
    const s = peakEwma(backends, { tracker, random: seeded(77) });
    const done: { at: number; id: string; latency: number }[] = [];
    const counts = new Map<string, number>();
    for (let t = 0; t < 20_000; t += 2) {
      c.advance(2);
      for (let i = done.length - 1; i >= 0; i--) {
        const d = done[i]!;
        if (d.at <= t) {
          tracker.finish(d.id, d.latency);
          done.splice(i, 1);
        }
      }
      const id = s.select('').next().value!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      tracker.start(id);
      const latency = id === backends[0]!.id ? 100 : 10;
      done.push({ at: t + latency, id, latency });
    }
    const slowShare = (counts.get(backends[0]!.id) ?? 0) / 10_000;
    expect(slowShare).toBeLessThan(0.05);
  });

  it('rejects bad options', () => {
    expect(() => peakEwma(pool(2), { decayMs: 0 })).toThrow(/peakEwma decayMs/);
    expect(() => peakEwma(pool(2), { choices: 0 })).toThrow(/peakEwma choices/);
    expect(() => peakEwma(pool(2), { tracker: 5 as never })).toThrow(/peakEwma tracker/);
  });
});
