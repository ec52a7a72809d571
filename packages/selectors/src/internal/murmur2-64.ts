/**
 * The 64-bit MurmurHash2 variant of libstdc++'s `_Hash_bytes` (what `std::hash<string>`
 * computes on 64-bit Linux), which Envoy's ring hash offers as `MURMUR_HASH_2` with
 * seed 0xc70f6907. Only ring building uses it, so plain bigint arithmetic is enough.
 */

const MUL = 0xc6a4a7935bd1e995n;
const MASK_64 = 0xffffffffffffffffn;

/** Envoy's `MurmurHash::STD_HASH_SEED`. */
export const STD_HASH_SEED = 0xc70f6907n;

function shiftMix(v: bigint): bigint {
  return v ^ (v >> 47n);
}

/** The little-endian 64-bit word of `bytes` at `offset` (8 bytes, or fewer at the tail). */
function loadLe(bytes: Uint8Array, offset: number, count: number): bigint {
  let word = 0n;
  for (let i = count - 1; i >= 0; i--) word = (word << 8n) | BigInt(bytes[offset + i]!);
  return word;
}

/** MurmurHash2-64 (libstdc++ flavour) of `bytes` with `seed`, as an unsigned 64-bit bigint. */
export function murmur2x64(bytes: Uint8Array, seed: bigint = STD_HASH_SEED): bigint {
  const length = bytes.length;
  const aligned = length & ~7;
  let hash = (seed ^ ((BigInt(length) * MUL) & MASK_64)) & MASK_64;
  for (let p = 0; p < aligned; p += 8) {
    const data = (shiftMix((loadLe(bytes, p, 8) * MUL) & MASK_64) * MUL) & MASK_64;
    hash = ((hash ^ data) * MUL) & MASK_64;
  }
  if ((length & 7) !== 0) {
    hash = ((hash ^ loadLe(bytes, aligned, length & 7)) * MUL) & MASK_64;
  }
  hash = (shiftMix(hash) * MUL) & MASK_64;
  return shiftMix(hash);
}
