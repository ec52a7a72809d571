import { pickPriority, priorityLoad, type TierHealth } from '@switchyard/selectors';
import type { Balancer } from './balancer.js';

/**
 * How many of `pool`'s members are ready now (healthy, not ejected), out of how many: the
 * input of `priorityLoad` for one tier.
 */
export function tierHealth(pool: Balancer): TierHealth {
  const members = pool.backends();
  let ready = 0;
  for (const b of members) if (pool.isReady(b)) ready++;
  return { ready, total: members.length };
}

/**
 * The tier a request starts at under priority failover with overprovisioning (Envoy's
 * priority levels): each tier's share of traffic is `priorityLoad(health, factor)` and `r`, in
 * [0, 100), falls into one of them. `pools(i)` is tier i's balancer, for `i < count`.
 */
export function startTier(pools: (i: number) => Balancer, count: number, factor: number, r: number): number {
  const health: TierHealth[] = new Array(count);
  for (let i = 0; i < count; i++) health[i] = tierHealth(pools(i));
  return pickPriority(priorityLoad(health, factor), r);
}

/**
 * The i-th tier to try when the request starts at tier `start`: `start` first, then the
 * others in their configured order, so a tier left with nothing to give still fails over.
 */
export function tierOrder(start: number, i: number): number {
  if (i === 0) return start;
  return i - 1 < start ? i - 1 : i;
}

// FNV-1a, 32 bits: cheap, and the same on every instance.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * A selection key as a number in [0, 100), the same for the same key on every instance: the
 * starting-tier draw of a route whose upstream hashes (Envoy uses the request's hash for its
 * priority too), so instances that agree on backends agree on tiers as well. A string is hashed
 * by its UTF-16 code units, bytes by their values.
 */
export function keyPercent(key: string | Uint8Array): number {
  let h = FNV_OFFSET;
  if (typeof key === 'string') {
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  } else {
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i]!, FNV_PRIME);
  }
  return (h >>> 0) % 100;
}
