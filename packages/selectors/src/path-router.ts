import { type Backend, emptyIterator, invalidOption, type RequestInfo, type Selector } from '@switchyard/core';
import { compilePrefixes, NO_MATCH } from './internal/prefixes.js';
import { PREFIX_TABLE_DEFAULTS, type PrefixTableOptions, resolvePrefixTableOptions } from './prefix-table.js';

/** One route of {@link pathRouter}. */
export interface PathRoute {
  /** Path prefix starting with `/`; matches on a segment boundary (`/api` matches `/api` and `/api/x`, not `/apix`). */
  readonly prefix: string;
  /** Where matching requests go. */
  readonly selector: Selector;
}

/** Options of {@link pathRouter}: those of the prefix table it routes with. */
export type PathRouterOptions = PrefixTableOptions;

/** Defaults of {@link pathRouter} (the prefix table's). */
export const PATH_ROUTER_DEFAULTS: Readonly<PathRouterOptions> = PREFIX_TABLE_DEFAULTS;

function checkSelector(what: string, selector: unknown): void {
  if (typeof (selector as Selector | undefined)?.select !== 'function') invalidOption(what, 'a Selector', selector);
}

/**
 * Routes by path: the longest route prefix that matches `request.path` (query string
 * and fragment excluded) on a segment boundary gets `select(key, request)`; with no
 * match the `fallback` does; with no match and no fallback, or no `request`, the
 * iterator is exhausted (a request with no `request` goes to the fallback).
 *
 * Matching is `prefixTable`'s (the rule the proxy's config routes use too): one `Map`
 * probe per path segment, behind a bounded LRU keyed by path.
 * Throws `LB_ERR_INVALID_OPTION` for a prefix not starting with `/`, a duplicate
 * prefix or a route without a selector.
 */
export function pathRouter(
  routes: readonly PathRoute[],
  fallback?: Selector,
  options?: Partial<PathRouterOptions>,
): Selector {
  const resolved = resolvePrefixTableOptions('pathRouter', options);
  if (!Array.isArray(routes)) invalidOption('pathRouter routes', 'an array of { prefix, selector }', routes);
  if (fallback !== undefined) checkSelector('pathRouter fallback', fallback);
  const lookup = compilePrefixes(
    routes.map((route: PathRoute | undefined) => route?.prefix),
    (i) => `pathRouter routes[${i}].prefix`,
    resolved,
  );
  const selectors = routes.map((route, i) => {
    checkSelector(`pathRouter routes[${i}].selector`, route.selector);
    return route.selector;
  });

  return {
    select(key: string | Uint8Array, request?: RequestInfo): IterableIterator<Backend> {
      if (request === undefined) return fallback?.select(key) ?? emptyIterator();
      const index = lookup(request.path);
      const selector = index === NO_MATCH ? fallback : selectors[index];
      return selector?.select(key, request) ?? emptyIterator();
    },
  };
}
