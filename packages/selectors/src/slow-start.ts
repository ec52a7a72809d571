import {
  type Backend,
  checkInteger,
  invalidOption,
  type RequestInfo,
  resolveOptions,
  type Selector,
  type SelectorFactory,
} from '@switchyard/core';
import { checkBackends } from './internal/backends.js';

/** Options for {@link withSlowStart}. */
export interface SlowStartOptions {
  /** How long a joining or recovering backend takes to reach its full weight, in ms (Envoy's `slow_start_window`). @defaultValue 30000 */
  readonly windowMs: number;
  /** The share of its weight a backend starts at, in percent (Envoy's `min_weight_percent`). @defaultValue 10 */
  readonly minWeightPercent: number;
  /** Ramp curvature: 1 is linear, larger ramps faster at first (Envoy's `aggression`). @defaultValue 1 */
  readonly aggression: number;
  /**
   * Ramp resolution: every weight is multiplied by this before the ramp share is
   * applied and rounded, so the ramp moves in steps of 1/`weightScale` of a weight.
   * Larger is smoother but multiplies the wrapped selector's weights (a hash ring's
   * points grow with it). @defaultValue 10
   */
  readonly weightScale: number;
  /** Clock in ms. @defaultValue `performance.now` */
  readonly now: () => number;
}

/** Defaults for {@link SlowStartOptions}. */
export const SLOW_START_DEFAULTS: Readonly<SlowStartOptions> = Object.freeze({
  windowMs: 30_000,
  minWeightPercent: 10,
  aggression: 1,
  weightScale: 10,
  now: () => performance.now(),
});

/** Envoy floors the elapsed time at one second in its time factor. */
const MIN_ELAPSED_MS = 1000;

/** A {@link SelectorFactory} that ramps new backends in; it remembers them across builds. */
export interface SlowStartFactory<O> extends SelectorFactory<O> {
  /** Starts `id`'s ramp again now: call it when a backend turns healthy after being unhealthy. */
  recovered(id: string): void;
  /** The share (0–1] of its weight `id` gets at `now()`; 1 for an id that is not ramping. */
  share(id: string): number;
}

function validate(options: Readonly<SlowStartOptions>): void {
  const { windowMs, minWeightPercent, aggression } = options;
  if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs <= 0) {
    invalidOption('slowStart windowMs', 'a finite number > 0', windowMs);
  }
  if (typeof minWeightPercent !== 'number' || !(minWeightPercent > 0 && minWeightPercent <= 100)) {
    invalidOption('slowStart minWeightPercent', 'a number in (0, 100]', minWeightPercent);
  }
  if (typeof aggression !== 'number' || !Number.isFinite(aggression) || aggression <= 0) {
    invalidOption('slowStart aggression', 'a finite number > 0', aggression);
  }
  checkInteger('slowStart weightScale', options.weightScale, 1, 1000);
  if (typeof options.now !== 'function') invalidOption('slowStart now', 'a function', options.now);
}

/**
 * Slow start for any weighted selector (Envoy's formula, `slow_start.rst`): a
 * backend that joins, or is reported {@link SlowStartFactory.recovered}, gets
 *
 *     weight × max(minWeightPercent / 100, timeFactor ^ (1 / aggression)),
 *     timeFactor = max(elapsed, 1 s) / windowMs,
 *
 * until `elapsed ≥ windowMs`, then its full weight. Weights are scaled by
 * `weightScale` and rounded (at least 1) before being handed to `factory`, so
 * with the defaults a joining backend starts at 1/10 of its share and ramps in
 * 10% steps. The backends of the very first build start at full weight (HAProxy:
 * "never on start"), so a restart does not throttle a whole pool; a backend that
 * leaves and comes back ramps again.
 *
 * The returned factory is stateful: it remembers ids across builds, so build every
 * selector of one pool from the same `withSlowStart` result (and one per pool).
 * While any backend ramps, `select()` re-checks the shares every `windowMs /
 * weightScale` ms and rebuilds the wrapped selector when a rounded weight changes
 * (that pick pays for one build; a round-robin cursor restarts). Candidates are
 * the caller's original `Backend` objects. Envoy applies slow start to round robin
 * and least request; with hashing it moves keys as weights change, and Envoy warns
 * it suits neither very low traffic nor many endpoints.
 *
 * Cost: O(1) extra per pick outside ramps (one clock read, one map lookup per
 * candidate); one wrapped build per ramp step.
 */
export function withSlowStart<O>(
  factory: SelectorFactory<O>,
  options?: Partial<SlowStartOptions>,
): SlowStartFactory<O> {
  if (typeof factory !== 'function') invalidOption('withSlowStart factory', 'a SelectorFactory', factory);
  const resolved = resolveOptions('slowStart', SLOW_START_DEFAULTS, options, validate);
  const { windowMs, minWeightPercent, aggression, weightScale, now } = resolved;
  const startedAt = new Map<string, number>();
  let known: Set<string> | undefined;
  let generation = 0;

  const share = (id: string, t: number): number => {
    const start = startedAt.get(id);
    if (start === undefined) return 1;
    const elapsed = t - start;
    if (elapsed >= windowMs) {
      startedAt.delete(id);
      return 1;
    }
    const timeFactor = Math.max(elapsed, MIN_ELAPSED_MS) / windowMs;
    return Math.min(1, Math.max(minWeightPercent / 100, timeFactor ** (1 / aggression)));
  };

  const build = (backends: readonly Backend[], overrides: Partial<O> | undefined): Selector => {
    checkBackends('withSlowStart', backends);
    const t0 = now();
    const ids = new Set(backends.map((b) => b.id));
    if (known !== undefined) {
      for (const id of ids) if (!known.has(id)) startedAt.set(id, t0);
    }
    for (const id of startedAt.keys()) if (!ids.has(id)) startedAt.delete(id);
    known = ids;
    const originals = new Map(backends.map((b) => [b.id, b]));

    const scaled = (t: number): { list: Backend[]; ramping: boolean } => {
      let ramping = false;
      const list = backends.map((b) => {
        const s = share(b.id, t);
        if (s < 1) ramping = true;
        return Object.freeze({ ...b, weight: Math.max(1, Math.round(b.weight * weightScale * s)) });
      });
      return { list, ramping };
    };

    let current = scaled(t0);
    let inner = factory(current.list, overrides);
    let seenGeneration = generation;
    let nextCheck = t0 + windowMs / weightScale;

    const refresh = (): void => {
      const t = now();
      if (seenGeneration === generation && (!current.ramping || t < nextCheck)) return;
      seenGeneration = generation;
      nextCheck = t + windowMs / weightScale;
      const next = scaled(t);
      const changed = next.list.some((b, i) => b.weight !== current.list[i]!.weight);
      current = next;
      if (changed) inner = factory(current.list, overrides);
    };

    return {
      select(key: string | Uint8Array, request?: RequestInfo): IterableIterator<Backend> {
        refresh();
        const it = inner.select(key, request);
        return {
          next() {
            const step = it.next();
            if (step.done) return step;
            return { done: false, value: originals.get(step.value.id) ?? step.value };
          },
          [Symbol.iterator]() {
            return this;
          },
        };
      },
    };
  };

  return Object.assign(build, {
    recovered(id: string): void {
      if (typeof id !== 'string') invalidOption('withSlowStart recovered id', 'a backend id string', id);
      startedAt.set(id, now());
      generation++;
    },
    share(id: string): number {
      return share(id, now());
    },
  });
}
