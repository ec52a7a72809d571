import { describe, expect, it } from 'vitest';
import { murmur3 } from '../src/internal/murmur3.js';

const utf8 = new TextEncoder();

describe('murmur3 (x86, 32-bit)', () => {
  it('matches the reference vectors', () => {
    const vectors: [string, number, number][] = [
      ['', 0, 0],
      ['', 1, 0x514e28b7],
      ['test', 0, 0xba6bd213],
      ['Hello, world!', 1234, 0xfaf6cdb3],
      ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ];
    for (const [text, seed, expected] of vectors) {
      const bytes = utf8.encode(text);
      expect(murmur3(bytes, bytes.length, seed), `${JSON.stringify(text)} seed ${seed}`).toBe(expected);
    }
  });
});
