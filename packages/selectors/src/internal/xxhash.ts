/**
 * xxHash64 (and xxHash32 for HAProxy 3.0's IPv6 `hash-key`) from `@node-rs/xxhash`,
 * a maintained native binding of the reference C library, so no hand-written copy
 * of the algorithm lives here. Strings are hashed as their UTF-8 bytes.
 */

import { xxh32 as nativeXxh32, xxh64 as nativeXxh64 } from '@node-rs/xxhash';

const MASK_32 = 0xffffffffn;

/** xxHash64 of `input` (a string as UTF-8) with `seed`, as an unsigned 64-bit bigint. */
export function xxh64(input: string | Uint8Array, seed = 0n): bigint {
  return nativeXxh64(input, seed);
}

/** xxHash32 of `input` with `seed`, as an unsigned 32-bit number. */
export function xxh32(input: Uint8Array, seed: number): number {
  return nativeXxh32(input, seed >>> 0) >>> 0;
}

/** The high 32 bits of an unsigned 64-bit bigint. */
export function high32(value: bigint): number {
  return Number((value >> 32n) & MASK_32);
}

/** The low 32 bits of an unsigned 64-bit bigint. */
export function low32(value: bigint): number {
  return Number(value & MASK_32);
}

/** Checks that `value` is a bigint in [0, 2^64), for hashes given by callers. */
export function isUint64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= 0xffffffffffffffffn;
}

/** `(high × 2^32 + low) mod m` for m < 2^26 without leaving exact double arithmetic. */
export function mod64(high: number, low: number, m: number): number {
  // (2^32 mod m) < m and (high mod m) < m, so their product stays below 2^52.
  const shifted = ((high % m) * (4294967296 % m)) % m;
  return (shifted + (low % m)) % m;
}
