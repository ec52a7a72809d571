import { isIP } from 'node:net';
import {
  type Backend,
  checkInteger,
  emptyIterator,
  invalidOption,
  resolveOptions,
  type Selector,
  type SelectorFactory,
} from '@switchyard/core';
import { checkBackends, pingoraOrder, totalWeight } from './internal/backends.js';
import { CRC32_INIT, crc32Final, crc32String, crc32Update, crc32UpdateLe32 } from './internal/crc32.js';
import { ketamaRing } from './internal/hashring-adapter.js';
import { md5FirstWord } from './internal/md5.js';
import { type Ring, type RingWalk, ringFromPoints } from './internal/ring.js';
import { encodeUtf8, keyBytes } from './internal/utf8.js';

/** Which ring {@link consistentHash} builds. */
export type ConsistentHashAlgorithm = 'nginx' | 'ketama';

/** Options of {@link consistentHash}. */
export interface ConsistentHashOptions {
  /**
   * `'nginx'`: nginx `hash … consistent` / Pingora `Consistent` (CRC-32 ring).
   * `'ketama'`: libketama MD5 as implemented by the `hashring` package.
   * @defaultValue `'nginx'`
   */
  readonly algorithm: ConsistentHashAlgorithm;
  /**
   * Ring points per unit of weight. nginx and Pingora hard-code 160; other values
   * are no longer nginx-compatible. For `'ketama'` it must be a multiple of 4 and is
   * `4 × hashring`'s `vnode count`, i.e. points for a backend of average weight.
   * @defaultValue 160
   */
  readonly pointsPerWeight: number;
  /**
   * How an IPv6 host enters a backend's base hash (`'nginx'` algorithm only).
   * `'pingora'`: without brackets (`::1\0` + port), as Pingora formats `Ipv6Addr` and as
   * DESIGN.md and the Pingora vectors require. `'nginx'`: with brackets (`[::1]\0` + port),
   * what nginx itself hashes for `server [::1]:port` (checked against nginx 1.22).
   * IPv4 and host names are the same either way.
   * @defaultValue `'pingora'`
   */
  readonly ipv6HashFormat: 'pingora' | 'nginx';
}

/** nginx's `ngx_http_upstream_hash_module` and Pingora's `DEFAULT_POINT_MULTIPLE`: 160 points per weight. */
export const NGINX_POINTS_PER_WEIGHT = 160;

/** Defaults of {@link consistentHash}. */
export const CONSISTENT_HASH_DEFAULTS: Readonly<ConsistentHashOptions> = Object.freeze({
  algorithm: 'nginx',
  pointsPerWeight: NGINX_POINTS_PER_WEIGHT,
  ipv6HashFormat: 'pingora',
});

/** Upper bound on ring points (weights × pointsPerWeight), 16 Mi points ≈ 96 MiB, so a typo cannot exhaust memory. */
export const MAX_RING_POINTS = 1 << 24;

function validate(options: Readonly<ConsistentHashOptions>): void {
  if (options.algorithm !== 'nginx' && options.algorithm !== 'ketama') {
    invalidOption('consistentHash algorithm', '"nginx" or "ketama"', options.algorithm);
  }
  checkInteger('consistentHash pointsPerWeight', options.pointsPerWeight, 1, MAX_RING_POINTS);
  if (options.ipv6HashFormat !== 'pingora' && options.ipv6HashFormat !== 'nginx') {
    invalidOption('consistentHash ipv6HashFormat', '"pingora" or "nginx"', options.ipv6HashFormat);
  }
  if (options.algorithm === 'ketama' && options.pointsPerWeight % 4 !== 0) {
    invalidOption(
      'consistentHash pointsPerWeight (ketama)',
      'a multiple of 4 (4 points per MD5 digest)',
      options.pointsPerWeight,
    );
  }
}

function invalidKey(got: unknown): never {
  return invalidOption('consistentHash key', 'a string or Uint8Array', got);
}

/**
 * nginx's ring: a backend's base state is CRC-32 over `host "\0" port` (IPv6 without
 * brackets, as Pingora formats `Ipv6Addr`); point j continues the base with the
 * previous point as 4 little-endian bytes (0 before the first). Equal points are
 * dropped, the lowest-ranked backend in Pingora order keeping the point.
 */
function nginxRing(sorted: readonly Backend[], pointsPerWeight: number, bracketIpv6: boolean): Ring {
  const total = totalWeight(sorted) * pointsPerWeight;
  const hashes = new Uint32Array(total);
  const ranks = new Uint16Array(total);
  let n = 0;
  for (let rank = 0; rank < sorted.length; rank++) {
    const b = sorted[rank]!;
    const host = bracketIpv6 && isIP(b.host) === 6 ? `[${b.host}]` : b.host;
    const base = encodeUtf8(`${host}\0${b.port}`);
    const state = crc32Update(CRC32_INIT, base.bytes, 0, base.length);
    let prev = 0;
    for (let j = b.weight * pointsPerWeight; j > 0; j--) {
      prev = crc32Final(crc32UpdateLe32(state, prev));
      hashes[n] = prev;
      ranks[n++] = rank;
    }
  }
  return ringFromPoints(hashes, ranks, sorted, true);
}

class ConsistentHashSelector implements Selector {
  constructor(
    private readonly ring: Ring,
    private readonly hash: (bytes: Uint8Array, length: number) => number,
    private readonly hashString: ((text: string) => number) | undefined,
  ) {}

  select(key: string | Uint8Array): RingWalk {
    const ring = this.ring;
    if (typeof key === 'string' && this.hashString !== undefined) return ring.walk(ring.find(this.hashString(key)));
    const k = keyBytes(key, invalidKey);
    return ring.walk(ring.find(this.hash(k.bytes, k.length)));
  }
}

function crc32Of(bytes: Uint8Array, length: number): number {
  return crc32Final(crc32Update(CRC32_INIT, bytes, 0, length));
}

/**
 * Consistent hashing on a ring: the key's hash picks the first point at or after it
 * (wrapping), and fallbacks walk the ring clockwise.
 *
 * - `'nginx'` (default) equals nginx `hash $key consistent` and Pingora `Consistent`
 *   point for point: the key is hashed with CRC-32 over its bytes (a string as UTF-8).
 * - `'ketama'` is the `hashring` package's MD5 continuum: the first pick equals
 *   `new HashRing({ [id]: { weight } }).get(key)`, the distinct backends of the walk
 *   equal its `range(key)`. `hashring` gives a backend `floor(4 × vnodes × n × w / W)`
 *   points, so a backend of tiny relative weight can get none and is never picked.
 *
 * Contract: the walk yields one item per ring point, one full turn, then is done;
 * it repeats backends (dedupe with `candidates()`). The picks depend only on the set
 * of backends, not their order (ties between equal points go to the backend first in
 * Pingora order), so many proxies agree with no coordination. No backends: an
 * exhausted iterator. Throws `LB_ERR_INVALID_OPTION` on bad options, backends or keys.
 *
 * Cost for n backends of total weight W, P = pointsPerWeight: build O(n log n + P·W)
 * (points sorted by radix); memory 6·P·W bytes (Uint32 points + Uint16 owners) plus a
 * bucket index of at most 256 KiB, e.g. 1.17 MiB for 1,000 backends of weight 1; pick:
 * one hash over the key + a scan of one bucket (2–4 points on average).
 */
export const consistentHash: SelectorFactory<ConsistentHashOptions> = (backends, options) => {
  const resolved = resolveOptions('consistentHash', CONSISTENT_HASH_DEFAULTS, options, validate);
  checkBackends('consistentHash', backends);
  if (backends.length === 0) return { select: () => emptyIterator() };
  const sorted = pingoraOrder(backends);
  if (resolved.algorithm === 'ketama') {
    return new ConsistentHashSelector(ketamaRing(sorted, resolved.pointsPerWeight / 4), md5FirstWord, undefined);
  }
  const points = totalWeight(sorted) * resolved.pointsPerWeight;
  if (points > MAX_RING_POINTS) {
    invalidOption('consistentHash total weight × pointsPerWeight', `at most ${MAX_RING_POINTS} ring points`, points);
  }
  const ring = nginxRing(sorted, resolved.pointsPerWeight, resolved.ipv6HashFormat === 'nginx');
  return new ConsistentHashSelector(ring, crc32Of, crc32String);
};
