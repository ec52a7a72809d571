import { RETRY_BUDGET_DEFAULTS, RetryBudget } from '@switchyard/proxy';
import { describe, expect, it } from 'vitest';

describe('RetryBudget', () => {
  const clock = () => {
    let t = 0;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('allows budgetPercent of the window’s requests plus the floor, and counts what it refuses', () => {
    const c = clock();
    const budget = new RetryBudget({ budgetPercent: 20, budgetWindowMs: 10_000, minPerSecond: 1, now: c.now });
    for (let i = 0; i < 100; i++) budget.request();
    // 20% of 100 + 1/s × 10 s = 30 retries.
    let granted = 0;
    for (let i = 0; i < 50; i++) if (budget.tryRetry()) granted++;
    expect(granted).toBe(30);
    expect(budget.refused).toBe(20);
  });

  it('a quiet service still gets the floor; a failing backend under steady load adds at most the budget', () => {
    const c = clock();
    const quiet = new RetryBudget({ now: c.now });
    expect(Array.from({ length: 120 }, () => quiet.tryRetry()).filter(Boolean)).toHaveLength(100); // 10/s × 10 s
    // Steady load: 1,000 requests/s for 60 s, every request failing once and asking to retry.
    const steady = new RetryBudget({ now: c.now });
    let attempts = 0;
    let requests = 0;
    for (let ms = 0; ms < 60_000; ms++) {
      c.advance(1);
      steady.request();
      requests++;
      attempts++;
      if (steady.tryRetry()) attempts++;
    }
    const floor = (RETRY_BUDGET_DEFAULTS.minPerSecond * RETRY_BUDGET_DEFAULTS.budgetWindowMs) / 1000;
    expect(attempts).toBeLessThanOrEqual((1 + RETRY_BUDGET_DEFAULTS.budgetPercent / 100) * requests + floor * 6);
    expect(attempts).toBeGreaterThan(1.15 * requests);
    expect(steady.refused).toBeGreaterThan(0.75 * requests);
  });

  it('forgets requests and retries that left the window, a tenth of it at a time', () => {
    const c = clock();
    const budget = new RetryBudget({ budgetPercent: 50, budgetWindowMs: 1000, minPerSecond: 0, now: c.now });
    for (let i = 0; i < 10; i++) budget.request();
    expect(Array.from({ length: 6 }, () => budget.tryRetry())).toEqual([true, true, true, true, true, false]);
    c.advance(999);
    expect(budget.tryRetry()).toBe(false);
    c.advance(1); // the first tenth (all ten requests and five retries) leaves the window
    expect(budget.tryRetry()).toBe(false);
    budget.request();
    budget.request();
    expect(budget.tryRetry()).toBe(true);
    c.advance(5_000);
    expect(budget.tryRetry()).toBe(false);
  });

  it('rejects bad options naming the field', () => {
    expect(() => new RetryBudget({ budgetPercent: -1 })).toThrow(/budgetPercent/);
    expect(() => new RetryBudget({ budgetWindowMs: 10 })).toThrow(/budgetWindowMs/);
    expect(() => new RetryBudget({ minPerSecond: Number.NaN })).toThrow(/minPerSecond/);
  });
});
