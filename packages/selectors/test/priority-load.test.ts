import { DEFAULT_OVERPROVISIONING_FACTOR, pickPriority, priorityLoad } from '@switchyard/selectors';
import { checkPriorityShares } from '@switchyard/selectors/testing';
import { describe, expect, it } from 'vitest';

const tier = (ready: number, total: number) => ({ ready, total });

describe('priorityLoad: Envoy priority levels with overprovisioning', () => {
  it('tier 0 of 10 over a healthy tier 1: 0, 3, 5 and 10 down give 100/0, 98/2, 70/30 and 0/100', () => {
    expect(DEFAULT_OVERPROVISIONING_FACTOR).toBe(1.4);
    expect(priorityLoad([tier(10, 10), tier(10, 10)])).toEqual([100, 0]);
    expect(priorityLoad([tier(7, 10), tier(10, 10)])).toEqual([98, 2]);
    expect(priorityLoad([tier(5, 10), tier(10, 10)])).toEqual([70, 30]);
    expect(priorityLoad([tier(0, 10), tier(10, 10)])).toEqual([0, 100]);
  });

  it('a tier counts as whole down to 1/factor ready (72% at 1.4), and the factor is configurable', () => {
    expect(priorityLoad([tier(72, 100), tier(1, 1)])).toEqual([100, 0]);
    expect(priorityLoad([tier(71, 100), tier(1, 1)])).toEqual([99, 1]);
    expect(priorityLoad([tier(5, 10), tier(10, 10)], 1)).toEqual([50, 50]);
    expect(priorityLoad([tier(5, 10), tier(10, 10)], 2)).toEqual([100, 0]);
  });

  it('spills over three tiers in order', () => {
    expect(priorityLoad([tier(2, 10), tier(4, 10), tier(10, 10)])).toEqual([28, 56, 16]);
  });

  it('normalises when every tier is degraded (Envoy: 20% and 20% ready give 50/50), rounding to the first available tier', () => {
    expect(priorityLoad([tier(2, 10), tier(2, 10)])).toEqual([50, 50]);
    expect(priorityLoad([tier(1, 10), tier(2, 10)])).toEqual([34, 66]);
    expect(priorityLoad([tier(0, 10), tier(1, 10), tier(1, 10)])).toEqual([0, 50, 50]);
  });

  it('panics to tier 0 when nothing is ready; an empty tier takes nothing', () => {
    expect(priorityLoad([tier(0, 10), tier(0, 4)])).toEqual([100, 0]);
    expect(priorityLoad([tier(0, 0), tier(3, 3)])).toEqual([0, 100]);
    expect(priorityLoad([])).toEqual([]);
  });

  it('pickPriority walks the cumulative shares', () => {
    const loads = [70, 30];
    expect(pickPriority(loads, 0)).toBe(0);
    expect(pickPriority(loads, 69.99)).toBe(0);
    expect(pickPriority(loads, 70)).toBe(1);
    expect(pickPriority(loads, 99.5)).toBe(1);
    const counts = [0, 0];
    for (let r = 0; r < 100; r++) counts[pickPriority(priorityLoad([tier(5, 10), tier(10, 10)]), r)]!++;
    expect(counts).toEqual([70, 30]);
  });

  it('rejects bad input with the field named', () => {
    expect(() => priorityLoad([tier(3, 2)])).toThrow(/tiers\[0\]\.ready/);
    expect(() => priorityLoad([{ ready: 1, total: -1 }])).toThrow(/tiers\[0\]\.total/);
    expect(() => priorityLoad([tier(1, 1)], 0.5)).toThrow(/overprovisioning factor/);
    expect(() => priorityLoad([tier(1, 1)], 1.234)).toThrow(/overprovisioning factor/);
    expect(() => pickPriority([10, 20], 50)).toThrow(/pickPriority loads/);
    expect(() => pickPriority([100], 100)).toThrow(/pickPriority r/);
  });

  it('keeps the priority laws, which catch all-or-nothing failover', () => {
    expect(checkPriorityShares((tiers) => priorityLoad(tiers)).laws).toHaveLength(5);
    checkPriorityShares((tiers) => priorityLoad(tiers, 1.2), { factor: 1.2 });
    // All-or-nothing: the first tier with anything ready takes everything.
    const allOrNothing = (tiers: readonly { ready: number; total: number }[]) => {
      const first = Math.max(
        0,
        tiers.findIndex((t) => t.ready > 0),
      );
      return tiers.map((_, i) => (i === first ? 100 : 0));
    };
    expect(() => checkPriorityShares(allOrNothing)).toThrow(/law "degraded-spills" violated/);
  });
});
