import { backend } from '@switchyard/core';
import { createOutlierDetector } from '@switchyard/health';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { captureLogs } from './helpers/scripted-check.js';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}:80`);

describe('createOutlierDetector', () => {
  it('ejects after 5 consecutive failures (Envoy defaults) for 30 s × times ejected, capped at 300 s', () => {
    const clock = { now: 0 };
    const events: string[] = [];
    const logs = captureLogs();
    const d = createOutlierDetector({
      backends: ids(10).map((id) => backend(id)),
      now: () => clock.now,
      logger: pino({ level: 'info' }, logs),
    });
    d.on('eject', (id) => events.push(`eject ${id}`)).on('reinstate', (id) => events.push(`reinstate ${id}`));
    const a = '127.0.0.1:80';
    const fail = (n: number): void => {
      for (let i = 0; i < n; i++) d.record(a, 'connect-error');
    };
    fail(4);
    d.record(a, 'success');
    fail(4);
    expect(d.isEjected(a)).toBe(false);
    d.record(a, 'timeout');
    expect(d.isEjected(a)).toBe(true);
    expect(d.ejected()).toEqual([a]);
    const durations: number[] = [];
    for (let round = 1; round <= 12; round++) {
      const from = clock.now;
      while (d.isEjected(a)) clock.now += 1000;
      durations.push(clock.now - from);
      fail(5);
    }
    expect(durations.slice(0, 11)).toEqual([30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300].map((s) => s * 1000));
    expect(events.slice(0, 2)).toEqual([`eject ${a}`, `reinstate ${a}`]);
    expect(logs.lines[0]).toMatchObject({ level: 40, component: 'outlier', backend: a, ejectionMs: 30000 });
  });

  it('never ejects more than maxEjectedPercent of the pool, but always allows one', () => {
    const d = createOutlierDetector({
      backends: ids(20).map((id) => backend(id)),
      consecutiveFailures: 1,
      maxEjectedPercent: 10,
      now: () => 0,
    });
    for (const id of ids(20)) d.record(id, 'http-5xx');
    expect(d.ejected()).toEqual(ids(2));
    const small = createOutlierDetector({
      backends: ids(3).map((id) => backend(id)),
      consecutiveFailures: 1,
      now: () => 0,
    });
    for (const id of ids(3)) small.record(id, 'http-5xx');
    expect(small.ejected()).toEqual(ids(1));
    // When the ejected one is reinstated, the next failing backend takes its place.
    small.reinstate(ids(1)[0]!);
    small.record(ids(3)[2]!, 'http-5xx');
    expect(small.ejected()).toEqual([ids(3)[2]]);
  });

  it('ignores outcomes of ids outside the pool, and tracks every id when no pool was given', () => {
    const fixed = createOutlierDetector({ backends: [backend('127.0.0.1:80')], consecutiveFailures: 1 });
    fixed.record('127.0.0.9:80', 'timeout');
    expect(fixed.isEjected('127.0.0.9:80')).toBe(false);
    const open = createOutlierDetector({ consecutiveFailures: 1 });
    open.record('127.0.0.9:80', 'timeout');
    expect(open.ejected()).toEqual(['127.0.0.9:80']);
  });

  it('setBackends keeps state for ids that stay and forgets the others', () => {
    const d = createOutlierDetector({
      consecutiveFailures: 1,
      backends: ids(3).map((id) => backend(id)),
      now: () => 0,
    });
    d.record(ids(1)[0]!, 'timeout');
    d.setBackends(ids(2).map((id) => backend(id)));
    expect(d.ejected()).toEqual(ids(1));
    d.setBackends([backend('127.0.0.7:80')]);
    expect(d.ejected()).toEqual([]);
  });

  it('eject() applies an ejection decided elsewhere: timed, counted, capped, and it emits eject', () => {
    const clock = { now: 0 };
    const events: string[] = [];
    const d = createOutlierDetector({
      backends: ids(10).map((id) => backend(id)),
      consecutiveFailures: 1,
      baseEjectionMs: 1000,
      now: () => clock.now,
    });
    d.on('eject', (id, ms) => events.push(`eject ${id} ${ms}`));
    const [a, b] = ids(2) as [string, string];
    expect(d.eject(a, 2500)).toBe(true);
    expect(d.isEjected(a)).toBe(true);
    // Already ejected: true, and the running ejection is not restarted.
    expect(d.eject(a, 99_000)).toBe(true);
    // 10 % of 10 backends is one: no room for a second.
    expect(d.eject(b, 1000)).toBe(false);
    expect(d.isEjected(b)).toBe(false);
    expect(d.eject('127.0.0.99:80', 1000)).toBe(false);
    clock.now = 2499;
    expect(d.isEjected(a)).toBe(true);
    clock.now = 2500;
    expect(d.isEjected(a)).toBe(false);
    // The applied ejection counted: a's own next ejection is its second (2 × baseEjectionMs).
    d.record(a, 'http-5xx');
    clock.now = 2500 + 1999;
    expect(d.isEjected(a)).toBe(true);
    clock.now = 2500 + 2000;
    expect(d.isEjected(a)).toBe(false);
    expect(events).toEqual([`eject ${a} 2500`, `eject ${a} 2000`]);
    expect(() => d.eject(a, -1)).toThrow(/outlier eject ms/);
  });

  it('rejects bad options and outcomes naming the field', () => {
    expect(() => createOutlierDetector({ maxEjectedPercent: 101 })).toThrow(/maxEjectedPercent/);
    expect(() => createOutlierDetector({ baseEjectionMs: 10, maxEjectionMs: 5 })).toThrow(/maxEjectionMs/);
    expect(() => createOutlierDetector().record('127.0.0.1:80', 'bogus' as never)).toThrow(/outcome/);
  });
});
