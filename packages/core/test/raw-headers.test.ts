import { fc, test } from '@fast-check/vitest';
import { headerNameIs, rawHeadersHaveBody, rawHeaderValue } from '@switchyard/core';
import { describe, expect, it } from 'vitest';

// Pinned so a failure replays; fast-check prints the seed and the counterexample path on failure.
const RUNS = { seed: 20261203, numRuns: 500 };

describe('headerNameIs', () => {
  it('matches a name in any ASCII case and nothing else', () => {
    expect(headerNameIs('Content-Length', 'content-length')).toBe(true);
    expect(headerNameIs('CONTENT-LENGTH', 'content-length')).toBe(true);
    expect(headerNameIs('content-length', 'content-length')).toBe(true);
    expect(headerNameIs('content-lengths', 'content-length')).toBe(false);
    expect(headerNameIs('content-lengt', 'content-length')).toBe(false);
    expect(headerNameIs('content_length', 'content-length')).toBe(false);
    expect(headerNameIs('', 'te')).toBe(false);
  });

  it('does not fold non-ASCII letters (a Kelvin sign is not a k)', () => {
    expect(headerNameIs('\u212Aeep-alive', 'keep-alive')).toBe(false);
    expect(headerNameIs('\u00C0', '\u00E0')).toBe(false);
  });

  // Names reach the proxy as latin1 strings (Node's parser, undici's Buffers read as latin1);
  // on those, the scanner agrees with lower-casing and comparing.
  test.prop([fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) })], RUNS)(
    'agrees with toLowerCase() === on latin1 names',
    (name) => {
      const lower = name.toLowerCase();
      if (/^[\x00-\x7f]*$/.test(lower)) expect(headerNameIs(name, lower)).toBe(true);
      for (const known of ['host', 'te', 'upgrade', 'connection', 'transfer-encoding', 'x-forwarded-for']) {
        expect(headerNameIs(name, known)).toBe(lower === known);
      }
    },
  );
});

describe('rawHeaderValue', () => {
  it('returns the first value of the field, whatever its case', () => {
    const raw = ['Host', 'a', 'Upgrade', 'websocket', 'upgrade', 'h2c'];
    expect(rawHeaderValue(raw, 'upgrade')).toBe('websocket');
    expect(rawHeaderValue(raw, 'host')).toBe('a');
  });

  it('is undefined when the field is missing or has no value', () => {
    expect(rawHeaderValue(['Host', 'a'], 'upgrade')).toBeUndefined();
    expect(rawHeaderValue(['Host', 'a', 'Upgrade'], 'upgrade')).toBeUndefined();
    expect(rawHeaderValue([], 'host')).toBeUndefined();
  });
});

describe('rawHeadersHaveBody', () => {
  it.each([
    [[], false],
    [['Host', 'a'], false],
    [['Content-Length', '0'], false],
    [['content-length', ' 0 '], false],
    [['Content-Length', '12'], true],
    [['Transfer-Encoding', 'chunked'], true],
    [['TRANSFER-ENCODING', 'gzip, chunked'], true],
    [['Content-Length', '0', 'Transfer-Encoding', 'chunked'], true],
    [['Content-Length', '5', 'Content-Length', '0'], true],
    [['Content-Length', '0', 'Content-Length', '5'], true],
  ] as const)('%j → %s', (raw, expected) => {
    expect(rawHeadersHaveBody(raw)).toBe(expected);
  });
});
