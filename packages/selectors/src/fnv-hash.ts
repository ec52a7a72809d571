import { type Backend, emptyIterator, invalidOption, resolveOptions, type SelectorFactory } from '@switchyard/core';
import { checkBackends } from './internal/backends.js';
import { Fnv64 } from './internal/fnv.js';
import { keyBytes } from './internal/utf8.js';
import { checkTotalWeight, WeightedTable } from './internal/weighted.js';

/** {@link fnvHash} takes no options; the type exists so it is a `SelectorFactory` like the others. */
export type FnvHashOptions = Readonly<Record<string, never>>;

/** Defaults of {@link fnvHash} (none). */
export const FNV_HASH_DEFAULTS: FnvHashOptions = Object.freeze({});

function invalidKey(got: unknown): never {
  return invalidOption('fnvHash key', 'a string or Uint8Array', got);
}

/**
 * Pingora's walk: the first pick indexes the weight-expanded list with `h % W`;
 * every fallback re-hashes the previous value's 8 little-endian bytes and picks
 * `backends[h % n]`, uniformly. Endless.
 */
class FnvWalk implements IterableIterator<Backend> {
  private first = true;

  constructor(
    private readonly table: WeightedTable,
    private readonly hash: Fnv64,
  ) {}

  next(): IteratorResult<Backend, undefined> {
    const table = this.table;
    if (this.first) {
      this.first = false;
      return { done: false, value: table.expanded(this.hash.mod(table.total)) };
    }
    this.hash.rehash();
    return { done: false, value: table.backends[this.hash.mod(table.backends.length)]! };
  }

  [Symbol.iterator](): FnvWalk {
    return this;
  }
}

/**
 * Pingora's `FNVHash` (`Weighted<FnvHasher>`): 64-bit FNV-1a of the key bytes (a string
 * as UTF-8) picks from the weight-expanded backend list, in Pingora's `BTreeSet` order
 * (so any insertion order gives the same picks); fallbacks are uniform, not weighted,
 * and the iterator is endless (bound it with `candidates()`). Not consistent: adding a
 * backend remaps most keys. No backends: an exhausted iterator.
 *
 * Cost for n backends: build O(n log n) time, 8·n bytes; pick O(key length + log n),
 * each fallback O(1).
 */
export const fnvHash: SelectorFactory<FnvHashOptions> = (backends, options) => {
  resolveOptions('fnvHash', FNV_HASH_DEFAULTS, options);
  checkBackends('fnvHash', backends);
  checkTotalWeight('fnvHash', backends);
  if (backends.length === 0) return { select: () => emptyIterator() };
  const table = new WeightedTable(backends);
  return {
    select(key) {
      const k = keyBytes(key, invalidKey);
      return new FnvWalk(table, new Fnv64().reset().bytes(k.bytes, k.length));
    },
  };
};
