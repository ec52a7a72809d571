import {
  type Backend,
  checkInteger,
  emptyIterator,
  invalidOption,
  LoadTracker,
  resolveOptions,
} from '@switchyard/core';
import { checkBackends } from './internal/backends.js';
import { CheapestFirst, checkRandom, checkTracker, pickCheapest } from './internal/p2c.js';
import type { LoadAwareSelector } from './least-request.js';

/** Options for {@link peakEwma}. */
export interface PeakEwmaOptions {
  /**
   * Time constant τ of the latency estimate in ms (Finagle's `decayTime`, Envoy's
   * `decay_time`): an observation's weight decays as e^(−Δt/τ).
   * @defaultValue 10000
   */
  readonly decayMs: number;
  /** Backends sampled per pick. @defaultValue 2 */
  readonly choices: number;
  /**
   * Where latencies and in-flight counts come from (the proxy's, shared across
   * rebuilds). Without one the selector makes its own (reachable as `.tracker`).
   * @defaultValue a new, private {@link LoadTracker} with this `decayMs`
   */
  readonly tracker: LoadTracker | undefined;
  /** Source of randomness in [0, 1). @defaultValue `Math.random` */
  readonly random: () => number;
}

/** Defaults for {@link PeakEwmaOptions}. */
export const PEAK_EWMA_DEFAULTS: Readonly<PeakEwmaOptions> = Object.freeze({
  decayMs: 10_000,
  choices: 2,
  tracker: undefined,
  random: Math.random,
});

/**
 * Cost of a backend that has work in flight but no latency observation yet:
 * Finagle's `Penalty` (Long.MaxValue >> 16, about 1.4e14), plus the in-flight count
 * so such backends still order by load among themselves.
 */
export const PEAK_EWMA_PENALTY = 2 ** 47;

function validate(options: Readonly<PeakEwmaOptions>): void {
  if (typeof options.decayMs !== 'number' || !Number.isFinite(options.decayMs) || options.decayMs <= 0) {
    invalidOption('peakEwma decayMs', 'a finite number > 0', options.decayMs);
  }
  checkInteger('peakEwma choices', options.choices, 2, 64);
  checkTracker('peakEwma', options.tracker);
  checkRandom('peakEwma', options.random);
}

/**
 * Peak-EWMA with power of two choices (Finagle's `Balancers.p2cPeakEwma`, Envoy's
 * peak-EWMA extension): sample `choices` backends and take the cheapest, where
 * `cost = ewma × (inFlight + 1) / weight` and `ewma` is the tracker's peak-sensitive
 * latency estimate under τ = `decayMs` ({@link LoadTracker.ewma}: a slower response
 * raises it at once, faster ones lower it gradually, idleness decays it toward 0 so
 * a recovered backend gets probed). A backend with requests in flight but no
 * observation yet costs {@link PEAK_EWMA_PENALTY} + inFlight (Finagle); one with
 * neither costs 0 and is tried first. Dividing by `weight` keeps weights meaningful
 * (Finagle has none). The key is ignored; no health handling (Envoy notes the same).
 * Fallbacks: every other backend once, cheapest first (equal costs from a random point
 * of the list on). Breaks down with long-polling
 * clients, whose latency says nothing about load (Finagle's caveat).
 *
 * Cost: O(choices) per pick (two `Math.exp`), no allocation but the iterator.
 */
export function peakEwma(backends: readonly Backend[], options?: Partial<PeakEwmaOptions>): LoadAwareSelector {
  checkBackends('peakEwma', backends);
  const resolved = resolveOptions('peakEwma', PEAK_EWMA_DEFAULTS, options, validate);
  const { choices, random, decayMs } = resolved;
  const tracker = resolved.tracker ?? new LoadTracker({ decayMs });
  // Sorted by id so the picks for a given random sequence do not depend on list order.
  const list = [...backends].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = list.map((b) => b.id);
  const cost = (i: number): number => {
    const id = ids[i]!;
    const pending = tracker.inFlight(id);
    const latency = tracker.ewma(id, decayMs);
    if (latency === 0 && pending > 0) return PEAK_EWMA_PENALTY + pending;
    return (latency * (pending + 1)) / list[i]!.weight;
  };
  return {
    tracker,
    select() {
      if (list.length === 0) return emptyIterator();
      return new CheapestFirst(list, pickCheapest(list.length, choices, random, cost), cost, random);
    },
  };
}
