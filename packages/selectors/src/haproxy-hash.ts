import { type Backend, invalidOption, resolveOptions, type Selector } from '@switchyard/core';
import { checkBackends } from './internal/backends.js';
import { HaproxyRingWalk, haproxyRing } from './internal/haproxy-chash.js';
import { fullHash, HAPROXY_HASH_FUNCTIONS } from './internal/haproxy-hashes.js';
import { buildMap, HaproxyMapWalk, mapWeights } from './internal/haproxy-map.js';
import {
  checkHaproxyWeights,
  type HaproxyHashKey,
  haproxyIds,
  nodeBase,
  sourceWord,
} from './internal/haproxy-servers.js';
import { keyBytes } from './internal/utf8.js';

export { HAPROXY_MAX_SERVER_ID, HAPROXY_MAX_WEIGHT, type HaproxyHashKey } from './internal/haproxy-servers.js';

/** HAProxy's `hash-type` method. */
export type HaproxyHashType = 'consistent' | 'map-based';
/** HAProxy's `hash-type` function. */
export type HaproxyHashFunction = 'sdbm' | 'djb2' | 'wt6' | 'crc32';
/** What the key is: the bytes of a sample (`balance hdr()`, `url_param`, `uri`, `hash`) or a client address (`balance source`). */
export type HaproxyBalance = 'sample' | 'source';

/** Options of {@link haproxyHash}. */
export interface HaproxyHashOptions {
  /**
   * `'map-based'`: `hash % total weight` over HAProxy's weight-expanded server map.
   * `'consistent'`: HAProxy's consistent-hash tree (16 nodes per unit of weight).
   * @defaultValue `'map-based'` (HAProxy's default `hash-type`)
   */
  readonly hashType: HaproxyHashType;
  /** The key hash function. @defaultValue `'sdbm'` (HAProxy's default) */
  readonly hashFunction: HaproxyHashFunction;
  /** Pass the key hash through HAProxy's `full_hash` avalanche (`hash-type … avalanche`). @defaultValue false */
  readonly avalanche: boolean;
  /**
   * `'sample'`: the key's bytes are hashed with `hashFunction` (`balance hdr(name)`,
   * `url_param`, `uri`, `hash <expr>`). `'source'`: the key is a client IP address,
   * hashed as `balance source` does (its 32-bit words, not `hashFunction`).
   * @defaultValue `'sample'`
   */
  readonly balance: HaproxyBalance;
  /**
   * Where a server's ring nodes come from (consistent only). `'id'`: its numeric id,
   * as in HAProxy 2.x. `'addr'` / `'addr-port'`: HAProxy 3.0's `hash-key` setting,
   * built from HAProxy's source (not checked against a live HAProxy here).
   * @defaultValue `'id'`
   */
  readonly hashKey: HaproxyHashKey;
}

/** Defaults of {@link haproxyHash}: HAProxy's own defaults. */
export const HAPROXY_HASH_DEFAULTS: Readonly<HaproxyHashOptions> = Object.freeze({
  hashType: 'map-based',
  hashFunction: 'sdbm',
  avalanche: false,
  balance: 'sample',
  hashKey: 'id',
});

function validate(o: Readonly<HaproxyHashOptions>): void {
  if (o.hashType !== 'consistent' && o.hashType !== 'map-based') {
    invalidOption('haproxyHash hashType', '"consistent" or "map-based"', o.hashType);
  }
  if (!Object.hasOwn(HAPROXY_HASH_FUNCTIONS, o.hashFunction)) {
    invalidOption('haproxyHash hashFunction', '"sdbm", "djb2", "wt6" or "crc32"', o.hashFunction);
  }
  if (typeof o.avalanche !== 'boolean') invalidOption('haproxyHash avalanche', 'a boolean', o.avalanche);
  if (o.balance !== 'sample' && o.balance !== 'source') {
    invalidOption('haproxyHash balance', '"sample" or "source"', o.balance);
  }
  if (o.hashKey !== 'id' && o.hashKey !== 'addr' && o.hashKey !== 'addr-port') {
    invalidOption('haproxyHash hashKey', '"id", "addr" or "addr-port"', o.hashKey);
  }
}

/** A built HAProxy selector; `keyHash` and `selectHash` expose the 32-bit value HAProxy looks up. */
export interface HaproxySelector extends Selector {
  select(key: string | Uint8Array): IterableIterator<Backend>;
  /** The 32-bit hash HAProxy computes for `key` (after `avalanche`, if set). */
  keyHash(key: string | Uint8Array): number;
  /** The picks for an already computed 32-bit hash, in HAProxy's fallback order. */
  selectHash(hash: number): IterableIterator<Backend>;
  /** Map-based only: the map rebuilt without the servers in `out`, as HAProxy rebuilds it when they go down. */
  without?(out: ReadonlySet<string>): HaproxySelector;
}

const NO_BACKENDS: readonly Backend[] = Object.freeze([]);

const invalidKey = (got: unknown): never => invalidOption('haproxyHash key', 'a string or Uint8Array', got);

/**
 * HAProxy 2.6's hash-based balancing, answer for answer: for any server list,
 * weights 1–256 and key bytes, the first pick is the server HAProxy picks, and each
 * further pick is the one HAProxy picks once the earlier ones are marked down.
 *
 * - `'map-based'` (default): weights divided by their greatest common divisor, the
 *   servers interleaved into a map of total-weight entries in HAProxy's order, and
 *   entry `hash % total` picked; a server down rebuilds the map without it (`without()`,
 *   which the balancer calls as readiness changes, so every key moves as in HAProxy).
 * - `'consistent'`: server `id` owns `16 × weight` nodes at `full_hash(id × 4096 + j)`;
 *   the key goes to the closest node (the lower one on a tie).
 *
 * Order matters, as in HAProxy: the map interleaves servers in list order, and a
 * server without `meta.haproxyId` is numbered by its position (first free id,
 * counting from 1), so reordering or inserting servers moves keys unless every
 * backend carries a fixed `meta.haproxyId` (HAProxy's `id` setting, 1–1048575).
 * String keys are hashed as UTF-8; pass a `Uint8Array` for other byte sequences.
 *
 * Cost: build O(16 × total weight) for consistent (sorted by radix), O(total
 * weight × servers) for map-based; first pick O(key length); a fallback walks the
 * ring (consistent) or replays the map schedule (map-based, O(total weight × servers)).
 * Throws `LB_ERR_INVALID_OPTION` on bad options, weights above 256, bad or duplicate
 * ids, and on keys that are not strings or bytes (or not IP addresses under `'source'`).
 */
export function haproxyHash(backends: readonly Backend[], options?: Partial<HaproxyHashOptions>): HaproxySelector {
  const o = resolveOptions('haproxyHash', HAPROXY_HASH_DEFAULTS, options, validate);
  checkBackends('haproxyHash', backends);
  checkHaproxyWeights('haproxyHash', backends);
  const ids = haproxyIds('haproxyHash', backends);
  const list = [...backends];
  const fn = HAPROXY_HASH_FUNCTIONS[o.hashFunction];
  const keyHash = (key: string | Uint8Array): number => {
    let h: number;
    if (o.balance === 'source') {
      if (typeof key !== 'string') invalidOption('haproxyHash key (balance source)', 'an IP address string', key);
      h = sourceWord('haproxyHash', key);
    } else {
      const bytes = keyBytes(key, invalidKey);
      h = fn(bytes.bytes, bytes.length);
    }
    return o.avalanche ? fullHash(h) : h;
  };
  const empty = (): IterableIterator<Backend> => NO_BACKENDS[Symbol.iterator]();
  if (list.length === 0) return { select: empty, keyHash, selectHash: empty };
  if (o.hashType === 'consistent') {
    const bases = Uint32Array.from(list, (b, i) => nodeBase(b, ids[i]!, o.hashKey));
    const ring = haproxyRing(list, bases);
    const selectHash = (hash: number) => new HaproxyRingWalk(ring, hash >>> 0);
    return { select: (key) => selectHash(keyHash(key)), keyHash, selectHash };
  }
  const weights = mapWeights(list);
  // HAProxy rebuilds the map over the servers still up (same ids, same weight divisor), so a
  // server going down moves every key and the survivors keep shares by weight.
  const mapSelector = (down: Uint8Array | undefined, downCount: number): HaproxySelector => {
    const map = buildMap(weights, down);
    const selectHash =
      map.length === 0 ? empty : (hash: number) => new HaproxyMapWalk(list, weights, map, hash >>> 0, down, downCount);
    return {
      select: (key) => selectHash(keyHash(key)),
      keyHash,
      selectHash,
      without(out) {
        const next = new Uint8Array(list.length);
        let count = 0;
        for (let i = 0; i < list.length; i++) {
          if (out.has(list[i]!.id)) {
            next[i] = 1;
            count++;
          }
        }
        return count === 0 ? mapSelector(undefined, 0) : mapSelector(next, count);
      },
    };
  };
  return mapSelector(undefined, 0);
}
