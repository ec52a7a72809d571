/**
 * HAProxy's key hash functions (`hash-type … sdbm | djb2 | wt6 | crc32`) and its
 * integer avalanche `full_hash`, over 32-bit unsigned arithmetic as HAProxy's C
 * computes them. `crc32` is the IEEE CRC-32 that nginx uses too, so it reuses
 * the shared table-driven implementation.
 */

import { crc32 } from './crc32.js';

/** A HAProxy key hash: 32-bit unsigned result over `bytes[0, length)`. */
export type HaproxyHashFn = (bytes: Uint8Array, length: number) => number;

/** `hash_sdbm`: h = c + (h << 6) + (h << 16) − h, from 0 (HAProxy's default function). */
export function sdbm(bytes: Uint8Array, length: number): number {
  let h = 0;
  for (let i = 0; i < length; i++) {
    // The four terms stay below 2^49 in magnitude, exact in a double; >>> 0 wraps to 32 bits.
    h = (bytes[i]! + ((h << 6) >>> 0) + ((h << 16) >>> 0) - h) >>> 0;
  }
  return h;
}

/** `hash_djb2`: h = h × 33 + c, from 5381. */
export function djb2(bytes: Uint8Array, length: number): number {
  let h = 5381;
  for (let i = 0; i < length; i++) h = (((h << 5) >>> 0) + h + bytes[i]!) >>> 0;
  return h;
}

/** `hash_wt6`: Willy Tarreau's 6-step mixing hash with two data-driven rotations. */
export function wt6(bytes: Uint8Array, length: number): number {
  let h0 = 0xa53c965a;
  let h1 = 0x5ca6953a;
  let step0 = 6;
  let step1 = 18;
  for (let i = 0; i < length; i++) {
    const t = bytes[i]!;
    h0 = ~(h0 ^ t) >>> 0;
    h1 = ~((h1 + t) >>> 0) >>> 0;
    // A shift by 32 in C is undefined; HAProxy's steps are 6/18 or (t & 31) / (t >> 11),
    // and (x << 0) | (x >>> 32) is x in JS as on x86 (shift counts are taken mod 32).
    const rotated = ((h1 << step0) | (h1 >>> (32 - step0))) >>> 0;
    h1 = ((h0 << step1) | (h0 >>> (32 - step1))) >>> 0;
    h0 = rotated;
    const mix = ((h0 >>> 16) ^ h1) & 0xffff;
    step0 = mix & 0x1f;
    step1 = mix >>> 11;
  }
  return (h0 ^ h1) >>> 0;
}

/** `hash_crc32`: the IEEE CRC-32 of the bytes. */
export function crc32Haproxy(bytes: Uint8Array, length: number): number {
  return crc32(bytes, length);
}

/**
 * `full_hash`: one of Bob Jenkins' integer avalanche functions, then a multiply by
 * 3221225473 (a prime near 3/4 of 2^32) to spread values over the tree. HAProxy
 * applies it to ring node keys always and to request hashes under `avalanche`.
 */
export function fullHash(value: number): number {
  let a = value >>> 0;
  a = (a + 0x7ed55d16 + ((a << 12) >>> 0)) >>> 0;
  a = (a ^ 0xc761c23c ^ (a >>> 19)) >>> 0;
  a = (a + 0x165667b1 + ((a << 5) >>> 0)) >>> 0;
  a = (((a + 0xd3a2646c) >>> 0) ^ (a << 9)) >>> 0;
  a = (a + 0xfd7046c5 + ((a << 3) >>> 0)) >>> 0;
  a = (a ^ 0xb55a4f09 ^ (a >>> 16)) >>> 0;
  return Math.imul(a, 3221225473 | 0) >>> 0;
}

/** The key hash functions by their HAProxy names. */
export const HAPROXY_HASH_FUNCTIONS: Readonly<Record<'sdbm' | 'djb2' | 'wt6' | 'crc32', HaproxyHashFn>> = Object.freeze(
  { sdbm, djb2, wt6, crc32: crc32Haproxy },
);
