import { describe, expect, it } from 'vitest';
import { murmur3, murmur3Ascii } from '../src/internal/murmur3.js';

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

  it('hashes ASCII strings in place exactly as their bytes, and declines anything else', () => {
    for (const text of ['', 'a', 'ab', 'abc', 'abcd', 'abcde', '/objects/123/chunk?x=1', 'key-999999']) {
      const bytes = utf8.encode(text);
      for (const seed of [0, 1, 0x9e3779b9]) expect(murmur3Ascii(text, seed)).toBe(murmur3(bytes, bytes.length, seed));
    }
    expect(murmur3Ascii('café', 0)).toBe(-1);
    expect(murmur3Ascii('\u0080', 0)).toBe(-1);
    expect(murmur3Ascii('abcd\u{1f600}', 0)).toBe(-1);
  });
});
