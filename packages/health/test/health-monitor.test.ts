import { type Backend, backend } from '@switchyard/core';
import { createHealthMonitor, type HealthChange, type HealthMonitor, httpCheck } from '@switchyard/health';
import { startBackend, waitFor } from '@switchyard/testkit';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { captureLogs, ScriptedCheck } from './helpers/scripted-check.js';

const pool = (n: number): Backend[] => Array.from({ length: n }, (_, i) => backend(`127.0.0.${i + 1}:80`));

describe('createHealthMonitor state', () => {
  it('starts healthy (Pingora) or unhealthy when asked, enabled either way', () => {
    const [a] = pool(1) as [Backend];
    const m = createHealthMonitor({ backends: [a], check: new ScriptedCheck() });
    expect([m.isHealthy(a), m.isEnabled(a), m.isReady(a.id)]).toEqual([true, true, true]);
    const u = createHealthMonitor({ backends: [a], check: new ScriptedCheck(), initialState: 'unhealthy' });
    expect([u.isHealthy(a), u.isEnabled(a), u.isReady(a)]).toEqual([false, true, false]);
    expect(m.isHealthy('10.9.9.9:1')).toBe(false);
    expect(m.isReady('10.9.9.9:1')).toBe(false);
  });

  it('flips after the thresholds, resets counters on agreeing results, and reports transitions', async () => {
    const [a] = pool(1) as [Backend];
    const check = new ScriptedCheck();
    const changes: HealthChange[] = [];
    const viaOption: HealthChange[] = [];
    let clock = 1000;
    const logs = captureLogs();
    const m = createHealthMonitor({
      backends: [a],
      check,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      now: () => clock,
      onChange: (c) => viaOption.push(c),
      logger: pino({ level: 'info' }, logs),
    });
    m.on('change', (c) => changes.push(c));
    check.down.add(a.id);
    await m.checkNow();
    await m.checkNow();
    expect(m.isHealthy(a)).toBe(true);
    check.down.delete(a.id);
    await m.checkNow(); // agreeing result: the failure streak resets
    check.down.add(a.id);
    await m.checkNow();
    await m.checkNow();
    expect(m.isHealthy(a)).toBe(true);
    expect(m.snapshot()[0]).toMatchObject({ consecutiveFailures: 2, consecutiveSuccesses: 0 });
    clock = 2000;
    await m.checkNow();
    expect(m.isHealthy(a)).toBe(false);
    expect(changes).toEqual([{ backend: a, healthy: false, reason: 'scripted down', at: 2000 }]);
    check.down.delete(a.id);
    await m.checkNow();
    expect(m.isHealthy(a)).toBe(false);
    clock = 3000;
    await m.checkNow();
    expect(m.isHealthy(a)).toBe(true);
    expect(changes.map((c) => [c.healthy, c.at])).toEqual([
      [false, 2000],
      [true, 3000],
    ]);
    expect(viaOption).toEqual(changes);
    expect(m.snapshot()[0]).toMatchObject({
      backend: a,
      healthy: true,
      enabled: true,
      consecutiveSuccesses: 2,
      consecutiveFailures: 0,
      lastResult: { ok: true },
      lastChangeAt: 3000,
    });
    const transitions = logs.lines.filter((l) => l.backend === a.id && /becomes/.test(String(l.msg)));
    expect(transitions.map((l) => [l.level, l.component, l.reason])).toEqual([
      [40, 'health', 'scripted down'],
      [30, 'health', undefined],
    ]);
  });

  it('a throwing listener is logged and does not break the monitor', async () => {
    const [a] = pool(1) as [Backend];
    const check = new ScriptedCheck();
    const logs = captureLogs();
    const m = createHealthMonitor({ backends: [a], check, logger: pino({ level: 'info' }, logs) });
    m.on('change', () => {
      throw new Error('listener bug');
    });
    check.down.add(a.id);
    await m.checkNow();
    expect(m.isHealthy(a)).toBe(false);
    expect(logs.lines.some((l) => l.level === 50 && /listener threw/.test(String(l.msg)))).toBe(true);
  });

  it('a check that throws counts as a failure with the error message as reason', async () => {
    const [a] = pool(1) as [Backend];
    const m = createHealthMonitor({
      backends: [a],
      check: {
        check: () => Promise.reject(new Error('check exploded')),
      },
    });
    await m.checkNow();
    expect(m.isHealthy(a)).toBe(false);
    expect(m.snapshot()[0]?.lastResult).toMatchObject({ ok: false, reason: 'check exploded' });
  });

  it('manual enable/disable is separate from health', async () => {
    const [a] = pool(1) as [Backend];
    const check = new ScriptedCheck();
    const m = createHealthMonitor({ backends: [a], check });
    m.setEnabled(a, false);
    expect([m.isHealthy(a), m.isEnabled(a), m.isReady(a)]).toEqual([true, false, false]);
    check.down.add(a.id);
    await m.checkNow();
    check.down.delete(a.id);
    await m.checkNow();
    expect([m.isHealthy(a), m.isEnabled(a)]).toEqual([true, false]);
    m.setEnabled(a.id, true);
    expect(m.isReady(a)).toBe(true);
    m.setEnabled('10.9.9.9:1', false); // unknown: no-op
    expect(m.snapshot()).toHaveLength(1);
  });

  it('setBackends keeps state for ids that stay, starts new ones in the initial state, releases removed ones', async () => {
    const [a, b, c] = pool(3) as [Backend, Backend, Backend];
    const check = new ScriptedCheck();
    const m = createHealthMonitor({ backends: [a, b], check, initialState: 'unhealthy' });
    await m.checkNow();
    m.setEnabled(a, false);
    expect([m.isHealthy(a), m.isHealthy(b)]).toEqual([true, true]);
    m.setBackends([a, c]);
    expect(m.snapshot().map((s) => [s.backend.id, s.healthy, s.enabled])).toEqual([
      [a.id, true, false],
      [c.id, false, true],
    ]);
    expect(m.isHealthy(b)).toBe(false);
    await waitFor('release', () => check.released.length === 1, 1000);
    expect(check.released).toEqual([b.id]);
  });

  it('rejects bad options naming the field', () => {
    const check = new ScriptedCheck();
    expect(() => createHealthMonitor({ backends: [], check, jitter: 2 })).toThrow(/jitter/);
    expect(() => createHealthMonitor({ backends: [], check, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => createHealthMonitor({ backends: [], check, healthyThreshold: 1.5 })).toThrow(/healthyThreshold/);
    expect(() => createHealthMonitor({ backends: [], check: {} as never })).toThrow(/check/);
    expect(() => createHealthMonitor({ backends: [], check, skipOnTraffic: 'yes' as never })).toThrow(
      /skipOnTraffic.*a boolean/,
    );
  });
});

describe('createHealthMonitor scheduling', () => {
  it('never runs more than `concurrency` checks at once, nor two of one backend', async () => {
    const check = new ScriptedCheck();
    check.delayMs = 20;
    const m = createHealthMonitor({ backends: pool(20), check, concurrency: 3 });
    await Promise.all([m.checkNow(), m.checkNow()]);
    expect(check.maxInFlight).toBe(3);
    expect(check.maxPerBackend).toBe(1);
    expect(check.calls).toBe(20); // the second checkNow joined the pending checks
  });

  it('does not stack checks slower than the interval', async () => {
    const check = new ScriptedCheck();
    check.delayMs = 130;
    const [a] = pool(1) as [Backend];
    const m = createHealthMonitor({ backends: [a], check, intervalMs: 20, jitter: 0 });
    m.start();
    await new Promise((r) => setTimeout(r, 420));
    await m.stop();
    expect(check.maxPerBackend).toBe(1);
    // 420 ms of 130 ms checks back to back is at most 4 runs (a stacked design would run ~21).
    expect(check.calls).toBeGreaterThanOrEqual(2);
    expect(check.calls).toBeLessThanOrEqual(4);
  });

  it('runs every intervalMs with ± jitter drawn from random()', async () => {
    const calls = async (random: () => number): Promise<number> => {
      const check = new ScriptedCheck();
      const m = createHealthMonitor({ backends: pool(1), check, intervalMs: 200, jitter: 0.5, random });
      m.start();
      m.start(); // idempotent
      await new Promise((r) => setTimeout(r, 550));
      await m.stop();
      return check.calls;
    };
    const [fast, slow] = await Promise.all([calls(() => 0), calls(() => 0.999)]);
    // random() = 0: every 200 × (1 - 0.5) = 100 ms → ticks at 0, 100, …, 500 (6; 5 if timers run late).
    expect(fast).toBeGreaterThanOrEqual(5);
    expect(fast).toBeLessThanOrEqual(6);
    // random() ≈ 1: every ≈ 300 ms → ticks at 0 and 300. Without jitter it would be 3 (0, 200, 400).
    expect(slow).toBe(2);
  });

  it('stop() clears every timer, aborts checks in flight and closes the check', async () => {
    const check = new ScriptedCheck();
    check.delayMs = 10_000;
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const m = createHealthMonitor({ backends: pool(5), check, intervalMs: 50 });
    m.start();
    await waitFor('checks in flight', () => check.inFlight === 5, 1000);
    const started = performance.now();
    await m.stop();
    expect(performance.now() - started).toBeLessThan(500);
    expect(check.closed).toBe(1);
    expect(check.inFlight).toBe(0);
    const calls = check.calls;
    await new Promise((r) => setTimeout(r, 120));
    expect(check.calls).toBe(calls);
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
    // An aborted check says nothing about health.
    expect(m.snapshot().every((s) => s.healthy && s.lastResult === undefined)).toBe(true);
  });
});

describe('createHealthMonitor skipOnTraffic', () => {
  /** Runs `m` for `ms` while `busy` backends report successful traffic every 10 ms. */
  async function runWithTraffic(m: HealthMonitor, busy: readonly Backend[], ms: number): Promise<void> {
    const traffic = setInterval(() => {
      for (const b of busy) m.reportTraffic(b);
    }, 10);
    m.start();
    await new Promise((r) => setTimeout(r, ms));
    clearInterval(traffic);
    await m.stop();
  }
  const skipped = (m: HealthMonitor, b: Backend): number =>
    m.snapshot().find((s) => s.backend.id === b.id)?.skippedChecks ?? -1;

  it('skips the periodic check of a healthy backend with traffic since its last tick, and only that', async () => {
    const [busy, idle, failing] = pool(3) as [Backend, Backend, Backend];
    const check = new ScriptedCheck();
    check.down.add(failing.id);
    const m = createHealthMonitor({
      backends: [busy, idle, failing],
      check,
      intervalMs: 50,
      jitter: 0,
      skipOnTraffic: true,
    });
    await runWithTraffic(m, [busy, failing], 420);
    // Ticks at 0, 50, …, 400 (9; 8 if timers run late). The first runs before any traffic
    // (a second only if the 10 ms traffic timer stalled for a whole interval on a loaded host).
    expect(check.callsPerBackend.get(busy.id)).toBeLessThanOrEqual(2);
    expect(skipped(m, busy)).toBeGreaterThanOrEqual(7);
    // No traffic: checked on every tick. Unhealthy: traffic reports do not spare it.
    expect(check.callsPerBackend.get(idle.id)).toBeGreaterThanOrEqual(8);
    expect(check.callsPerBackend.get(failing.id)).toBeGreaterThanOrEqual(8);
    expect([skipped(m, idle), skipped(m, failing), m.isHealthy(failing)]).toEqual([0, 0, false]);
  });

  it('keeps checking a healthy backend whose last check failed until a check passes again', async () => {
    const [a] = pool(1) as [Backend];
    const check = new ScriptedCheck();
    check.down.add(a.id);
    const m = createHealthMonitor({
      backends: [a],
      check,
      intervalMs: 100,
      jitter: 0,
      unhealthyThreshold: 2,
      skipOnTraffic: true,
    });
    const traffic = setInterval(() => m.reportTraffic(a), 10);
    m.start();
    await waitFor('the first check', () => check.callsPerBackend.get(a.id) === 1, 1000);
    check.down.delete(a.id); // one failure so far: still healthy, but not proven by the last check
    await new Promise((r) => setTimeout(r, 550));
    clearInterval(traffic);
    await m.stop();
    expect(m.isHealthy(a)).toBe(true);
    expect(check.callsPerBackend.get(a.id)).toBe(2); // the failed check, then the one that passed
    expect(skipped(m, a)).toBeGreaterThanOrEqual(3);
  });

  it('is off by default, and checkNow() always checks', async () => {
    const [a] = pool(1) as [Backend];
    const check = new ScriptedCheck();
    const plain = createHealthMonitor({ backends: [a], check, intervalMs: 50, jitter: 0 });
    await runWithTraffic(plain, [a], 220);
    expect(check.callsPerBackend.get(a.id)).toBeGreaterThanOrEqual(4);
    expect(skipped(plain, a)).toBe(0);

    const forced = new ScriptedCheck();
    const m = createHealthMonitor({ backends: [a], check: forced, skipOnTraffic: true });
    await m.checkNow();
    m.reportTraffic(a);
    m.reportTraffic('127.9.9.9:1'); // unknown: ignored
    await m.checkNow();
    expect([forced.calls, skipped(m, a)]).toEqual([2, 0]);
  });
});

describe('createHealthMonitor against real HTTP backends', () => {
  it('stop() closes every undici client: no connection stays open on the backends', async () => {
    const backends = await Promise.all([
      startBackend({ keepAliveTimeout: 60_000 }),
      startBackend({ keepAliveTimeout: 60_000 }),
      startBackend({ keepAliveTimeout: 60_000 }),
    ]);
    const m = createHealthMonitor({
      backends: backends.map((b) => b.backend),
      check: httpCheck({ reuseConnection: true }),
      intervalMs: 50,
    });
    try {
      m.start();
      await waitFor('checks on every backend', () => backends.every((b) => b.requests.length >= 2), 2000);
      expect((await Promise.all(backends.map((b) => b.openConnections()))).every((n) => n === 1)).toBe(true);
      await m.stop();
      // The server notices the destroyed sockets within a few event-loop turns; idle keep-alive
      // sockets would otherwise stay open for the servers' 60 s keep-alive timeout.
      let open: number[] = [];
      for (let i = 0; i < 20 && !(open.length === 3 && open.every((n) => n === 0)); i++) {
        await new Promise((r) => setTimeout(r, 10));
        open = await Promise.all(backends.map((b) => b.openConnections()));
      }
      expect(open).toEqual([0, 0, 0]);
    } finally {
      await Promise.all(backends.map((b) => b.stop()));
    }
  });

  it('a killed backend turns unhealthy within U × interval + timeout, and healthy within H × interval of its return', async () => {
    const up = await startBackend({ keepAliveTimeout: 60_000 });
    const other = await startBackend({ keepAliveTimeout: 60_000 });
    const intervalMs = 250;
    const timeoutMs = 250;
    // Timer and event-loop latency on a loaded 2-core CI machine; small next to the bounds.
    const slackMs = 60;
    const [U, H] = [2, 3];
    const check = httpCheck({ timeoutMs });
    const changes: HealthChange[] = [];
    const m = createHealthMonitor({
      backends: [up.backend, other.backend],
      check,
      intervalMs,
      jitter: 0,
      unhealthyThreshold: U,
      healthyThreshold: H,
      now: () => performance.now(),
    });
    m.on('change', (c) => changes.push(c));
    m.start();
    try {
      await waitFor('first checks', () => (m.snapshot()[0]?.consecutiveSuccesses ?? 0) >= 2, 2000);
      await up.stop();
      const killedAt = performance.now();
      await waitFor('unhealthy', () => changes.length === 1, U * intervalMs + timeoutMs + slackMs);
      expect(changes[0]).toMatchObject({ backend: up.backend, healthy: false, reason: 'connection refused' });
      expect(changes[0]!.at - killedAt).toBeLessThanOrEqual(U * intervalMs + timeoutMs);
      await up.restart();
      const revivedAt = performance.now();
      await waitFor('healthy again', () => changes.length === 2, H * intervalMs + slackMs);
      expect(changes[1]).toMatchObject({ backend: up.backend, healthy: true });
      expect(changes[1]!.at - revivedAt).toBeLessThanOrEqual(H * intervalMs + slackMs);
      expect(m.isHealthy(up.backend)).toBe(true);
      expect(m.isHealthy(other.backend)).toBe(true);

      up.mode = 'hang';
      await waitFor('unhealthy on hang', () => !m.isHealthy(up.backend), U * (intervalMs + timeoutMs) + intervalMs);
      expect(m.snapshot()[0]?.lastResult?.reason).toBe(`timeout after ${timeoutMs} ms`);
      up.mode = { status: 503 };
      await waitFor('503 reason', () => m.snapshot()[0]?.lastResult?.reason === 'status 503', 2000);
      expect(m.isHealthy(up.backend)).toBe(false);
    } finally {
      await m.stop();
      await Promise.all([up.stop(), other.stop()]);
    }
  });
});
