/**
 * MurmurHash3 x86 32-bit (Austin Appleby's public-domain design) over a byte
 * range. Used where a selector needs several independent, well-mixed 32-bit
 * hashes of the same input (Maglev's offset and skip), which CRC-32 is not.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Scrambles one 32-bit block (or the tail) before it enters the state. */
function scramble(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

/** Mixes one full 4-byte block into the state `h`. */
function mixBlock(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The final avalanche over the state and the input length, as an unsigned integer. */
function finalize(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The 32-bit MurmurHash3 of `bytes[0, length)` with `seed`, as an unsigned integer. */
export function murmur3(bytes: Uint8Array, length: number, seed: number): number {
  let h = seed >>> 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = bytes[blocks]!;
    if (tail > 1) k ^= bytes[blocks + 1]! << 8;
    if (tail > 2) k ^= bytes[blocks + 2]! << 16;
    h ^= scramble(k);
  }
  return finalize(h, length);
}

/**
 * {@link murmur3} of an ASCII string's bytes, read straight from its char codes
 * (no UTF-8 copy); −1 when the string has a char ≥ 0x80, so the caller encodes it.
 */
export function murmur3Ascii(text: string, seed: number): number {
  const length = text.length;
  let h = seed >>> 0;
  const blocks = length & ~3;
  let high = 0;
  for (let i = 0; i < blocks; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    high |= c0 | c1 | c2 | c3;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = text.charCodeAt(blocks);
    high |= k;
    if (tail > 1) {
      const c = text.charCodeAt(blocks + 1);
      high |= c;
      k ^= c << 8;
    }
    if (tail > 2) {
      const c = text.charCodeAt(blocks + 2);
      high |= c;
      k ^= c << 16;
    }
    h ^= scramble(k);
  }
  if (high >= 0x80) return -1;
  return finalize(h, length);
}
