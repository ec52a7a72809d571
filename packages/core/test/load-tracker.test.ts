import { LOAD_TRACKER_DEFAULTS, LoadTracker } from '@switchyard/core';
import { describe, expect, it } from 'vitest';

function clock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('LoadTracker', () => {
  it('counts in-flight requests per id and in total, never below zero', () => {
    const tracker = new LoadTracker();
    tracker.start('a');
    tracker.start('a');
    tracker.start('b');
    expect(tracker.inFlight('a')).toBe(2);
    expect(tracker.inFlight('b')).toBe(1);
    expect(tracker.inFlight('unknown')).toBe(0);
    expect(tracker.total()).toBe(3);
    tracker.finish('a');
    tracker.finish('b');
    tracker.finish('b');
    expect(tracker.inFlight('a')).toBe(1);
    expect(tracker.inFlight('b')).toBe(0);
    expect(tracker.total()).toBe(1);
  });

  it('has frozen defaults: Finagle and Envoy decay of 10 s', () => {
    expect(Object.isFrozen(LOAD_TRACKER_DEFAULTS)).toBe(true);
    expect(LOAD_TRACKER_DEFAULTS.decayMs).toBe(10_000);
    expect(new LoadTracker().options.decayMs).toBe(10_000);
  });

  it('takes a slower observation at once (the peak) and blends a faster one in by e^(-dt/tau)', () => {
    const c = clock();
    const tracker = new LoadTracker({ decayMs: 1000, now: c.now });
    expect(tracker.ewma('a')).toBe(0);
    tracker.start('a');
    tracker.finish('a', 100);
    expect(tracker.ewma('a')).toBe(100);
    c.advance(1000);
    // Decays toward zero between observations: 100 * e^-1.
    expect(tracker.ewma('a')).toBeCloseTo(100 * Math.exp(-1), 9);
    tracker.finish('a', 10);
    // 10 is below the decayed 36.8, so it blends: 100 e^-1 + 10 (1 - e^-1).
    expect(tracker.ewma('a')).toBeCloseTo(100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 9);
    tracker.finish('a', 500);
    expect(tracker.ewma('a')).toBe(500);
  });

  it('does not change the estimate by reading it', () => {
    const c = clock();
    const tracker = new LoadTracker({ decayMs: 1000, now: c.now });
    tracker.finish('a', 80);
    c.advance(300);
    const once = tracker.ewma('a');
    for (let i = 0; i < 10; i++) tracker.ewma('a');
    expect(tracker.ewma('a')).toBe(once);
  });

  it('tracks a second time constant from its first read on', () => {
    const c = clock();
    const tracker = new LoadTracker({ decayMs: 1000, now: c.now });
    expect(tracker.ewma('a', 5000)).toBe(0);
    tracker.finish('a', 40);
    c.advance(1000);
    expect(tracker.ewma('a')).toBeCloseTo(40 * Math.exp(-1), 9);
    expect(tracker.ewma('a', 5000)).toBeCloseTo(40 * Math.exp(-0.2), 9);
  });

  it('leaves the estimate alone when the latency is omitted', () => {
    const tracker = new LoadTracker({ now: () => 0 });
    tracker.finish('a', 30);
    tracker.start('a');
    tracker.finish('a');
    expect(tracker.ewma('a')).toBe(30);
  });

  it('retain() forgets idle ids that left and keeps busy ones', () => {
    const tracker = new LoadTracker({ now: () => 0 });
    tracker.finish('gone', 30);
    tracker.start('busy');
    tracker.finish('kept', 20);
    tracker.retain(['kept']);
    expect(tracker.ewma('gone')).toBe(0);
    expect(tracker.ewma('kept')).toBe(20);
    expect(tracker.inFlight('busy')).toBe(1);
    expect(tracker.total()).toBe(1);
  });

  it('rejects bad options and observations with LB_ERR_INVALID_OPTION', () => {
    expect(() => new LoadTracker({ decayMs: 0 })).toThrow(/decayMs/);
    expect(() => new LoadTracker({ decayMs: Number.NaN })).toThrow(/decayMs/);
    const tracker = new LoadTracker();
    expect(() => tracker.finish('a', -1)).toThrow(/latencyMs/);
    expect(() => tracker.ewma('a', -5)).toThrow(/decayMs/);
    expect(() => tracker.finish('a', Number.POSITIVE_INFINITY)).toThrow(
      expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' }),
    );
    for (let tau = 1; tau <= 7; tau++) tracker.ewma('a', tau);
    expect(() => tracker.ewma('a', 99)).toThrow(/distinct decayMs/);
  });

  it('keeps start/finish O(1): a million updates over 10,000 ids stay fast', () => {
    const tracker = new LoadTracker({ now: () => 0 });
    for (let i = 0; i < 1_000_000; i++) {
      const id = `10.0.${(i % 10_000) >> 8}.${i % 256}:80`;
      tracker.start(id);
      tracker.finish(id, i % 50);
    }
    expect(tracker.total()).toBe(0);
  });
});
