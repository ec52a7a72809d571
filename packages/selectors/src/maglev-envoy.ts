import { type Backend, invalidOption, type Selector } from '@switchyard/core';
import { envoyHostKey, normalizedWeights } from './internal/envoy-hosts.js';
import { DONE } from './internal/ring.js';
import { keyBytes } from './internal/utf8.js';
import { high32, isUint64, low32, mod64, xxh64 } from './internal/xxhash.js';

/** Envoy's Maglev selector: {@link EnvoyMaglevSelector.selectHash} takes a request hash computed elsewhere. */
export interface EnvoyMaglevSelector extends Selector {
  select(key: string | Uint8Array): IterableIterator<Backend>;
  /** The picks for a 64-bit request hash: Envoy's attempt 0, 1, 2, … */
  selectHash(hash: bigint): IterableIterator<Backend>;
  /** Table entries owned by each backend, in the order given; they sum to the table size. */
  entries(): readonly number[];
}

/**
 * Envoy's retry walk: attempt a reads `table[(hash XOR (2^64 − a)) mod M]` (attempt 0
 * the hash itself). It may repeat hosts and ends after 2^⌈log2 M⌉ attempts, by which
 * the complemented low bits have covered M consecutive values, so every slot.
 */
class EnvoyMaglevWalk implements IterableIterator<Backend> {
  private attempt = 0;
  constructor(
    private readonly backends: readonly Backend[],
    private readonly table: Uint32Array,
    private readonly high: number,
    private readonly low: number,
    private readonly limit: number,
  ) {}
  next(): IteratorResult<Backend, undefined> {
    const a = this.attempt++;
    if (a >= this.limit) return DONE;
    let high = this.high;
    let low = this.low;
    if (a > 0) {
      // 2^64 − a = NOT (a − 1): flip every bit of the hash and of a − 1's (it fits 32 bits).
      high = ~high >>> 0;
      low = (~low ^ (a - 1)) >>> 0;
    }
    return { done: false, value: this.backends[this.table[mod64(high, low, this.table.length)]!]! };
  }
  [Symbol.iterator](): EnvoyMaglevWalk {
    return this;
  }
}

const NO_BACKENDS: readonly Backend[] = Object.freeze([]);
const invalidKey = (got: unknown): never => invalidOption('maglev key', 'a string or Uint8Array', got);

/**
 * Envoy's Maglev table (`OriginalMaglevTable`): hosts sorted by their key's bytes;
 * offset = xxHash64(key) mod M, skip = xxHash64(key, seed 1) mod (M − 1) + 1; in
 * round r a host fills its next free permutation slot when r × w ≥ its target
 * (which then grows by the largest normalised weight), w = weight / total, all in
 * doubles as Envoy computes them. Host keys must be distinct.
 */
export function envoyMaglev(list: readonly Backend[], m: number, useHostname: boolean): EnvoyMaglevSelector {
  if (list.length === 0) {
    const none = (): IterableIterator<Backend> => NO_BACKENDS[Symbol.iterator]();
    return { select: none, selectHash: none, entries: () => [] };
  }
  const utf8 = new TextEncoder();
  const keyed = list.map((b, i) => ({ b, i, key: utf8.encode(envoyHostKey(b, useHostname)) }));
  keyed.sort((x, y) => Buffer.compare(x.key, y.key));
  for (let k = 1; k < keyed.length; k++) {
    if (Buffer.compare(keyed[k - 1]!.key, keyed[k]!.key) === 0) {
      invalidOption('maglev backends (envoy)', 'distinct host keys', Buffer.from(keyed[k]!.key).toString());
    }
  }
  const weights = normalizedWeights('maglev', list);
  let maxWeight = 0;
  for (const w of weights) maxWeight = Math.max(maxWeight, w);
  const n = keyed.length;
  const bigM = BigInt(m);
  const offset = keyed.map((k) => Number(xxh64(k.key) % bigM));
  const skip = keyed.map((k) => Number(xxh64(k.key, 1n) % (bigM - 1n)) + 1);
  const weight = keyed.map((k) => weights[k.i]!);
  const target = new Float64Array(n);
  const next = new Float64Array(n);
  const table = new Uint32Array(m).fill(0xffffffff);
  const counts = new Array<number>(list.length).fill(0);
  let filled = 0;
  // Terminates: every round the heaviest host fills a slot, and M slots exist.
  for (let round = 1; filled < m; round++) {
    for (let h = 0; h < n && filled < m; h++) {
      if (round * weight[h]! < target[h]!) continue;
      target[h]! += maxWeight;
      // offset + skip × next < 2^53 for M ≤ 5,000,011 and next ≤ M, so the modulo is exact.
      let slot = (offset[h]! + skip[h]! * next[h]!) % m;
      while (table[slot] !== 0xffffffff) {
        next[h]!++;
        slot = (offset[h]! + skip[h]! * next[h]!) % m;
      }
      table[slot] = keyed[h]!.i;
      next[h]!++;
      counts[keyed[h]!.i]!++;
      filled++;
    }
  }
  const limit = 2 ** Math.ceil(Math.log2(m));
  const selectHash = (hash: bigint): IterableIterator<Backend> => {
    if (!isUint64(hash)) invalidOption('maglev hash', 'a bigint from 0 to 2^64 - 1', hash);
    return new EnvoyMaglevWalk(list, table, high32(hash), low32(hash), limit);
  };
  return {
    select: (key) => {
      const k = keyBytes(key, invalidKey);
      return selectHash(xxh64(k.bytes.subarray(0, k.length)));
    },
    selectHash,
    entries: () => counts,
  };
}
