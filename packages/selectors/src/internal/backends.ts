import { isIP } from 'node:net';
import { type Backend, describe, invalidOption } from '@switchyard/core';

/** Index arrays are Uint16, like Pingora's `Weighted` (which asserts at most 65535 backends). */
export const MAX_BACKENDS = 65535;

/**
 * Checks the shape of a backend list once, at build time: an array of backends with
 * a string `id`, a string `host`, an integer `port` in 1–65535 and an integer
 * `weight` ≥ 1, no two sharing an `id`, at most {@link MAX_BACKENDS}.
 */
export function checkBackends(component: string, backends: readonly Backend[]): void {
  if (!Array.isArray(backends)) invalidOption(`${component} backends`, 'an array of Backend', backends);
  if (backends.length > MAX_BACKENDS) {
    invalidOption(`${component} backends`, `at most ${MAX_BACKENDS} backends`, backends.length);
  }
  const seen = new Set<string>();
  for (let i = 0; i < backends.length; i++) {
    const b = backends[i] as Backend | undefined;
    const what = `${component} backends[${i}]`;
    if (typeof b !== 'object' || b === null) invalidOption(what, 'a Backend (see backend())', b);
    if (typeof b.id !== 'string' || typeof b.host !== 'string') invalidOption(`${what}.id/host`, 'strings', b.id);
    if (!Number.isInteger(b.port) || b.port < 1 || b.port > 65535) {
      invalidOption(`${what}.port`, 'an integer from 1 to 65535', b.port);
    }
    if (!Number.isSafeInteger(b.weight) || b.weight < 1) invalidOption(`${what}.weight`, 'an integer >= 1', b.weight);
    if (seen.has(b.id)) invalidOption(what, `a unique id (${describe(b.id)} appears twice)`, b.id);
    seen.add(b.id);
  }
}

/** Sum of weights. */
export function totalWeight(backends: readonly Backend[]): number {
  let total = 0;
  for (const b of backends) total += b.weight;
  return total;
}

// Address family rank in Pingora's order: std `SocketAddr` puts V4 before V6. Host
// names cannot occur in Pingora (it resolves first); they sort last here.
const V4 = 0;
const V6 = 1;
const NAME = 2;

interface SortKey {
  readonly backend: Backend;
  readonly family: number;
  readonly address: readonly number[];
}

function ipv4Parts(host: string): number[] {
  return host.split('.').map(Number);
}

/** Eight 16-bit groups of an IPv6 address (handles `::` and a trailing dotted IPv4). */
function ipv6Parts(host: string): number[] {
  let text = host;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Rewrite a trailing dotted IPv4 (`::ffff:1.2.3.4`) as two hex groups.
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Parts(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const gap = text.indexOf('::');
  let groups: number[];
  if (gap >= 0) {
    const head = parse(text.slice(0, gap));
    const rest = parse(text.slice(gap + 2));
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    groups = parse(text);
  }
  return groups;
}

function sortKey(backend: Backend): SortKey {
  const family = isIP(backend.host);
  if (family === 4) return { backend, family: V4, address: ipv4Parts(backend.host) };
  if (family === 6) return { backend, family: V6, address: ipv6Parts(backend.host) };
  return { backend, family: NAME, address: [] };
}

function compareKeys(x: SortKey, y: SortKey): number {
  if (x.family !== y.family) return x.family - y.family;
  if (x.family === NAME) {
    const a = x.backend.host;
    const b = y.backend.host;
    if (a !== b) return a < b ? -1 : 1;
  } else {
    for (let i = 0; i < x.address.length; i++) {
      const d = (x.address[i] ?? 0) - (y.address[i] ?? 0);
      if (d !== 0) return d;
    }
  }
  if (x.backend.port !== y.backend.port) return x.backend.port - y.backend.port;
  if (x.backend.weight !== y.backend.weight) return x.backend.weight - y.backend.weight;
  // Two spellings of one IPv6 address (`::1`, `0::1`) are distinct ids; order them by id
  // so the result never depends on the input order.
  return x.backend.id < y.backend.id ? -1 : x.backend.id > y.backend.id ? 1 : 0;
}

/**
 * The backends in Pingora's `BTreeSet<Backend>` order: IPv4 before IPv6, each by
 * numeric address, then port, then weight; host names (which Pingora cannot hold)
 * last, by name. Gives every selector that depends on list positions the same
 * answer for any insertion order.
 */
export function pingoraOrder(backends: readonly Backend[]): Backend[] {
  return backends
    .map(sortKey)
    .sort(compareKeys)
    .map((k) => k.backend);
}
