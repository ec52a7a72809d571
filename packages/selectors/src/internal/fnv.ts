/**
 * 64-bit FNV-1a (the `fnv` crate's `FnvHasher`, Pingora's `FNVHash`) in four 16-bit
 * limbs, so it runs on plain numbers instead of BigInt.
 *
 * Offset basis 0xcbf29ce484222325; prime 0x100000001b3 = 2^40 + 0x1b3, so multiplying
 * is `h × 0x1b3 + (h << 40)`, done limb by limb with carries.
 */
export class Fnv64 {
  // Little-endian 16-bit limbs of the current hash.
  h0 = 0;
  h1 = 0;
  h2 = 0;
  h3 = 0;

  /** Resets to the offset basis. */
  reset(): this {
    this.h0 = 0x2325;
    this.h1 = 0x8422;
    this.h2 = 0x9ce4;
    this.h3 = 0xcbf2;
    return this;
  }

  /** Folds in one byte: xor, then multiply by the prime (mod 2^64). */
  byte(b: number): void {
    const h0 = this.h0 ^ b;
    const h1 = this.h1;
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = this.h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    this.h3 = (this.h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16)) & 0xffff;
    this.h2 = t2 & 0xffff;
    this.h1 = t1 & 0xffff;
    this.h0 = t0 & 0xffff;
  }

  /** Folds in `bytes[0, length)`. */
  bytes(bytes: Uint8Array, length: number): this {
    for (let i = 0; i < length; i++) this.byte(bytes[i]!);
    return this;
  }

  /** Re-hashes the current value's 8 little-endian bytes from the offset basis (Pingora's fallback step). */
  rehash(): this {
    const { h0, h1, h2, h3 } = this;
    this.reset();
    this.byte(h0 & 0xff);
    this.byte(h0 >>> 8);
    this.byte(h1 & 0xff);
    this.byte(h1 >>> 8);
    this.byte(h2 & 0xff);
    this.byte(h2 >>> 8);
    this.byte(h3 & 0xff);
    this.byte(h3 >>> 8);
    return this;
  }

  /** The 64-bit value modulo `m` (1 ≤ m < 2^37, so every partial product stays exact). */
  mod(m: number): number {
    let r = this.h3 % m;
    r = (r * 65536 + this.h2) % m;
    r = (r * 65536 + this.h1) % m;
    return (r * 65536 + this.h0) % m;
  }

  /** The value as a 16-digit hex string (for tests and messages). */
  hex(): string {
    return [this.h3, this.h2, this.h1, this.h0].map((h) => h.toString(16).padStart(4, '0')).join('');
  }
}
