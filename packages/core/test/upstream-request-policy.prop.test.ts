import { fc, test } from '@fast-check/vitest';
import {
  applyUpstreamRequestPolicy,
  denyUpgrades,
  HOP_BY_HOP_HEADERS,
  preserve,
  standard,
  type UpstreamRequestPolicy,
  type UpstreamRequestPolicyResult,
} from '@switchyard/core';
import { describe, expect } from 'vitest';

// Pinned so a failure replays; fast-check prints the seed and the counterexample path on failure.
const SEED = 20261126;
const RUNS = { seed: SEED, numRuns: 400 };

const lenient: UpstreamRequestPolicy = { ...standard(), rejectMalformedConnectionNominations: false };
const preserveUpgrades: UpstreamRequestPolicy = { ...standard(), h1Upgrade: 'preserve' };
const HOP = new Set(HOP_BY_HOP_HEADERS);
const PROTECTED = ['host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'];

// An independent, regex-based model of Pingora's nomination rules to check the fast implementation against.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
interface Verdict {
  readonly reject: boolean;
  readonly nominated: ReadonlySet<string>;
}
function model(pairs: readonly (readonly [string, string])[], strict: boolean): Verdict {
  const tokens = pairs
    .filter(([name]) => name.toLowerCase() === 'connection')
    .flatMap(([, value]) => value.split(','))
    .map((t) => t.replace(/^[ \t\n\f\r]+|[ \t\n\f\r]+$/g, ''))
    .filter((t) => t !== '');
  const valid = tokens.filter((t) => TOKEN.test(t));
  const reject =
    tokens.length >= 10 ||
    tokens.some((t) => t.startsWith(':')) ||
    (strict && valid.length !== tokens.length) ||
    valid.some((t) => PROTECTED.includes(t.toLowerCase()));
  return { reject, nominated: new Set(valid.map((t) => t.toLowerCase())) };
}

// Header names: the interesting ones in random casing, plus arbitrary tokens.
const knownName = fc.mixedCase(
  fc.constantFrom(
    ...HOP_BY_HOP_HEADERS,
    ...PROTECTED,
    'content-length',
    'sec-websocket-key',
    'sec-websocket-protocol',
    'x-private-hop',
    'accept',
    'close',
  ),
);
const tokenName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/);
const headerName = fc.oneof({ arbitrary: knownName, weight: 3 }, { arbitrary: tokenName, weight: 1 });
const nominationToken = fc.oneof(
  { arbitrary: headerName, weight: 6 },
  { arbitrary: fc.constantFrom('@', 'bad token', '"x-a"', ':path', ':Authority', '(Host', 'x\u00a0y'), weight: 1 },
);
const space = fc.constantFrom('', ' ', '\t', '  ');
const connectionValue = fc
  .array(fc.tuple(space, nominationToken, space), { maxLength: 6 })
  .map((parts) => parts.map(([a, t, b]) => `${a}${t}${b}`).join(','));
const upgradeValue = fc.oneof(
  { arbitrary: fc.mixedCase(fc.constantFrom('websocket', ' websocket\t')), weight: 3 },
  { arbitrary: fc.mixedCase(fc.constantFrom('h2c', 'websocket, h2c')), weight: 1 },
  { arbitrary: fc.string(), weight: 1 },
);
const pair = fc.oneof(
  { arbitrary: fc.tuple(fc.mixedCase(fc.constant('connection')), connectionValue), weight: 2 },
  { arbitrary: fc.tuple(fc.mixedCase(fc.constant('upgrade')), upgradeValue), weight: 1 },
  { arbitrary: fc.tuple(headerName, fc.string({ maxLength: 8 })), weight: 6 },
);
const request = fc.record({
  pairs: fc.array(pair, { maxLength: 14 }),
  httpVersion: fc.constantFrom('1.1', '1.0'),
});

function run(pairs: readonly (readonly [string, string])[], httpVersion: string, policy: UpstreamRequestPolicy) {
  const headers = Object.freeze(pairs.flat());
  try {
    return applyUpstreamRequestPolicy({ headers, httpVersion, hasBody: false }, policy);
  } catch (err) {
    expect((err as { code?: string }).code).toBe('LB_ERR_BAD_REQUEST');
    return undefined;
  }
}

/** True when `out` is the input pairs with some pairs removed, order and casing kept, plus `tail`. */
function isSubsequence(input: readonly string[], out: readonly string[], tail: number): boolean {
  let j = 0;
  for (let i = 0; i + 1 < input.length && j < out.length - tail; i += 2) {
    if (input[i] === out[j] && input[i + 1] === out[j + 1]) j += 2;
  }
  return j === out.length - tail;
}

function isWebSocketRequest(pairs: readonly (readonly [string, string])[], httpVersion: string): boolean {
  const upgrade = pairs.find(([name]) => name.toLowerCase() === 'upgrade');
  return (
    httpVersion === '1.1' &&
    upgrade !== undefined &&
    upgrade[1].replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase() === 'websocket'
  );
}

describe('applyUpstreamRequestPolicy() properties', () => {
  test.prop([request], RUNS)(
    'standard() rejects exactly what the nomination rules reject',
    ({ pairs, httpVersion }) => {
      const out = run(pairs, httpVersion, standard());
      expect(out === undefined).toBe(model(pairs, true).reject);
    },
  );

  test.prop([request], RUNS)('lenient mode rejects exactly what the lenient rules reject', ({ pairs, httpVersion }) => {
    const out = run(pairs, httpVersion, lenient);
    expect(out === undefined).toBe(model(pairs, false).reject);
  });

  test.prop([request], RUNS)(
    'standard() output has no hop-by-hop and no nominated name, other than the WebSocket pair',
    ({ pairs, httpVersion }) => {
      const denied = run(pairs, httpVersion, denyUpgrades());
      const out = run(pairs, httpVersion, standard());
      expect(denied === undefined).toBe(out === undefined);
      if (out === undefined || denied === undefined) return;
      // denyUpgrades() forwards what standard() forwards, minus the WebSocket pair.
      expect(denied).toEqual({
        headers: out.upgrade === 'websocket' ? out.headers.slice(0, -4) : out.headers,
        upgrade: undefined,
      });
      const { nominated } = model(pairs, true);
      const tail = out.upgrade === 'websocket' ? 4 : 0;
      const kept = out.headers.slice(0, out.headers.length - tail);
      for (let i = 0; i < kept.length; i += 2) {
        const name = kept[i]!.toLowerCase();
        expect(HOP.has(name), name).toBe(false);
        expect(nominated.has(name), name).toBe(false);
      }
      expect(isSubsequence(pairs.flat(), out.headers, tail)).toBe(true);
      expect(out.upgrade === 'websocket').toBe(isWebSocketRequest(pairs, httpVersion));
    },
  );

  test.prop([request], RUNS)(
    'a forwarded WebSocket handshake carries exactly one Connection and one Upgrade',
    ({ pairs, httpVersion }) => {
      const withUpgrade: [string, string][] = [['Upgrade', 'WebSocket'], ...pairs];
      for (const policy of [standard(), lenient]) {
        const out: UpstreamRequestPolicyResult | undefined = run(withUpgrade, httpVersion, policy);
        if (out === undefined) continue;
        expect(out.upgrade).toBe(httpVersion === '1.1' ? 'websocket' : undefined);
        const names = out.headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
        const expected = out.upgrade === 'websocket' ? 1 : 0;
        expect(names.filter((n) => n === 'connection')).toHaveLength(expected);
        expect(names.filter((n) => n === 'upgrade')).toHaveLength(expected);
        if (expected) expect(out.headers.slice(-4)).toEqual(['Connection', 'Upgrade', 'Upgrade', 'websocket']);
      }
    },
  );

  test.prop(
    [
      fc.mixedCase(fc.constantFrom(...PROTECTED, ':authority', ':path', ':method')),
      fc.array(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,9}$/), { maxLength: 8 }),
      fc.nat(),
      fc.boolean(),
    ],
    RUNS,
  )('protected nominations are rejected in every casing and mode', (bad, others, at, split) => {
    const tokens = [...others];
    tokens.splice(at % (tokens.length + 1), 0, bad);
    const half = Math.floor(tokens.length / 2);
    const pairs: [string, string][] = split
      ? [
          ['Connection', tokens.slice(0, half).join(', ')],
          ['connection', tokens.slice(half).join(', ')],
        ]
      : [['Connection', tokens.join(', ')]];
    for (const policy of [standard(), lenient, denyUpgrades(), preserveUpgrades]) {
      expect(() =>
        applyUpstreamRequestPolicy({ headers: pairs.flat(), httpVersion: '1.1', hasBody: false }, policy),
      ).toThrow(expect.objectContaining({ code: 'LB_ERR_BAD_REQUEST' }));
    }
  });

  test.prop(
    [
      fc.array(fc.oneof(tokenName, fc.constantFrom('@', 'a b')), { maxLength: 15 }),
      fc.array(fc.nat(), { maxLength: 15 }),
      fc.boolean(),
    ],
    RUNS,
  )(
    'ten or more tokens, over any number of Connection headers and empty tokens, are rejected',
    (tokens, cuts, strict) => {
      // Spread the tokens over several Connection headers, with empty and blank tokens in between.
      const values: string[] = [''];
      tokens.forEach((token, i) => {
        const cut = cuts[i] ?? 0;
        if (cut % 3 === 0) values.push('');
        values[values.length - 1] += `${cut % 2 === 0 ? ', ,' : ','} ${token}`;
      });
      const headers = values.flatMap((value) => ['Connection', value]);
      const policy = strict ? standard() : lenient;
      const call = () => applyUpstreamRequestPolicy({ headers, httpVersion: '1.1', hasBody: false }, policy);
      const malformed = tokens.some((t) => !TOKEN.test(t));
      // The count is checked first: a malformed 10th token still reads "too many".
      if (tokens.length >= 10) {
        expect(call).toThrow(strict && tokens.slice(0, 9).some((t) => !TOKEN.test(t)) ? /invalid token/ : /too many/);
      } else if (strict && malformed) expect(call).toThrow(/invalid token/);
      else expect(call).not.toThrow();
    },
  );

  test.prop([fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 20 }), fc.constantFrom('1.1', '1.0')], RUNS)(
    'preserve() is the identity on any input',
    (pairs, httpVersion) => {
      const headers = Object.freeze(pairs.flat());
      const out = applyUpstreamRequestPolicy({ headers, httpVersion, hasBody: true }, preserve());
      expect(out.headers).toEqual(headers);
      expect(out.headers).not.toBe(headers);
    },
  );
});
