import {
  type Backend,
  checkInteger,
  describe,
  emptyIterator,
  invalidOption,
  type RequestInfo,
  resolveOptions,
  type Selector,
} from '@switchyard/core';
import { BoundedMemo } from './internal/lru.js';

/** One route of {@link pathRouter}. */
export interface PathRoute {
  /** Path prefix starting with `/`; matches on a segment boundary (`/api` matches `/api` and `/api/x`, not `/apix`). */
  readonly prefix: string;
  /** Where matching requests go. */
  readonly selector: Selector;
}

/** Options of {@link pathRouter}. */
export interface PathRouterOptions {
  /**
   * Route lookups remembered, by path, in an LRU (`lru-cache`); 0 disables the cache.
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

/** Defaults of {@link pathRouter}. */
export const PATH_ROUTER_DEFAULTS: Readonly<PathRouterOptions> = Object.freeze({
  cacheSize: 1024,
  maxCachedPathLength: 1024,
});

const NO_ROUTE = -1;

function checkSelector(what: string, selector: unknown): void {
  if (typeof (selector as Selector | undefined)?.select !== 'function') invalidOption(what, 'a Selector', selector);
}

/**
 * Routes by path: the longest route prefix that matches `request.path` (query string
 * and fragment excluded) on a segment boundary gets `select(key, request)`; with no
 * match the `fallback` does; with no match and no fallback, or no `request`, the
 * iterator is exhausted (a request with no `request` goes to the fallback).
 *
 * Lookup walks the path's segment boundaries from the longest candidate prefix down,
 * one `Map` probe each (O(path segments)), behind a bounded LRU keyed by path.
 * Throws `LB_ERR_INVALID_OPTION` for a prefix not starting with `/`, a duplicate
 * prefix or a route without a selector.
 */
export function pathRouter(
  routes: readonly PathRoute[],
  fallback?: Selector,
  options?: Partial<PathRouterOptions>,
): Selector {
  const resolved = resolveOptions('pathRouter', PATH_ROUTER_DEFAULTS, options, (o) => {
    checkInteger('pathRouter cacheSize', o.cacheSize, 0);
    checkInteger('pathRouter maxCachedPathLength', o.maxCachedPathLength, 1);
  });
  if (!Array.isArray(routes)) invalidOption('pathRouter routes', 'an array of { prefix, selector }', routes);
  if (fallback !== undefined) checkSelector('pathRouter fallback', fallback);
  const byPrefix = new Map<string, number>();
  const selectors: Selector[] = [];
  for (const [i, route] of routes.entries()) {
    const prefix = (route as PathRoute | undefined)?.prefix;
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
      invalidOption(`pathRouter routes[${i}].prefix`, 'a string starting with "/"', prefix);
    }
    checkSelector(`pathRouter routes[${i}].selector`, route.selector);
    if (byPrefix.has(prefix))
      invalidOption(`pathRouter routes[${i}].prefix`, `a unique prefix (${describe(prefix)} repeats)`, prefix);
    byPrefix.set(prefix, selectors.length);
    selectors.push(route.selector);
  }

  // A prefix p matches path s when s starts with p and p ends at a boundary: the end of
  // s, a "/" following p, or p itself ending in "/". So the candidates for s are s itself
  // and, for each "/" in s at index i, both s[0..i] ("/api") and s[0..i+1] ("/api/").
  const lookup = (path: string): number => {
    const exact = byPrefix.get(path);
    if (exact !== undefined) return exact;
    for (let i = path.lastIndexOf('/'); i >= 0; i = i === 0 ? -1 : path.lastIndexOf('/', i - 1)) {
      const withSlash = byPrefix.get(path.slice(0, i + 1));
      if (withSlash !== undefined && i + 1 < path.length) return withSlash;
      const bare = i > 0 ? byPrefix.get(path.slice(0, i)) : undefined;
      if (bare !== undefined) return bare;
    }
    return NO_ROUTE;
  };
  const memo = new BoundedMemo(resolved.cacheSize);
  const maxCached = resolved.maxCachedPathLength;

  return {
    select(key: string | Uint8Array, request?: RequestInfo): IterableIterator<Backend> {
      if (request === undefined) return fallback?.select(key) ?? emptyIterator();
      let path = request.path;
      const cut = path.search(/[?#]/);
      if (cut >= 0) path = path.slice(0, cut);
      const index = path.length > maxCached ? lookup(path) : memo.get(path, lookup);
      const selector = index === NO_ROUTE ? fallback : selectors[index];
      return selector?.select(key, request) ?? emptyIterator();
    },
  };
}
