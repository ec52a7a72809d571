import { DEFAULT_OVERPROVISIONING_FACTOR } from '@switchyard/selectors';
import type { z } from 'zod';
import type { ConfigIssue } from './issues.js';
import { routeSchema } from './schema.js';

/** A route: requests whose path starts with `prefix` (on a segment boundary) go to `upstream`, then `failover` in order. */
export interface ResolvedRoute {
  readonly prefix: string;
  readonly upstream: string;
  readonly failover: readonly string[];
  /** The upstream and its failover upstreams share traffic by health with this overprovisioning factor. */
  readonly overprovisioningFactor: number;
}

type ParsedRoute = z.output<typeof routeSchema>;

/**
 * Checks the routes of a config file against its upstream names (`names`, the keys the file
 * gives, valid or not) and returns them longest prefix first. Works on the raw `routes` value so
 * that a route's problems are reported even when other parts of the file are invalid: each route
 * that has the right shape is checked for an unknown upstream, a repeated or unknown failover
 * upstream and a prefix used before. Without `routes`, one upstream gets a single `/` route.
 */
export function resolveRoutes(raw: unknown, names: readonly string[], issues: ConfigIssue[]): ResolvedRoute[] {
  // With no upstream at all, that one problem is reported; every route would repeat it.
  if (names.length === 0) return [];
  if (raw === undefined) {
    if (names.length > 1) {
      issues.push({
        path: 'routes',
        message: `expected routes when there is more than one upstream (${names.join(', ')}), got nothing`,
      });
      return [];
    }
    return [
      { prefix: '/', upstream: names[0] ?? '', failover: [], overprovisioningFactor: DEFAULT_OVERPROVISIONING_FACTOR },
    ];
  }
  if (!Array.isArray(raw)) return [];
  const known = new Set(names);
  const prefixes = new Set<string>();
  const routes: ParsedRoute[] = [];
  raw.forEach((entry: unknown, i) => {
    const parsed = routeSchema.safeParse(entry);
    // Its shape is reported by the schema; the rules below need a well-formed route.
    if (!parsed.success) return;
    const r = parsed.data;
    routes.push(r);
    const at = `routes[${i}]`;
    const normalized = r.prefix.length > 1 && r.prefix.endsWith('/') ? r.prefix.slice(0, -1) : r.prefix;
    if (prefixes.has(normalized))
      issues.push({
        path: `${at}.prefix`,
        message: `expected a prefix not used by an earlier route, got ${JSON.stringify(r.prefix)}`,
      });
    prefixes.add(normalized);
    if (!known.has(r.upstream)) {
      issues.push({
        path: `${at}.upstream`,
        message: `expected one of the upstreams (${names.join(', ')}), got ${JSON.stringify(r.upstream)}`,
      });
    }
    r.failover.forEach((name, j) => {
      if (!known.has(name)) {
        issues.push({
          path: `${at}.failover[${j}]`,
          message: `expected one of the upstreams (${names.join(', ')}), got ${JSON.stringify(name)}`,
        });
      } else if (name === r.upstream || r.failover.indexOf(name) !== j) {
        issues.push({
          path: `${at}.failover[${j}]`,
          message: `expected an upstream not already in this route, got ${JSON.stringify(name)}`,
        });
      }
    });
  });
  return routes
    .map((r) => ({
      prefix: r.prefix,
      upstream: r.upstream,
      failover: r.failover,
      overprovisioningFactor: r.overprovisioningFactor,
    }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
}
