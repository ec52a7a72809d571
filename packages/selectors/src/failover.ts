import {
  type Backend,
  checkInteger,
  emptyIterator,
  invalidOption,
  type RequestInfo,
  resolveOptions,
  type Selector,
} from '@switchyard/core';
import { DONE } from './internal/ring.js';

/** Options of {@link failover}. */
export interface FailoverOptions {
  /**
   * Raw pulls taken from each tier's iterator before moving to the next tier, so an
   * endless tier (random, FNV, Pingora round-robin) cannot starve the ones after it.
   * Like Pingora's `max_iterations`. @defaultValue 256
   */
  readonly maxPullsPerTier: number;
}

/** Defaults of {@link failover}. */
export const FAILOVER_DEFAULTS: Readonly<FailoverOptions> = Object.freeze({ maxPullsPerTier: 256 });

class FailoverWalk implements IterableIterator<Backend> {
  private tier = 0;
  private pulls = 0;
  private current: Iterator<Backend> | undefined;
  private readonly seen = new Set<string>();

  constructor(
    private readonly tiers: readonly Selector[],
    private readonly maxPulls: number,
    private readonly key: string | Uint8Array,
    private readonly request: RequestInfo | undefined,
  ) {}

  next(): IteratorResult<Backend, undefined> {
    // Bounded: at most tiers × maxPullsPerTier pulls in total over the iterator's life.
    while (this.tier < this.tiers.length) {
      if (this.current === undefined) {
        this.current = this.tiers[this.tier]!.select(this.key, this.request);
        this.pulls = 0;
      }
      const step = this.pulls++ < this.maxPulls ? this.current.next() : DONE;
      if (step.done) {
        this.tier++;
        this.current = undefined;
        continue;
      }
      if (this.seen.has(step.value.id)) continue;
      this.seen.add(step.value.id);
      return { done: false, value: step.value };
    }
    return DONE;
  }

  [Symbol.iterator](): FailoverWalk {
    return this;
  }
}

/**
 * Tiers in priority order: every distinct candidate of tier 0 (within
 * `maxPullsPerTier` raw pulls), then tier 1's that were not already yielded, and so on.
 * Each backend appears at most once; the iterator is finite. No tiers, or all tiers
 * empty: an exhausted iterator. Throws `LB_ERR_INVALID_OPTION` for a tier that is not
 * a Selector. Cost: one `Set` per `select()`; pulls as the tiers' own.
 *
 * The tiers share one key and, inside a balancer, one health view. To fail over between
 * pools that have their own health checks, key or TLS settings (the proxy config's
 * failover upstreams), use the proxy's balancer tiers (`createUpstreamPeer`) instead.
 */
export function failover(tiers: readonly Selector[], options?: Partial<FailoverOptions>): Selector {
  const resolved = resolveOptions('failover', FAILOVER_DEFAULTS, options, (o) =>
    checkInteger('failover maxPullsPerTier', o.maxPullsPerTier, 1),
  );
  if (!Array.isArray(tiers)) invalidOption('failover tiers', 'an array of Selector', tiers);
  for (const [i, tier] of tiers.entries()) {
    if (typeof (tier as Selector | undefined)?.select !== 'function')
      invalidOption(`failover tiers[${i}]`, 'a Selector', tier);
  }
  const list = [...tiers];
  if (list.length === 0) return { select: () => emptyIterator() };
  return { select: (key, request) => new FailoverWalk(list, resolved.maxPullsPerTier, key, request) };
}
