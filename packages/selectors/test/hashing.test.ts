import { createHash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, crc32String } from '../src/internal/crc32.js';
import { md5FirstWord } from '../src/internal/md5.js';
import { encodeUtf8 } from '../src/internal/utf8.js';

// The hashing internals decide every ring position, so they are checked directly
// against Node's own zlib CRC-32 and OpenSSL MD5, including multi-block inputs.
const SEED = 0x00c0ffee;

function md5Reference(bytes: Uint8Array): number {
  const d = createHash('md5').update(bytes).digest();
  return ((d[3]! << 24) | (d[2]! << 16) | (d[1]! << 8) | d[0]!) >>> 0;
}

describe('hashing internals', () => {
  it('CRC-32 (slicing-by-8) equals zlib for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(crc32(bytes)).toBe(zlibCrc32(bytes));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('CRC-32 of a string equals zlib over its UTF-8 bytes (ASCII fast path and fallback)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', '/', '~', 'é', '☃', '😀', '\ud800'), maxLength: 40 }),
        (text) => {
          expect(crc32String(text)).toBe(zlibCrc32(Buffer.from(text)));
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (text) => {
        expect(crc32String(text)).toBe(zlibCrc32(Buffer.from(text)));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('MD5 first word equals crypto for any bytes, across block boundaries', () => {
    for (let n = 0; n < 200; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      expect(md5FirstWord(bytes, n)).toBe(md5Reference(bytes));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(md5FirstWord(bytes, bytes.length)).toBe(md5Reference(bytes));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('UTF-8 encoding equals Buffer, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const encoded = encodeUtf8(text);
        expect(Buffer.from(encoded.bytes.subarray(0, encoded.length)).equals(Buffer.from(text))).toBe(true);
      }),
      { seed: SEED, numRuns: 500 },
    );
    const lone = encodeUtf8('a\ud800b');
    expect([...lone.bytes.subarray(0, lone.length)]).toEqual([0x61, 0xef, 0xbf, 0xbd, 0x62]);
  });
});
