import { LRUCache } from 'lru-cache';

/**
 * A bounded string → number memo over `lru-cache`: at most `max` entries, so a flood
 * of distinct keys evicts old ones instead of growing memory. `max = 0` disables it.
 */
export class BoundedMemo {
  private readonly cache: LRUCache<string, number> | undefined;

  constructor(max: number) {
    this.cache = max > 0 ? new LRUCache<string, number>({ max }) : undefined;
  }

  /** The memoised value of `key`, computing and storing it on a miss. */
  get(key: string, compute: (key: string) => number): number {
    const cache = this.cache;
    if (cache === undefined) return compute(key);
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const value = compute(key);
    cache.set(key, value);
    return value;
  }

  /** Entries held now (for tests and metrics). */
  get size(): number {
    return this.cache?.size ?? 0;
  }
}
