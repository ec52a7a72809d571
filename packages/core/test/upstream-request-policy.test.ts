import {
  applyUpstreamRequestPolicy,
  denyUpgrades,
  finalizeUpstreamFraming,
  HOP_BY_HOP_HEADERS,
  preserve,
  standard,
  type UpstreamRequestPolicy,
} from '@switchyard/core';
import { describe, expect, it } from 'vitest';

type Pairs = readonly (readonly [string, string])[];

const flat = (pairs: Pairs): string[] => pairs.flat();
const names = (headers: readonly string[]): string[] => headers.filter((_, i) => i % 2 === 0);
const lowerNames = (headers: readonly string[]): string[] => names(headers).map((n) => n.toLowerCase());

function apply(pairs: Pairs, policy?: UpstreamRequestPolicy, httpVersion = '1.1') {
  const headers = Object.freeze(flat(pairs));
  return applyUpstreamRequestPolicy({ headers, httpVersion, hasBody: false }, policy);
}

function expectBadRequest(pairs: Pairs, policy: UpstreamRequestPolicy | undefined, reason: RegExp): void {
  try {
    apply(pairs, policy);
  } catch (err) {
    expect((err as { code?: string }).code).toBe('LB_ERR_BAD_REQUEST');
    expect((err as { status?: number }).status).toBe(400);
    expect((err as Error).message).toMatch(reason);
    return;
  }
  throw new Error(`expected LB_ERR_BAD_REQUEST for ${JSON.stringify(pairs)}`);
}

const lenient: UpstreamRequestPolicy = { ...standard(), rejectMalformedConnectionNominations: false };
const keepNominated: UpstreamRequestPolicy = { ...standard(), stripConnectionNominated: false };
const preserveUpgrades: UpstreamRequestPolicy = { ...standard(), h1Upgrade: 'preserve' };

const TOO_MANY = /too many Connection header nominations/;
const PROTECTED = /protected header .*cannot be nominated/;
const INVALID = /invalid token nominated/;

describe('policy constructors', () => {
  it('match Pingora: standard() is the default, preserve() passes everything, denyUpgrades() is standard with deny', () => {
    expect(standard()).toEqual({
      stripHopByHop: true,
      stripConnectionNominated: true,
      rejectMalformedConnectionNominations: true,
      h1Upgrade: 'websocket-only',
    });
    expect(preserve()).toEqual({
      stripHopByHop: false,
      stripConnectionNominated: false,
      rejectMalformedConnectionNominations: false,
      h1Upgrade: 'preserve',
    });
    expect(denyUpgrades()).toEqual({ ...standard(), h1Upgrade: 'deny' });
    expect(Object.isFrozen(standard())).toBe(true);
  });

  it('lists the ten hop-by-hop names', () => {
    expect([...HOP_BY_HOP_HEADERS].sort()).toEqual(
      [
        'connection',
        'http2-settings',
        'keep-alive',
        'proxy-authenticate',
        'proxy-authorization',
        'proxy-connection',
        'te',
        'trailer',
        'transfer-encoding',
        'upgrade',
      ].sort(),
    );
  });
});

// Pingora's proxy_common.rs `mod tests` (pingora.md part B.3), adapted to the H1 path.
describe('Pingora B.3 cases, on HTTP/1.1', () => {
  it('removes Connection-nominated fields by default', () => {
    const out = apply([
      ['Host', 'example.com'],
      ['Connection', 'X-Private-Hop, HTTP2-Settings'],
      ['X-Private-Hop', 'secret'],
      ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA'],
      ['Proxy-Authorization', 'Basic dXNlcjpwYXNz'],
      ['TE', 'trailers'],
      ['Trailer', 'X-Checksum'],
      ['Accept', '*/*'],
    ]);
    expect(out.headers).toEqual(['Host', 'example.com', 'Accept', '*/*']);
    expect(out.upgrade).toBeUndefined();
  });

  it('can retain Connection-nominated fields (stripConnectionNominated: false)', () => {
    const out = apply(
      [
        ['Connection', 'X-Private-Hop'],
        ['X-Private-Hop', 'secret'],
      ],
      keepNominated,
    );
    expect(out.headers).toEqual(['X-Private-Hop', 'secret']);
  });

  it('removes nominations after Connection self-nomination', () => {
    const pairs = [
      ['Connection', 'Connection, X-Private-Hop'],
      ['X-Private-Hop', 'secret'],
      ['Accept', '*/*'],
    ] as const;
    expect(apply(pairs).headers).toEqual(['Accept', '*/*']);
    // Without hop-by-hop stripping and upgrade handling, only the self-nomination removes Connection.
    const nominationOnly: UpstreamRequestPolicy = { ...standard(), stripHopByHop: false, h1Upgrade: 'preserve' };
    expect(apply(pairs, nominationOnly).headers).toEqual(['Accept', '*/*']);
  });

  it('rejects ten unparseable nominations, strict and lenient', () => {
    const pairs = [['Connection', '@, @, @, @, @, @, @, @, @, @']] as const;
    expectBadRequest(pairs, undefined, INVALID);
    expectBadRequest(pairs, lenient, TOO_MANY);
  });

  it('rejects protected nominations', () => {
    for (const token of ['Host', 'x-forwarded-for', 'X-Forwarded-For', 'X-FORWARDED-HOST', 'x-Forwarded-Proto']) {
      expectBadRequest([['Connection', `keep-alive, ${token}`]], undefined, PROTECTED);
    }
  });

  it('rejects pseudo-header nominations', () => {
    for (const token of [':authority', ':method', ':path']) {
      expectBadRequest([['Connection', token]], undefined, PROTECTED);
    }
  });

  it('rejects a malformed token in strict mode', () => {
    expectBadRequest([['Connection', 'keep-alive, bad token']], undefined, INVALID);
  });

  it('rejects decorated protected names (not RFC 9110 tokens)', () => {
    for (const token of [
      '"X-Forwarded-For"',
      '(X-Forwarded-For',
      'X-Forwarded-For)',
      'X-Forwarded-For/',
      'X-Forwarded-For:',
      'X -Forwarded-For',
      '@X-Forwarded-For',
    ]) {
      expectBadRequest([['Connection', token]], undefined, INVALID);
    }
  });

  it('allows tchar-decorated lookalikes and keeps the real X-Forwarded-For', () => {
    for (const token of ["'X-Forwarded-For'", 'X-Forwarded-For.', '!X-Forwarded-For']) {
      const out = apply([
        ['Connection', token],
        ['X-Forwarded-For', '192.0.2.1'],
      ]);
      expect(out.headers).toEqual(['X-Forwarded-For', '192.0.2.1']);
    }
  });

  it('lenient mode tolerates malformed tokens and keeps X-Forwarded-For', () => {
    for (const value of [
      '"X-Forwarded-For"',
      '(X-Forwarded-For',
      'X-Forwarded-For)',
      'X-Forwarded-For/',
      'X-Forwarded-For:',
      'X -Forwarded-For',
      '@X-Forwarded-For',
      'keep-alive, bad token',
    ]) {
      const out = apply(
        [
          ['Connection', value],
          ['X-Forwarded-For', '192.0.2.1'],
          ['Keep-Alive', 'timeout=5'],
        ],
        lenient,
      );
      expect(out.headers).toEqual(['X-Forwarded-For', '192.0.2.1']);
    }
  });

  it('lenient mode still rejects exact protected names and pseudo-headers', () => {
    for (const token of ['x-forwarded-for', 'X-Forwarded-For', 'host', ':authority']) {
      expectBadRequest([['Connection', token]], lenient, PROTECTED);
    }
  });
});

describe('Connection nomination parsing', () => {
  const nominations = (count: number) => Array.from({ length: count }, (_, i) => `X-Hop-${i}`).join(', ');

  it('accepts nine nominations and rejects ten', () => {
    const nine = apply([
      ['Connection', nominations(9)],
      ['X-Hop-8', 'v'],
      ['X-Kept', 'v'],
    ]);
    expect(nine.headers).toEqual(['X-Kept', 'v']);
    expectBadRequest([['Connection', nominations(10)]], undefined, TOO_MANY);
  });

  it('counts over every Connection header, including close, keep-alive and upgrade', () => {
    expect(() => apply([['Connection', 'close, keep-alive, upgrade, a, b, c, d, e, f']])).not.toThrow();
    expectBadRequest([['Connection', 'close, keep-alive, upgrade, a, b, c, d, e, f, g']], undefined, TOO_MANY);
    expectBadRequest(
      [
        ['Connection', 'a, b, c, d, e'],
        ['connection', 'f, g, h, i, j'],
      ],
      undefined,
      TOO_MANY,
    );
    const out = apply([
      ['Connection', 'X-A'],
      ['X-A', '1'],
      ['X-B', '2'],
      ['CONNECTION', 'x-b'],
      ['X-C', '3'],
    ]);
    expect(out.headers).toEqual(['X-C', '3']);
  });

  it('skips empty tokens and trims ASCII whitespace only', () => {
    expect(() => apply([['Connection', ',,, a,\t,b ,  , c, d, e, f, g, h, i,,']])).not.toThrow();
    expect(
      apply([
        ['Connection', '\tX-Hop \t'],
        ['x-hop', '1'],
      ]).headers,
    ).toEqual([]);
    // A no-break space is not ASCII whitespace: the token is malformed, as in Pingora's trim_ascii.
    expectBadRequest([['Connection', '\u00a0X-Hop']], undefined, INVALID);
  });

  it('counts malformed tokens skipped in lenient mode', () => {
    const value = '@, @, @, @, @, @, @, @, @, X-Hop';
    expectBadRequest([['Connection', value]], lenient, TOO_MANY);
    expect(
      apply(
        [
          ['Connection', '@, @, @, @, @, @, @, @, X-Hop'],
          ['X-Hop', '1'],
        ],
        lenient,
      ).headers,
    ).toEqual([]);
  });

  it('rejects in every upgrade mode, but not without nomination stripping', () => {
    for (const policy of [standard(), denyUpgrades(), preserveUpgrades, lenient]) {
      expectBadRequest(
        [
          ['Connection', 'Upgrade, Host'],
          ['Upgrade', 'websocket'],
        ],
        policy,
        PROTECTED,
      );
      expectBadRequest([['Connection', ':path']], policy, PROTECTED);
    }
    // As in Pingora, nominations are parsed only when they are to be stripped.
    expect(
      apply(
        [
          ['Connection', 'Host'],
          ['Host', 'h'],
        ],
        keepNominated,
      ).headers,
    ).toEqual(['Host', 'h']);
  });

  it('names the protected field and never echoes a malformed token', () => {
    expectBadRequest([['Connection', 'X-FORWARDED-PROTO']], undefined, /protected header x-forwarded-proto/);
    try {
      apply([['Connection', '<script>']]);
      throw new Error('expected a rejection');
    } catch (err) {
      expect((err as Error).message).not.toContain('<script>');
    }
  });

  it('strips a nominated Content-Length, which the framing fix-up then replaces', () => {
    const out = apply([
      ['Connection', 'Content-Length'],
      ['Content-Length', '5'],
    ]);
    expect(out.headers).toEqual([]);
    expect(finalizeUpstreamFraming(out.headers, true)).toEqual(['Transfer-Encoding', 'chunked']);
  });
});

describe('hop-by-hop stripping', () => {
  const everyHop: Pairs = [
    ['Keep-Alive', 'timeout=5'],
    ['Proxy-Connection', 'keep-alive'],
    ['Proxy-Authenticate', 'Basic'],
    ['PROXY-AUTHORIZATION', 'Basic dXNlcjpwYXNz'],
    ['te', 'trailers'],
    ['Trailer', 'X-Sum'],
    ['Transfer-Encoding', 'chunked'],
    ['Connection', 'keep-alive'],
    ['Upgrade', 'h2c'],
    ['HTTP2-Settings', 'AAMAAABkAAQ'],
  ];

  it('removes all ten in any case and keeps the rest in order and casing', () => {
    const out = apply([['X-First', '1'], ...everyHop, ['x-MiXeD', '2'], ['Host', 'h']]);
    expect(out.headers).toEqual(['X-First', '1', 'x-MiXeD', '2', 'Host', 'h']);
  });

  it('keeps them with stripHopByHop false, except the upgrade fields in websocket-only mode', () => {
    const out = apply(everyHop, { ...standard(), stripHopByHop: false, stripConnectionNominated: false });
    expect(lowerNames(out.headers)).toEqual([
      'keep-alive',
      'proxy-connection',
      'proxy-authenticate',
      'proxy-authorization',
      'te',
      'trailer',
      'transfer-encoding',
    ]);
  });

  it('does not mutate the input and returns a fresh array even when nothing is stripped', () => {
    const headers = ['Host', 'h', 'Accept', '*/*'];
    const out = applyUpstreamRequestPolicy({ headers, httpVersion: '1.1', hasBody: false });
    expect(out.headers).toEqual(headers);
    expect(out.headers).not.toBe(headers);
    expect(headers).toEqual(['Host', 'h', 'Accept', '*/*']);
  });

  it('handles heads larger than any seen before, then small ones again', () => {
    const many = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? ['TE', 'trailers'] : [`X-H${i}`, `${i}`])).flat();
    const big = applyUpstreamRequestPolicy({
      headers: ['Connection', 'X-H298', ...many],
      httpVersion: '1.1',
      hasBody: false,
    });
    expect(big.headers).toHaveLength(2 * (200 - 1));
    expect(big.headers).not.toContain('TE');
    expect(big.headers).not.toContain('X-H298');
    expect(
      apply([
        ['TE', 'trailers'],
        ['Accept', '*/*'],
      ]).headers,
    ).toEqual(['Accept', '*/*']);
  });

  it('rejects an odd-length header list', () => {
    expect(() => applyUpstreamRequestPolicy({ headers: ['Host'], httpVersion: '1.1', hasBody: false })).toThrow(
      expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' }),
    );
  });
});

describe('upgrades', () => {
  const handshake: Pairs = [
    ['Host', 'example.com'],
    ['Connection', 'keep-alive, Upgrade'],
    ['Upgrade', 'WebSocket'],
    ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
    ['Sec-WebSocket-Version', '13'],
    ['Sec-WebSocket-Protocol', 'chat'],
    ['Sec-WebSocket-Extensions', 'permessage-deflate'],
    ['Keep-Alive', 'timeout=5'],
  ];
  const secWebSocket = [
    'Sec-WebSocket-Key',
    'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version',
    '13',
    'Sec-WebSocket-Protocol',
    'chat',
    'Sec-WebSocket-Extensions',
    'permessage-deflate',
  ];

  it('forwards an HTTP/1.1 WebSocket handshake normalized, Sec-WebSocket-* kept', () => {
    const out = apply(handshake);
    expect(out.upgrade).toBe('websocket');
    expect(out.headers).toEqual([
      'Host',
      'example.com',
      ...secWebSocket,
      'Connection',
      'Upgrade',
      'Upgrade',
      'websocket',
    ]);
  });

  it('does not require Connection: upgrade, and ignores surrounding whitespace in the Upgrade value', () => {
    const out = apply([
      ['Upgrade', ' websocket\t'],
      ['Sec-WebSocket-Key', 'k'],
    ]);
    expect(out.upgrade).toBe('websocket');
    expect(out.headers).toEqual(['Sec-WebSocket-Key', 'k', 'Connection', 'Upgrade', 'Upgrade', 'websocket']);
  });

  it('decides on the first Upgrade value and never duplicates Connection or Upgrade', () => {
    const out = apply([
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['upgrade', 'h2c'],
      ['connection', 'upgrade'],
    ]);
    expect(out.upgrade).toBe('websocket');
    expect(out.headers).toEqual(['Connection', 'Upgrade', 'Upgrade', 'websocket']);
    expect(
      apply([
        ['Upgrade', 'h2c'],
        ['Upgrade', 'websocket'],
      ]).upgrade,
    ).toBeUndefined();
    expect(apply([['Upgrade', 'websocket, h2c']]).upgrade).toBeUndefined();
  });

  it('does not treat an HTTP/1.0 Upgrade as a WebSocket handshake', () => {
    const out = apply(handshake, standard(), '1.0');
    expect(out.upgrade).toBeUndefined();
    expect(out.headers).toEqual(['Host', 'example.com', ...secWebSocket]);
  });

  it('drops Upgrade: h2c with HTTP2-Settings under websocket-only', () => {
    const out = apply([
      ['Host', 'h'],
      ['Connection', 'Upgrade, HTTP2-Settings'],
      ['Upgrade', 'h2c'],
      ['HTTP2-Settings', 'AAMAAABkAAQ'],
    ]);
    expect(out).toEqual({ headers: ['Host', 'h'], upgrade: undefined });
  });

  it('drops upgrade fields even without hop-by-hop stripping', () => {
    const out = apply(
      [
        ['Upgrade', 'h2c'],
        ['HTTP2-Settings', 'x'],
        ['Connection', 'Upgrade'],
        ['TE', 'trailers'],
      ],
      { ...standard(), stripHopByHop: false },
    );
    expect(out.headers).toEqual(['TE', 'trailers']);
  });

  it('keeps any upgrade untouched under h1Upgrade preserve (after nomination checks)', () => {
    const h2c: Pairs = [
      ['Host', 'h'],
      ['Connection', 'Upgrade, HTTP2-Settings, X-Private-Hop'],
      ['Upgrade', 'h2c'],
      ['HTTP2-Settings', 'AAMAAABkAAQ'],
      ['X-Private-Hop', 'secret'],
      ['Keep-Alive', 'timeout=5'],
    ];
    expect(apply(h2c, preserveUpgrades)).toEqual({ headers: flat(h2c), upgrade: 'preserved' });
    expect(apply(handshake, preserveUpgrades)).toEqual({ headers: flat(handshake), upgrade: 'preserved' });
    // HTTP/1.0 cannot upgrade: the head is still left untouched, but it is not reported as an upgrade.
    expect(apply(h2c, preserveUpgrades, '1.0')).toEqual({ headers: flat(h2c), upgrade: undefined });
  });

  it('strips as standard under h1Upgrade preserve when there is no Upgrade header', () => {
    const out = apply(
      [
        ['Connection', 'keep-alive, X-Private-Hop'],
        ['X-Private-Hop', 'secret'],
        ['Keep-Alive', 'timeout=5'],
        ['Accept', '*/*'],
      ],
      preserveUpgrades,
    );
    expect(out).toEqual({ headers: ['Accept', '*/*'], upgrade: undefined });
  });

  it('removes every upgrade field under denyUpgrades(), Sec-WebSocket-* kept', () => {
    const out = apply([...handshake, ['HTTP2-Settings', 'x']], denyUpgrades());
    expect(out.upgrade).toBeUndefined();
    expect(out.headers).toEqual(['Host', 'example.com', ...secWebSocket]);
  });

  it('removes the upgrade fields under deny even without hop-by-hop stripping', () => {
    const out = apply(
      [
        ['Connection', 'Upgrade'],
        ['Upgrade', 'websocket'],
        ['HTTP2-Settings', 'x'],
        ['TE', 'trailers'],
        ['Keep-Alive', 'timeout=5'],
      ],
      { ...denyUpgrades(), stripHopByHop: false },
    );
    expect(out).toEqual({ headers: ['TE', 'trailers', 'Keep-Alive', 'timeout=5'], upgrade: undefined });
  });

  it('removes Sec-WebSocket-* fields only when nominated', () => {
    const out = apply([
      ['Connection', 'Upgrade, Sec-WebSocket-Extensions'],
      ['Upgrade', 'websocket'],
      ['Sec-WebSocket-Key', 'k'],
      ['Sec-WebSocket-Extensions', 'permessage-deflate'],
    ]);
    expect(out.headers).toEqual(['Sec-WebSocket-Key', 'k', 'Connection', 'Upgrade', 'Upgrade', 'websocket']);
  });
});

describe('preserve()', () => {
  it('is the identity, with no validation at all', () => {
    const pairs: Pairs = [
      ['Connection', 'Host, :authority, bad token, a, b, c, d, e, f, g, h'],
      ['Host', 'h'],
      ['Proxy-Authorization', 'Basic x'],
      ['Transfer-Encoding', 'chunked'],
      ['Upgrade', 'h2c'],
    ];
    const out = apply(pairs, preserve());
    expect(out.headers).toEqual(flat(pairs));
    expect(out.upgrade).toBe('preserved');
    expect(apply(pairs, preserve(), '1.0').upgrade).toBeUndefined();
    expect(apply([['Host', 'h']], preserve()).upgrade).toBeUndefined();
  });

  it('applies to any policy equal to preserve(), as Pingora compares by value', () => {
    const pairs: Pairs = [['Connection', 'Host']];
    expect(apply(pairs, { ...preserve() }).headers).toEqual(flat(pairs));
  });
});

describe('finalizeUpstreamFraming()', () => {
  it('adds Transfer-Encoding: chunked to a body with neither Content-Length nor Transfer-Encoding', () => {
    const headers = ['Host', 'h'];
    const out = finalizeUpstreamFraming(headers, true);
    expect(out).toEqual(['Host', 'h', 'Transfer-Encoding', 'chunked']);
    expect(headers).toEqual(['Host', 'h']);
  });

  it('leaves framed requests and bodiless requests alone', () => {
    for (const headers of [
      ['Host', 'h', 'content-LENGTH', '5'],
      ['TRANSFER-ENCODING', 'chunked'],
    ]) {
      expect(finalizeUpstreamFraming(headers, true)).toBe(headers);
    }
    const bare = ['Host', 'h'];
    expect(finalizeUpstreamFraming(bare, false)).toBe(bare);
  });

  it('re-frames a chunked request whose Transfer-Encoding standard() removed', () => {
    const head = { headers: ['Host', 'h', 'Transfer-Encoding', 'chunked'], httpVersion: '1.1', hasBody: true };
    const { headers } = applyUpstreamRequestPolicy(head);
    expect(headers).toEqual(['Host', 'h']);
    expect(finalizeUpstreamFraming(headers, head.hasBody)).toEqual(['Host', 'h', 'Transfer-Encoding', 'chunked']);
  });
});
