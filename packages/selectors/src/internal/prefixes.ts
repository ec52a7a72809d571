import { describe, invalidOption } from '@switchyard/core';
import { BoundedMemo } from './lru.js';

/** What a compiled lookup returns for a path no prefix matches. */
export const NO_MATCH = -1;

/**
 * Compiles prefixes into a lookup from a path to the index of its longest matching prefix
 * on a segment boundary, or {@link NO_MATCH}; `what(i)` names entry `i` in errors. The one
 * implementation of path routing: `prefixTable` and `pathRouter` are built on it.
 */
export function compilePrefixes(
  prefixes: readonly unknown[],
  what: (i: number) => string,
  options: { readonly cacheSize: number; readonly maxCachedPathLength: number },
): (path: string) => number {
  const byPrefix = new Map<string, number>();
  for (const [i, prefix] of prefixes.entries()) {
    if (typeof prefix !== 'string' || !prefix.startsWith('/'))
      invalidOption(what(i), 'a string starting with "/"', prefix);
    if (byPrefix.has(prefix)) invalidOption(what(i), `a unique prefix (${describe(prefix)} repeats)`, prefix);
    byPrefix.set(prefix, i);
  }
  // A prefix p matches path s when s starts with p and p ends at a boundary: the end of
  // s, a "/" following p, or p itself ending in "/". So the candidates for s are s itself
  // and, for each "/" in s at index i, both s[0..i] ("/api") and s[0..i+1] ("/api/").
  // Walking them from the longest down costs one Map probe per path segment.
  const lookup = (path: string): number => {
    const exact = byPrefix.get(path);
    if (exact !== undefined) return exact;
    for (let i = path.lastIndexOf('/'); i >= 0; i = i === 0 ? -1 : path.lastIndexOf('/', i - 1)) {
      const withSlash = byPrefix.get(path.slice(0, i + 1));
      if (withSlash !== undefined && i + 1 < path.length) return withSlash;
      const bare = i > 0 ? byPrefix.get(path.slice(0, i)) : undefined;
      if (bare !== undefined) return bare;
    }
    return NO_MATCH;
  };
  const memo = new BoundedMemo(options.cacheSize);
  const maxCached = options.maxCachedPathLength;
  return (raw) => {
    const path = withoutQuery(raw);
    return path.length > maxCached ? lookup(path) : memo.get(path, lookup);
  };
}

/** `path` up to its query string or fragment, if any. */
function withoutQuery(path: string): string {
  const q = path.indexOf('?');
  const h = path.indexOf('#');
  const cut = q < 0 ? h : h < 0 ? q : Math.min(q, h);
  return cut < 0 ? path : path.slice(0, cut);
}
