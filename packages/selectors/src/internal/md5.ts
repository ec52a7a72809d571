/**
 * The first 32 bits of an MD5 digest (RFC 1321), read little-endian: exactly the
 * number `hashring` derives from a key (`digest[3] << 24 | … | digest[0]`).
 *
 * Written for short keys: no allocation beyond a reused padding buffer, and the
 * 64 steps unrolled into four loops so V8 keeps everything in registers.
 */

// Per-step additive constants: floor(|sin(i + 1)| * 2^32).
const K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
// Per-step left-rotation amounts, four per round.
const S = Uint8Array.from([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);

const words = new Int32Array(16);
let padded = new Uint8Array(128);

/** MD5 of `bytes[0, length)`, first digest word as an unsigned little-endian 32-bit number. */
export function md5FirstWord(bytes: Uint8Array, length: number): number {
  // Message, 0x80, zeros, then the bit length as 64-bit little-endian, to a multiple of 64 bytes.
  const total = (((length + 8) >>> 6) + 1) << 6;
  if (padded.length < total) padded = new Uint8Array(total * 2);
  const p = padded;
  p.set(length === bytes.length ? bytes : bytes.subarray(0, length));
  p[length] = 0x80;
  p.fill(0, length + 1, total);
  const bits = length * 8;
  p[total - 8] = bits & 0xff;
  p[total - 7] = (bits >>> 8) & 0xff;
  p[total - 6] = (bits >>> 16) & 0xff;
  p[total - 5] = (bits >>> 24) & 0xff;
  const high = Math.floor(bits / 2 ** 32);
  p[total - 4] = high & 0xff;
  p[total - 3] = (high >>> 8) & 0xff;
  p[total - 2] = (high >>> 16) & 0xff;
  p[total - 1] = (high >>> 24) & 0xff;

  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  const w = words;
  for (let off = 0; off < total; off += 64) {
    for (let j = 0; j < 16; j++) {
      const o = off + j * 4;
      w[j] = p[o]! | (p[o + 1]! << 8) | (p[o + 2]! << 16) | (p[o + 3]! << 24);
    }
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 16; i++) {
      const f = (a + ((b & c) | (~b & d)) + K[i]! + w[i]!) | 0;
      const s = S[i & 3]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((f << s) | (f >>> (32 - s)))) | 0;
    }
    for (let i = 16; i < 32; i++) {
      const f = (a + ((d & b) | (~d & c)) + K[i]! + w[(5 * i + 1) & 15]!) | 0;
      const s = S[4 + (i & 3)]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((f << s) | (f >>> (32 - s)))) | 0;
    }
    for (let i = 32; i < 48; i++) {
      const f = (a + (b ^ c ^ d) + K[i]! + w[(3 * i + 5) & 15]!) | 0;
      const s = S[8 + (i & 3)]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((f << s) | (f >>> (32 - s)))) | 0;
    }
    for (let i = 48; i < 64; i++) {
      const f = (a + (c ^ (b | ~d)) + K[i]! + w[(7 * i) & 15]!) | 0;
      const s = S[12 + (i & 3)]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((f << s) | (f >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  return a0 >>> 0;
}
