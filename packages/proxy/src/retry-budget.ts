import { checkInteger, invalidOption, resolveOptions } from '@switchyard/core';

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed, as a percentage of the requests seen in the window. @defaultValue 20 */
  readonly budgetPercent: number;
  /** The sliding window the percentage is taken over, ms (1,000 to 600,000). @defaultValue 10000 */
  readonly budgetWindowMs: number;
  /** Retries always allowed per second of the window, so quiet services can still retry. @defaultValue 10 */
  readonly minPerSecond: number;
  /** Clock, ms. @defaultValue `performance.now` */
  readonly now: () => number;
}

/** Defaults of {@link RetryBudget}. */
export const RETRY_BUDGET_DEFAULTS: RetryBudgetOptions = Object.freeze({
  budgetPercent: 20,
  budgetWindowMs: 10_000,
  minPerSecond: 10,
  now: () => performance.now(),
});

// The window slides in tenths: counts older than the window are dropped a tenth at a time.
const SLOTS = 10;

/**
 * A retry budget, as Linkerd's and Envoy's: over the last `budgetWindowMs`, retries may be at
 * most `budgetPercent`% of the requests seen, plus a floor of `minPerSecond` × the window's
 * seconds. So when a backend fails, the retries it causes add at most that share to the load
 * (upstream attempts ≤ (1 + budgetPercent/100) × requests + floor) instead of multiplying it.
 * Call {@link RetryBudget.request} once per client request and {@link RetryBudget.tryRetry}
 * before each retry; a refused retry is counted in `refused`.
 */
export class RetryBudget {
  readonly #o: RetryBudgetOptions;
  readonly #requests = new Float64Array(SLOTS);
  readonly #retries = new Float64Array(SLOTS);
  readonly #slotMs: number;
  #slot = 0;
  #slotStart: number;
  #requestSum = 0;
  #retrySum = 0;
  /** Retries refused since construction. */
  refused = 0;

  constructor(options?: Partial<RetryBudgetOptions>) {
    this.#o = resolveOptions('retry budget', RETRY_BUDGET_DEFAULTS, options, (o) => {
      if (typeof o.budgetPercent !== 'number' || !(o.budgetPercent >= 0 && o.budgetPercent <= 1000)) {
        invalidOption('retry budget budgetPercent', 'a number from 0 to 1000', o.budgetPercent);
      }
      checkInteger('retry budget budgetWindowMs', o.budgetWindowMs, 1000, 600_000);
      if (typeof o.minPerSecond !== 'number' || !(o.minPerSecond >= 0 && o.minPerSecond <= 1e6)) {
        invalidOption('retry budget minPerSecond', 'a number from 0 to 1000000', o.minPerSecond);
      }
      if (typeof o.now !== 'function') invalidOption('retry budget now', 'a function returning ms', o.now);
    });
    this.#slotMs = this.#o.budgetWindowMs / SLOTS;
    this.#slotStart = this.#o.now();
  }

  /** Counts one client request (its first attempt). */
  request(): void {
    this.#advance();
    this.#requests[this.#slot]! += 1;
    this.#requestSum += 1;
  }

  /** True, and the retry is counted, when the budget allows one more retry now; otherwise counts a refusal. */
  tryRetry(): boolean {
    this.#advance();
    const o = this.#o;
    const allowed = (o.budgetPercent / 100) * this.#requestSum + (o.minPerSecond * o.budgetWindowMs) / 1000;
    if (this.#retrySum + 1 > allowed) {
      this.refused++;
      return false;
    }
    this.#retries[this.#slot]! += 1;
    this.#retrySum += 1;
    return true;
  }

  // Moves to the slot `now` falls in, clearing the slots that left the window on the way.
  #advance(): void {
    const elapsed = this.#o.now() - this.#slotStart;
    if (elapsed < this.#slotMs) return;
    const steps = Math.min(SLOTS, Math.floor(elapsed / this.#slotMs));
    for (let i = 0; i < steps; i++) {
      this.#slot = (this.#slot + 1) % SLOTS;
      this.#requestSum -= this.#requests[this.#slot]!;
      this.#retrySum -= this.#retries[this.#slot]!;
      this.#requests[this.#slot] = 0;
      this.#retries[this.#slot] = 0;
    }
    this.#slotStart += Math.floor(elapsed / this.#slotMs) * this.#slotMs;
  }
}
