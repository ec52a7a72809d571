import { type Backend, backend, type SelectorFactory } from '@switchyard/core';
import { createHealthMonitor, type HealthCheck } from '@switchyard/health';
import { createBalancer, resolveConfig } from '@switchyard/proxy';
import { roundRobin, withSlowStart } from '@switchyard/selectors';
import { describe, expect, it } from 'vitest';

/** A check whose answer per backend id the test sets. */
function scriptedCheck(down: Set<string>): HealthCheck {
  return {
    check: async (b) =>
      down.has(b.id) ? { ok: false, reason: 'scripted down', durationMs: 0 } : { ok: true, durationMs: 0 },
  };
}

function countPicks(select: () => string | undefined, n: number): Map<string | undefined, number> {
  const counts = new Map<string | undefined, number>();
  for (let i = 0; i < n; i++) {
    const id = select();
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('slow start through the balancer', () => {
  it('ramps a backend that recovers from 10% of its weight back to full over the window', async () => {
    let t = 0;
    const a = backend('127.0.0.1:7101');
    const b = backend('127.0.0.1:7102');
    const down = new Set<string>();
    const monitor = createHealthMonitor({ backends: [a, b], check: scriptedCheck(down), intervalMs: 60_000 });
    const balancer = createBalancer({
      backends: [a, b],
      selector: withSlowStart(roundRobin, { windowMs: 10_000, now: () => t }),
      health: monitor,
    });
    try {
      // Equal weights at start: the first build is not throttled.
      expect(countPicks(() => balancer.select('')?.id, 200).get(b.id)).toBe(100);

      down.add(b.id);
      await monitor.checkNow();
      expect(countPicks(() => balancer.select('')?.id, 100).get(b.id)).toBeUndefined();

      down.delete(b.id);
      t = 1;
      await monitor.checkNow();
      // Just recovered: weight 10% of a's (1 of 11 picks with the default weightScale of 10).
      expect(countPicks(() => balancer.select('')?.id, 110).get(b.id)).toBe(10);

      t = 1 + 10_000;
      // After the window: back to an equal share.
      expect(countPicks(() => balancer.select('')?.id, 200).get(b.id)).toBe(100);
    } finally {
      await balancer.close();
      await monitor.stop();
    }
  });

  it('calls the recovered capability a factory declares when a backend turns healthy again, and only then', async () => {
    const a = backend('127.0.0.1:7201');
    const b = backend('127.0.0.1:7202');
    const down = new Set<string>([b.id]);
    const told: string[] = [];
    // A plain factory declaring the core contract's optional capability, no withSlowStart.
    const factory: SelectorFactory = Object.assign((bs: readonly Backend[]) => roundRobin(bs), {
      recovered: (id: string) => {
        told.push(id);
      },
    });
    const monitor = createHealthMonitor({ backends: [a, b], check: scriptedCheck(down), intervalMs: 60_000 });
    const balancer = createBalancer({ backends: [a, b], selector: factory, health: monitor });
    try {
      await monitor.checkNow();
      expect(told).toEqual([]);
      down.delete(b.id);
      await monitor.checkNow();
      expect(told).toEqual([b.id]);
      await monitor.checkNow();
      expect(told).toEqual([b.id]);
    } finally {
      await balancer.close();
      await monitor.stop();
    }
    const bad = Object.assign((bs: readonly Backend[]) => roundRobin(bs), { recovered: 'yes' });
    expect(() => createBalancer({ backends: [a], selector: bad as unknown as SelectorFactory })).toThrow(
      expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION', message: expect.stringMatching(/selector\.recovered/) }),
    );
  });

  it('is a config field of every selector type, validated with its path', () => {
    const ok = resolveConfig(
      { upstreams: { web: { backends: ['127.0.0.1:9001'], selector: { type: 'round-robin', slowStartMs: 30_000 } } } },
      '/tmp',
    );
    expect(ok.upstreams.web?.selector.slowStartMs).toBe(30_000);
    expect(() =>
      resolveConfig(
        { upstreams: { web: { backends: ['127.0.0.1:9001'], selector: { type: 'consistent', slowStartMs: -1 } } } },
        '/tmp',
      ),
    ).toThrow(/upstreams\.web\.selector\.slowStartMs: expected a duration in ms > 0/);
  });
});
