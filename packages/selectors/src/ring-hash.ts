import { type Backend, checkInteger, invalidOption, resolveOptions, type Selector } from '@switchyard/core';
import { checkBackends } from './internal/backends.js';
import { checkBoolean, envoyHostKey, normalizedWeights } from './internal/envoy-hosts.js';
import { murmur2x64 } from './internal/murmur2-64.js';
import { DONE } from './internal/ring.js';
import { keyBytes } from './internal/utf8.js';
import { high32, isUint64, low32, xxh64 } from './internal/xxhash.js';

/** Options of {@link ringHash}: Envoy's `RingHash` load balancer settings. */
export interface RingHashOptions {
  /** Envoy's `minimum_ring_size`. @defaultValue 1024 */
  readonly minimumRingSize: number;
  /** Envoy's `maximum_ring_size`. @defaultValue 8388608 (8M) */
  readonly maximumRingSize: number;
  /** How host keys are hashed onto the ring (`XX_HASH` or `MURMUR_HASH_2`). @defaultValue `'xxhash'` */
  readonly hashFunction: 'xxhash' | 'murmur2';
  /** Envoy's `use_hostname_for_hashing`: ring keys from `meta.hostname ?? host` instead of the address. @defaultValue false */
  readonly useHostnameForHashing: boolean;
}

/** Defaults of {@link ringHash}: Envoy's. */
export const RING_HASH_DEFAULTS: Readonly<RingHashOptions> = Object.freeze({
  minimumRingSize: 1024,
  maximumRingSize: 8_388_608,
  hashFunction: 'xxhash',
  useHostnameForHashing: false,
});

/** Largest ring accepted: Envoy's own default maximum, 8M entries (64 MiB of positions). */
export const RING_HASH_MAX_SIZE = 8_388_608;

function validate(o: Readonly<RingHashOptions>): void {
  checkInteger('ringHash minimumRingSize', o.minimumRingSize, 1, RING_HASH_MAX_SIZE);
  checkInteger('ringHash maximumRingSize', o.maximumRingSize, 1, RING_HASH_MAX_SIZE);
  if (o.minimumRingSize > o.maximumRingSize) {
    invalidOption('ringHash minimumRingSize', `at most maximumRingSize (${o.maximumRingSize})`, o.minimumRingSize);
  }
  if (o.hashFunction !== 'xxhash' && o.hashFunction !== 'murmur2') {
    invalidOption('ringHash hashFunction', '"xxhash" or "murmur2"', o.hashFunction);
  }
  checkBoolean('ringHash useHostnameForHashing', o.useHostnameForHashing);
}

/** A built Envoy ring; `selectHash` takes a request hash computed elsewhere (for example by an Envoy hash policy). */
export interface RingHashSelector extends Selector {
  select(key: string | Uint8Array): IterableIterator<Backend>;
  /** The picks for a 64-bit request hash: Envoy's attempt 0, 1, 2, … */
  selectHash(hash: bigint): IterableIterator<Backend>;
  /** How many ring entries each backend owns, in the order given. */
  ringEntries(): readonly number[];
}

/** The ring's entry for attempt i is the entry `start + i` (wrapping), as Envoy's retries walk it. */
class RingHashWalk implements IterableIterator<Backend> {
  private step = 0;
  constructor(
    private readonly backends: readonly Backend[],
    private readonly owners: Uint32Array,
    private readonly start: number,
  ) {}
  next(): IteratorResult<Backend, undefined> {
    const n = this.owners.length;
    if (this.step >= n) return DONE;
    const i = (this.start + this.step++) % n;
    return { done: false, value: this.backends[this.owners[i]!]! };
  }
  [Symbol.iterator](): RingHashWalk {
    return this;
  }
}

const NO_BACKENDS: readonly Backend[] = Object.freeze([]);
const invalidKey = (got: unknown): never => invalidOption('ringHash key', 'a string or Uint8Array', got);

/**
 * Envoy's `ring_hash` load balancer. The ring holds ⌈scale⌉ entries, scale =
 * min(⌈w_min × minimumRingSize⌉ / w_min, maximumRingSize) for normalised weights w;
 * hosts take entries in list order with running sums, entry i of a host at
 * xxHash64 (or MurmurHash2-64) of `"<host key>_<i>"`. A request hash picks the first
 * entry at or above it (wrapping); attempt i takes the entry i places further on,
 * so the walk may repeat hosts (dedupe with `candidates()`) and ends after one turn.
 * `select(key)` hashes the key's bytes with xxHash64, as Envoy's header, cookie and
 * query-parameter hash policies do for one value.
 *
 * Fractional entry counts make the ring depend on host order, as in Envoy. A host
 * key defaults to the `id` (`host:port`): write IPv6 hosts as Envoy prints them.
 * Throws `LB_ERR_INVALID_OPTION` on bad options or keys.
 */
export function ringHash(backends: readonly Backend[], options?: Partial<RingHashOptions>): RingHashSelector {
  const o = resolveOptions('ringHash', RING_HASH_DEFAULTS, options, validate);
  checkBackends('ringHash', backends);
  const list = [...backends];
  if (list.length === 0) {
    return {
      select: () => NO_BACKENDS[Symbol.iterator](),
      selectHash: () => NO_BACKENDS[Symbol.iterator](),
      ringEntries: () => [],
    };
  }
  const weights = normalizedWeights('ringHash', list);
  let minWeight = 1;
  for (const w of weights) minWeight = Math.min(minWeight, w);
  const scale = Math.min(Math.ceil(minWeight * o.minimumRingSize) / minWeight, o.maximumRingSize);
  const size = Math.ceil(scale);
  const positions = new BigUint64Array(size);
  const owner = new Uint32Array(size);
  const counts = new Array<number>(list.length).fill(0);
  const utf8 = new TextEncoder();
  let current = 0;
  let target = 0;
  let n = 0;
  for (let h = 0; h < list.length; h++) {
    const prefix = `${envoyHostKey(list[h]!, o.useHostnameForHashing)}_`;
    target += scale * weights[h]!;
    for (let i = 0; current < target; i++, current++) {
      const bytes = utf8.encode(`${prefix}${i}`);
      positions[n] = o.hashFunction === 'murmur2' ? murmur2x64(bytes) : xxh64(bytes);
      owner[n++] = h;
      counts[h]!++;
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
    positions[a]! < positions[b]! ? -1 : positions[a]! > positions[b]! ? 1 : 0,
  );
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const owners = new Uint32Array(n);
  order.forEach((from, to) => {
    hi[to] = high32(positions[from]!);
    lo[to] = low32(positions[from]!);
    owners[to] = owner[from]!;
  });
  /** Index of the first entry ≥ (h, l), 0 when every entry is below (Envoy's ketama search). */
  const find = (h: number, l: number): number => {
    let low = 0;
    let high = n;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (hi[mid]! < h || (hi[mid] === h && lo[mid]! < l)) low = mid + 1;
      else high = mid;
    }
    return low === n ? 0 : low;
  };
  const selectHash = (hash: bigint): IterableIterator<Backend> => {
    if (!isUint64(hash)) invalidOption('ringHash hash', 'a bigint from 0 to 2^64 - 1', hash);
    return new RingHashWalk(list, owners, find(high32(hash), low32(hash)));
  };
  return {
    select: (key) => {
      const k = keyBytes(key, invalidKey);
      return selectHash(xxh64(k.bytes.subarray(0, k.length)));
    },
    selectHash,
    ringEntries: () => counts,
  };
}
