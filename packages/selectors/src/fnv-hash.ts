import { type Backend, emptyIterator, invalidOption, resolveOptions, type SelectorFactory } from '@switchyard/core';
import { checkBackends } from './internal/backends.js';
import { Fnv64 } from './internal/fnv.js';
import { keyBytes } from './internal/utf8.js';
import { checkFallbackDraw, checkTotalWeight, type FallbackDraw, WeightedTable } from './internal/weighted.js';

/** Options of {@link fnvHash}. */
export interface FnvHashOptions {
  /**
   * How fallbacks (the second and later candidates) are drawn. `'weighted'`: from the
   * weight-expanded list, so a backend that is out hands its keys to the others in
   * proportion to their weights. `'uniform'`: from the plain list, as Pingora does
   * (every backend equally likely, whatever its weight).
   * @defaultValue `'weighted'`
   */
  readonly fallbacks: FallbackDraw;
}

/** Defaults of {@link fnvHash}. */
export const FNV_HASH_DEFAULTS: Readonly<FnvHashOptions> = Object.freeze({ fallbacks: 'weighted' });

function invalidKey(got: unknown): never {
  return invalidOption('fnvHash key', 'a string or Uint8Array', got);
}

/**
 * Pingora's walk: the first pick indexes the weight-expanded list with `h % W`;
 * every fallback re-hashes the previous value's 8 little-endian bytes and picks
 * `expanded(h % W)` (weighted) or `backends[h % n]` (uniform, Pingora's). Endless.
 */
class FnvWalk implements IterableIterator<Backend> {
  private first = true;

  constructor(
    private readonly table: WeightedTable,
    private readonly hash: Fnv64,
    private readonly weighted: boolean,
  ) {}

  next(): IteratorResult<Backend, undefined> {
    const table = this.table;
    if (this.first) {
      this.first = false;
      return { done: false, value: table.expanded(this.hash.mod(table.total)) };
    }
    this.hash.rehash();
    if (this.weighted) return { done: false, value: table.expanded(this.hash.mod(table.total)) };
    return { done: false, value: table.backends[this.hash.mod(table.backends.length)]! };
  }

  [Symbol.iterator](): FnvWalk {
    return this;
  }
}

/**
 * Pingora's `FNVHash` (`Weighted<FnvHasher>`): 64-bit FNV-1a of the key bytes (a string
 * as UTF-8) picks from the weight-expanded backend list, in Pingora's `BTreeSet` order
 * (so any insertion order gives the same picks). Each fallback re-hashes the previous
 * hash as Pingora does and draws by weight (`fallbacks: 'uniform'` draws from the plain
 * list, Pingora's exact walk). The iterator is endless (bound it with `candidates()`).
 * Not consistent: adding a backend remaps most keys. No backends: an exhausted iterator.
 *
 * Cost for n backends: build O(n log n) time, 8·n bytes; pick O(key length + log n),
 * each fallback O(1).
 */
export const fnvHash: SelectorFactory<FnvHashOptions> = (backends, options) => {
  const { fallbacks } = resolveOptions('fnvHash', FNV_HASH_DEFAULTS, options, (o) =>
    checkFallbackDraw('fnvHash', o.fallbacks),
  );
  checkBackends('fnvHash', backends);
  checkTotalWeight('fnvHash', backends);
  if (backends.length === 0) return { select: () => emptyIterator() };
  const table = new WeightedTable(backends);
  const weighted = fallbacks === 'weighted';
  return {
    select(key) {
      const k = keyBytes(key, invalidKey);
      return new FnvWalk(table, new Fnv64().reset().bytes(k.bytes, k.length), weighted);
    },
  };
};
