import { backend } from '@switchyard/core';
import type { HealthChange } from '@switchyard/health';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { HEALTH_CHANNEL, type ToPrimary, type ToWorker } from '../src/cluster/health-messages.js';
import { SharedHealth } from '../src/cluster/shared-health.js';
import { resolveConfig } from '../src/config/resolve.js';

// The worker's side of the shared health view, driven by the messages a primary would send (the
// processes themselves are tested in workers-health.test.ts).

/** A message to a worker as the test writes it: the channel is added on delivery. */
type Body<T> = T extends unknown ? Omit<T, 'channel'> : never;

const A = backend('127.0.0.1:9001');
const B = backend('127.0.0.1:9002');

function setup(upstream: Record<string, unknown> = {}) {
  const sent: ToPrimary[] = [];
  const shared = new SharedHealth((m) => sent.push(m), pino({ enabled: false }));
  const config = resolveConfig({ upstreams: { web: { backends: [A.id, B.id], ...upstream } } }, process.cwd());
  const u = config.upstreams.web;
  if (u === undefined) throw new Error('no upstream web');
  const deliver = (m: Body<ToWorker>) => shared.handle({ channel: HEALTH_CHANNEL, ...m });
  return { sent, shared, u, deliver };
}

const state = (id: string, healthy: boolean) => ({ id, healthy, consecutiveSuccesses: 0, consecutiveFailures: 1 });

describe('SharedHealth (a worker)', () => {
  it('a monitor answers from the primary view and emits a change for each transition of a member', () => {
    const { shared, u, deliver } = setup({ health: { type: 'tcp' } });
    const monitor = shared.monitor(u);
    monitor.setBackends([A, B]);
    const changes: HealthChange[] = [];
    monitor.on('change', (c) => changes.push(c));
    expect(monitor.isReady(A)).toBe(true);
    deliver({ type: 'health', upstream: 'web', state: { ...state(A.id, false), reason: 'refused' }, at: 5 });
    expect(monitor.isHealthy(A)).toBe(false);
    expect(monitor.isHealthy(B)).toBe(true);
    // The same state again is no transition; another upstream's states are not this monitor's.
    deliver({ type: 'health', upstream: 'web', state: state(A.id, false), at: 6 });
    deliver({ type: 'health', upstream: 'api', state: state(B.id, false), at: 7 });
    expect(changes).toEqual([{ backend: A, healthy: false, reason: 'refused', at: 5 }]);
    expect(monitor.isHealthy(B)).toBe(true);
    // A full view replaces the states: A is back, and an id the primary no longer reports is reset.
    deliver({ type: 'view', upstreams: { web: { backends: [state(A.id, true)], ejected: [] } } });
    expect(monitor.isHealthy(A)).toBe(true);
    expect(changes.at(-1)).toMatchObject({ backend: A, healthy: true });
    expect(monitor.isHealthy('127.0.0.9:1')).toBe(false);
    expect(monitor.snapshot().map((h) => [h.backend.id, h.healthy])).toEqual([
      [A.id, true],
      [B.id, true],
    ]);
  });

  it('the drain flag is local, and a stopped monitor hears nothing more', async () => {
    const { shared, u, deliver } = setup({ health: { type: 'tcp' } });
    const monitor = shared.monitor(u);
    monitor.setBackends([A, B]);
    monitor.setEnabled(A, false);
    expect(monitor.isReady(A)).toBe(false);
    expect(monitor.isHealthy(A)).toBe(true);
    const changes: HealthChange[] = [];
    monitor.on('change', (c) => changes.push(c));
    await monitor.stop();
    deliver({ type: 'health', upstream: 'web', state: state(B.id, false), at: 1 });
    expect(changes).toEqual([]);
  });

  it('checkNow asks the primary and resolves on its answer', async () => {
    const { shared, u, sent, deliver } = setup({ health: { type: 'tcp' } });
    const monitor = shared.monitor(u);
    let done = false;
    const checking = monitor.checkNow().then(() => {
      done = true;
    });
    const ask = sent.find((m) => m.type === 'check-now');
    expect(ask).toMatchObject({ channel: HEALTH_CHANNEL, type: 'check-now', upstream: 'web' });
    await Promise.resolve();
    expect(done).toBe(false);
    deliver({ type: 'checked', seq: (ask as { seq: number }).seq });
    await checking;
    expect(done).toBe(true);
  });

  it('with skipOnTraffic, successful traffic goes to the primary in one batch per 100 ms', async () => {
    const { shared, u, sent } = setup({ health: { type: 'tcp', skipOnTraffic: true } });
    const monitor = shared.monitor(u);
    monitor.setBackends([A, B]);
    for (let i = 0; i < 50; i++) monitor.reportTraffic(i % 2 === 0 ? A : B);
    expect(sent.filter((m) => m.type === 'traffic')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(sent.filter((m) => m.type === 'traffic')).toEqual([
      { channel: HEALTH_CHANNEL, type: 'traffic', upstream: 'web', ids: [A.id, B.id] },
    ]);
  });

  it("reports this worker's own ejections, applies the primary's without echoing them, and keeps them for the next detector", () => {
    const { shared, u, sent, deliver } = setup({ outlier: { consecutiveFailures: 2, maxEjectedPercent: 100 } });
    const detector = shared.outlier(u, pino({ enabled: false }));
    detector.setBackends([A, B]);
    detector.record(A, 'http-5xx');
    detector.record(A, 'http-5xx');
    expect(detector.isEjected(A)).toBe(true);
    expect(sent.filter((m) => m.type === 'eject')).toEqual([
      { channel: HEALTH_CHANNEL, type: 'eject', upstream: 'web', id: A.id, ms: 30_000 },
    ]);
    deliver({ type: 'eject', upstream: 'web', id: B.id, ms: 60_000 });
    expect(detector.isEjected(B)).toBe(true);
    expect(sent.filter((m) => m.type === 'eject')).toHaveLength(1);
    // The primary refused A (host-wide cap): the worker takes it back.
    deliver({ type: 'reinstate', upstream: 'web', id: A.id });
    expect(detector.isEjected(A)).toBe(false);
    // A reload builds a new detector: the ejection in force holds there once it has its pool.
    const next = shared.outlier(u, pino({ enabled: false }));
    expect(next.isEjected(B)).toBe(false);
    next.setBackends([A, B]);
    expect(next.isEjected(B)).toBe(true);
    expect(next.isEjected(A)).toBe(false);
    expect(sent.filter((m) => m.type === 'eject')).toHaveLength(1);
  });

  it('a full view carries the ejections in force to a starting worker', () => {
    const { shared, u, deliver } = setup({ outlier: { maxEjectedPercent: 100 } });
    deliver({ type: 'view', upstreams: { web: { backends: [], ejected: [{ id: A.id, ms: 5000 }] } } });
    const detector = shared.outlier(u, pino({ enabled: false }));
    detector.setBackends([A, B]);
    expect(detector.ejected()).toEqual([A.id]);
  });

  it('ignores messages of other channels', () => {
    const { shared, u } = setup({ health: { type: 'tcp' } });
    const monitor = shared.monitor(u);
    monitor.setBackends([A]);
    shared.handle({ channel: 'metrics', type: 'health', upstream: 'web', state: state(A.id, false), at: 1 });
    shared.handle('hello');
    shared.handle(null);
    expect(monitor.isHealthy(A)).toBe(true);
  });
});
