/**
 * IEEE CRC-32 (the zlib / nginx `ngx_crc32_long` polynomial), slicing-by-8.
 *
 * State is kept pre-inverted between calls so a base hash can be continued with
 * more bytes, which is how nginx derives consecutive ring points from one base.
 */

import { encodeUtf8 } from './utf8.js';

const POLYNOMIAL = 0xedb88320;

// Eight 256-entry tables in one array: table k at offset 256 * k. Table 0 is the
// classic byte-at-a-time table; table k advances a byte through k more zero bytes.
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLYNOMIAL ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[256 * (k - 1) + n]!;
      t[256 * k + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

/** The pre-inverted start state. */
export const CRC32_INIT = 0xffffffff;

/** Continues a pre-inverted CRC state over `bytes[start, end)`. */
export function crc32Update(state: number, bytes: Uint8Array, start: number, end: number): number {
  const t = TABLES;
  let crc = state;
  let i = start;
  for (; end - i >= 8; i += 8) {
    const lo = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

/** Continues a pre-inverted CRC state over the 4 little-endian bytes of `value`. */
export function crc32UpdateLe32(state: number, value: number): number {
  // Slicing-by-4: the four table lookups are independent, unlike four byte steps.
  const t = TABLES;
  const c = state ^ value;
  return t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
}

/** Turns a pre-inverted state into the final unsigned CRC-32. */
export function crc32Final(state: number): number {
  return ~state >>> 0;
}

/** CRC-32 of `bytes[0, length)`. */
export function crc32(bytes: Uint8Array, length = bytes.length): number {
  return crc32Final(crc32Update(CRC32_INIT, bytes, 0, length));
}

/**
 * CRC-32 of a string's UTF-8 bytes. ASCII strings (the usual URI, id or cookie) are
 * folded four characters at a time straight from the string, with no encoding pass;
 * anything else is encoded into the scratch buffer first.
 */
export function crc32String(text: string): number {
  const t = TABLES;
  const n = text.length;
  let crc = CRC32_INIT;
  let i = 0;
  for (; n - i >= 4; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) return crc32Final(crc32Encoded(text));
    const c = crc ^ (c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
    crc = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return crc32Final(crc32Encoded(text));
    crc = t[(crc ^ c) & 0xff]! ^ (crc >>> 8);
  }
  return crc32Final(crc);
}

function crc32Encoded(text: string): number {
  const encoded = encodeUtf8(text);
  return crc32Update(CRC32_INIT, encoded.bytes, 0, encoded.length);
}
