import { checkInteger, invalidOption, resolveOptions } from '@switchyard/core';
import { compilePrefixes, NO_MATCH } from './internal/prefixes.js';

/** One entry of {@link prefixTable}. */
export interface PrefixEntry<T> {
  /** Path prefix starting with `/`; matches on a segment boundary (`/api` matches `/api` and `/api/x`, not `/apix`). */
  readonly prefix: string;
  /** What a matching path maps to. */
  readonly value: T;
}

/** Options of {@link prefixTable} (and of `pathRouter`, which is built on it). */
export interface PrefixTableOptions {
  /**
   * Lookups remembered, by path, in an LRU (`lru-cache`); 0 disables the cache.
   * Bounded, so a flood of distinct paths cannot grow memory.
   * @defaultValue 1024
   */
  readonly cacheSize: number;
  /**
   * Paths longer than this are looked up without being cached, so the cache holds at
   * most `cacheSize × maxCachedPathLength` characters of keys.
   * @defaultValue 1024
   */
  readonly maxCachedPathLength: number;
}

/** Defaults of {@link prefixTable}. */
export const PREFIX_TABLE_DEFAULTS: Readonly<PrefixTableOptions> = Object.freeze({
  cacheSize: 1024,
  maxCachedPathLength: 1024,
});

/** Checks and resolves {@link PrefixTableOptions}; `what` names the caller in errors. */
export function resolvePrefixTableOptions(
  what: string,
  options: Partial<PrefixTableOptions> | undefined,
): Readonly<PrefixTableOptions> {
  return resolveOptions(what, PREFIX_TABLE_DEFAULTS, options, (o) => {
    checkInteger(`${what} cacheSize`, o.cacheSize, 0);
    checkInteger(`${what} maxCachedPathLength`, o.maxCachedPathLength, 1);
  });
}

/**
 * Longest-prefix path matching, the routing rule of `pathRouter` and of the proxy's
 * config routes: `match(path)` returns the value of the longest entry whose prefix
 * matches `path` (query string and fragment excluded) on a segment boundary, or
 * `undefined`. `/` matches every path. Lookups walk the path's segment boundaries from
 * the longest candidate down, one `Map` probe each, behind a bounded LRU keyed by path.
 * Throws `LB_ERR_INVALID_OPTION` for a prefix not starting with `/` or a duplicate prefix.
 */
export function prefixTable<T>(
  entries: readonly PrefixEntry<T>[],
  options?: Partial<PrefixTableOptions>,
): (path: string) => T | undefined {
  const resolved = resolvePrefixTableOptions('prefixTable', options);
  if (!Array.isArray(entries)) invalidOption('prefixTable entries', 'an array of { prefix, value }', entries);
  const values = entries.map((e: PrefixEntry<T> | undefined) => e?.value);
  const lookup = compilePrefixes(
    entries.map((e: PrefixEntry<T> | undefined) => e?.prefix),
    (i) => `prefixTable entries[${i}].prefix`,
    resolved,
  );
  return (path) => {
    const index = lookup(path);
    return index === NO_MATCH ? undefined : values[index];
  };
}
