import { type Backend, emptyIterator, invalidOption, LbError, resolveOptions, type Selector } from '@switchyard/core';
import { checkBackends } from './internal/backends.js';
import { checkBoolean } from './internal/envoy-hosts.js';
import { murmur3, murmur3Ascii } from './internal/murmur3.js';
import { keyBytes } from './internal/utf8.js';
import { type EnvoyMaglevSelector, envoyMaglev } from './maglev-envoy.js';

/** Options for {@link maglev}. */
export interface MaglevOptions {
  /**
   * Lookup table size M: a prime, at least 100 × the number of backends (then
   * every backend owns ⌊M/N⌋ or ⌈M/N⌉ entries, within 1% of each other — Maglev
   * paper §3.4), at most 5,000,011 (Envoy's limit). 65,537 (Envoy's default)
   * serves up to 655 backends; for 1,000 backends use 100,003.
   * @defaultValue 65537
   */
  readonly tableSize: number;
  /**
   * `'paper'`: this package's paper-faithful table (MurmurHash3, fallbacks each backend once).
   * `'envoy'`: Envoy's Maglev exactly (xxHash64 of host keys, its weighting, its retry
   * walk); there `tableSize` need only be a prime ≥ the number of backends, as in Envoy.
   * @defaultValue `'paper'`
   */
  readonly variant: 'paper' | 'envoy';
  /** `'envoy'` only: Envoy's `use_hostname_for_hashing` (keys from `meta.hostname ?? host`). @defaultValue false */
  readonly useHostnameForHashing: boolean;
}

/** Defaults for {@link MaglevOptions}. */
export const MAGLEV_DEFAULTS: Readonly<MaglevOptions> = Object.freeze({
  tableSize: 65_537,
  variant: 'paper',
  useHostnameForHashing: false,
});

/** Envoy's upper bound on the table size. */
export const MAGLEV_MAX_TABLE_SIZE = 5_000_011;

/** How many table entries each backend must have on average, at least (Maglev paper §3.4). */
const ENTRIES_PER_BACKEND = 100;

// Independent seeds for the key hash, a backend's offset, a backend's skip and the
// key's fallback stride.
const SEED_KEY = 0;
const SEED_OFFSET = 0x9e3779b9;
const SEED_SKIP = 0x85ebca6b;
const SEED_STRIDE = 0xc2b2ae35;

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** The smallest prime ≥ `n`, for error messages that say what would work. */
export function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n));
  while (!isPrime(p)) p++;
  return p;
}

function validate(options: Readonly<MaglevOptions>, backendCount: number): void {
  const m = options.tableSize;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 2 || m > MAGLEV_MAX_TABLE_SIZE || !isPrime(m)) {
    invalidOption('maglev tableSize', `a prime from 2 to ${MAGLEV_MAX_TABLE_SIZE} (e.g. 65537, 100003, 655373)`, m);
  }
  if (options.variant !== 'paper' && options.variant !== 'envoy') {
    invalidOption('maglev variant', '"paper" or "envoy"', options.variant);
  }
  checkBoolean('maglev useHostnameForHashing', options.useHostnameForHashing);
  if (options.variant === 'envoy') {
    if (m < backendCount) invalidOption('maglev tableSize (envoy)', `a prime >= ${backendCount} backends`, m);
    return;
  }
  if (m < ENTRIES_PER_BACKEND * backendCount) {
    throw new LbError(
      'LB_ERR_INVALID_OPTION',
      `maglev tableSize: expected a prime >= ${ENTRIES_PER_BACKEND} x ${backendCount} backends ` +
        `(the smallest is ${nextPrime(ENTRIES_PER_BACKEND * backendCount)}), got ${m}`,
    );
  }
}

/**
 * Fills the lookup table (Maglev paper §3.4, "Populate"): every backend walks its
 * own permutation of the slots, `offset + j × skip (mod M)`, and in turn claims the
 * next slot still empty. Weights: a backend takes a turn in a round only once its
 * accumulated weight reaches the largest weight, so weight w claims w/max as often
 * (Envoy's weighted Maglev). M prime makes every permutation visit every slot.
 */
function populate(backends: readonly Backend[], m: number): Uint16Array {
  const n = backends.length;
  const table = new Uint16Array(m).fill(n);
  // Int32 arithmetic throughout: slot + skip < 2M <= 10,000,022 fits, and a compare-
  // and-subtract replaces the floating-point modulo (the build's hot loop).
  const position = new Int32Array(n);
  const skip = new Int32Array(n);
  const weight = new Int32Array(n);
  const credit = new Float64Array(n);
  const utf8 = new TextEncoder();
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    const b = backends[i]!;
    const id = utf8.encode(b.id);
    position[i] = murmur3(id, id.length, SEED_OFFSET) % m;
    skip[i] = (murmur3(id, id.length, SEED_SKIP) % (m - 1)) + 1;
    weight[i] = b.weight;
    maxWeight = Math.max(maxWeight, b.weight);
  }
  let filled = 0;
  while (filled < m) {
    for (let i = 0; i < n && filled < m; i++) {
      credit[i]! += weight[i]!;
      if (credit[i]! < maxWeight) continue;
      credit[i]! -= maxWeight;
      const step = skip[i]!;
      let slot = position[i]!;
      while (table[slot] !== n) {
        slot += step;
        if (slot >= m) slot -= m;
      }
      table[slot] = i;
      slot += step;
      position[i] = slot >= m ? slot - m : slot;
      filled++;
    }
  }
  return table;
}

const invalidKey = (got: unknown): never => invalidOption('maglev key', 'a string or Uint8Array', got);

/** MurmurHash3 of a key's UTF-8 bytes, reading ASCII strings without copying them. */
function hashKey(key: string | Uint8Array, seed: number): number {
  if (typeof key === 'string') {
    const h = murmur3Ascii(key, seed);
    if (h >= 0) return h;
  }
  const bytes = keyBytes(key, invalidKey);
  return murmur3(bytes.bytes, bytes.length, seed);
}

/** State of a fallback walk, made on the second pull only. */
interface Walk {
  slot: number;
  stride: number;
  steps: number;
  seen: Uint8Array;
  yielded: number;
  leftover: number;
}

/**
 * The key's slot first; then the fallback walk over the table with a per-key
 * stride, yielding each backend once.
 */
class MaglevIterator implements IterableIterator<Backend> {
  // Few plain fields keep construction cheap on the pick path; the walk is lazy.
  private walk: Walk | undefined = undefined;
  private started = false;

  constructor(
    private readonly backends: readonly Backend[],
    private readonly table: Uint16Array,
    private readonly slot: number,
    private readonly key: string | Uint8Array,
  ) {}

  next(): IteratorResult<Backend> {
    const backends = this.backends;
    const table = this.table;
    if (!this.started) {
      this.started = true;
      return { done: false, value: backends[table[this.slot]!]! };
    }
    const n = backends.length;
    const m = table.length;
    let walk = this.walk;
    if (walk === undefined) {
      const seen = new Uint8Array(n);
      seen[table[this.slot]!] = 1;
      // Only failover needs the stride, so the key is hashed again only here.
      const stride = (hashKey(this.key, SEED_STRIDE) % (m - 1)) + 1;
      walk = { slot: (this.slot + stride) % m, stride, steps: 1, seen, yielded: 1, leftover: 0 };
      this.walk = walk;
    }
    const seen = walk.seen;
    if (walk.yielded >= n) return { done: true, value: undefined };
    // M steps of a stride coprime to M (M is prime) visit every slot once.
    while (walk.steps < m) {
      const i = table[walk.slot]!;
      walk.slot = (walk.slot + walk.stride) % m;
      walk.steps++;
      if (seen[i] === 0) {
        seen[i] = 1;
        walk.yielded++;
        return { done: false, value: backends[i]! };
      }
    }
    // Only backends whose weight was too small to own a slot are left.
    while (walk.leftover < n) {
      const i = walk.leftover++;
      if (seen[i] === 0) {
        seen[i] = 1;
        walk.yielded++;
        return { done: false, value: backends[i]! };
      }
    }
    return { done: true, value: undefined };
  }

  [Symbol.iterator](): MaglevIterator {
    return this;
  }
}

/** A built Maglev selector; `entries()` exposes the exact table shares for tests and `switchyard simulate`. */
export interface MaglevSelector extends Selector {
  /** Table entries owned by each backend, in the order given; they sum to `tableSize`. */
  entries(): readonly number[];
}

/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4): a lookup table of
 * M slots filled from per-backend permutations; a key goes to `table[h(key) mod M]`
 * with `h` = MurmurHash3 of the key's UTF-8 bytes. Every backend owns ⌊M/N⌋ or
 * ⌈M/N⌉ slots (equal weights), so shares are within 1% of each other; removing a
 * backend moves its keys plus a few more (Envoy: about twice a ring's movement).
 * The table depends only on the set of backends, not on their order (they are
 * sorted by id before the fill), so every process builds the same one.
 *
 * Fallbacks: the walk continues through the table from the key's slot with a
 * per-key stride (a second hash of the key, coprime to M), yielding each backend
 * the first time it is met, so a failed backend's keys spread over all the others
 * instead of piling onto one neighbour. The iterator ends after every backend was
 * yielded once. A `Uint8Array` key must not change while its iterator is in use.
 *
 * Cost: build O(M log M) expected time (about 4 ms for M = 100,003 and 1,000
 * backends on one core of the project's 2-core VM), 2 × M bytes (slot owners as
 * Uint16: a pool has at most 65,535 backends); pick O(1): one hash, one array
 * read, no allocation beyond the iterator.
 * `{ variant: 'envoy' }` builds Envoy's table instead (see `envoyMaglev`): keys hashed
 * with xxHash64, Envoy's retry walk for fallbacks, and `selectHash(hash)` for a
 * request hash from an Envoy hash policy.
 *
 * Throws `LB_ERR_INVALID_OPTION` when `tableSize` is not a prime, exceeds 5,000,011
 * or is below 100 × the number of backends (the message names the smallest prime that fits).
 */
export function maglev(
  backends: readonly Backend[],
  options: Partial<MaglevOptions> & { readonly variant: 'envoy' },
): EnvoyMaglevSelector;
export function maglev(backends: readonly Backend[], options?: Partial<MaglevOptions>): MaglevSelector;
export function maglev(backends: readonly Backend[], options?: Partial<MaglevOptions>): MaglevSelector {
  checkBackends('maglev', backends);
  const o = resolveOptions('maglev', MAGLEV_DEFAULTS, options, (v) => validate(v, backends.length));
  const m = o.tableSize;
  if (o.variant === 'envoy') return envoyMaglev(backends, m, o.useHostnameForHashing);
  const list = [...backends].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = list.length;
  const table = n === 0 ? new Uint16Array(0) : populate(list, m);
  return {
    select(key) {
      if (n === 0) return emptyIterator();
      const slot = hashKey(key, SEED_KEY) % m;
      return new MaglevIterator(list, table, slot, key);
    },
    entries() {
      const byId = new Map<string, number>();
      for (let s = 0; s < table.length; s++) {
        const id = list[table[s]!]!.id;
        byId.set(id, (byId.get(id) ?? 0) + 1);
      }
      return backends.map((b) => byId.get(b.id) ?? 0);
    },
  };
}
