import { waitFor } from '@switchyard/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getHead, headerValues, type RawExchange, rawExchange } from '../helpers/raw-client.js';
import { type HostileRig, startHostileRig } from './hostile-proxy.js';
import { expectForwardedClean } from './policy-oracle.js';

// Raw bytes against the proxy; each case asserts the response AND what the backend received.

let rig: HostileRig;

beforeAll(async () => {
  rig = await startHostileRig();
});
afterAll(async () => {
  await rig.close();
});
beforeEach(() => {
  rig.backend.requests.length = 0;
  rig.backend.anomalies.length = 0;
});

/** Sends `payload`, expects one response with `status` and asserts the backend received nothing at all. */
async function expectRejected(payload: string | Buffer, statuses: readonly number[]): Promise<RawExchange> {
  const exchange = await rawExchange(rig.port, payload, { timeoutMs: 3000 });
  expect(exchange.invalid, exchange.raw.toString('latin1')).toBeUndefined();
  expect(exchange.responses.length, exchange.raw.toString('latin1')).toBeGreaterThanOrEqual(1);
  expect(exchange.responses[0]?.version).toBe('HTTP/1.1');
  expect(statuses).toContain(exchange.responses[0]?.status);
  // Give a wrongly forwarded request time to arrive before asserting it did not.
  await new Promise((r) => setTimeout(r, 100));
  expect(rig.backend.requests, 'nothing reached the backend').toEqual([]);
  expect(rig.backend.anomalies).toEqual([]);
  return exchange;
}

async function expectProxyStillServes(): Promise<void> {
  const ok = await rawExchange(rig.port, getHead('/still-alive'));
  expect(ok.responses[0]?.status).toBe(200);
}

describe('request smuggling → 400, nothing reaches the backend', () => {
  const cases: [string, string][] = [
    [
      'Content-Length with Transfer-Encoding',
      'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    ],
    [
      'Transfer-Encoding with Content-Length (reverse order)',
      'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
    ],
    [
      'two differing Content-Lengths',
      'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 30\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n\r\n',
    ],
    ['Content-Length list with differing values', 'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 30\r\n\r\nhello'],
    [
      'Transfer-Encoding: chunked, identity',
      'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    ],
    [
      'Transfer-Encoding: identity (not chunked last)',
      'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\nhello',
    ],
    ['obs-fold in a header', 'GET /s HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n'],
    [
      'obs-fold continuing Transfer-Encoding',
      'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n',
    ],
    ['bare LF line endings', 'GET /s HTTP/1.1\nHost: a\nX-A: b\n\n'],
    ['bare LF inside the head', 'GET /s HTTP/1.1\r\nHost: a\nX-Smuggle: 1\r\n\r\n'],
    ['space before the colon', 'GET /s HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello'],
    ['space in a header name', 'GET /s HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n'],
    ['control byte in a header name', 'GET /s HTTP/1.1\r\nHost: a\r\nX-\u0001Bad: x\r\n\r\n'],
    ['separator in a header name', 'GET /s HTTP/1.1\r\nHost: a\r\nX-(bad): x\r\n\r\n'],
    ['NUL in a header value', 'GET /s HTTP/1.1\r\nHost: a\r\nX-Nul: a\u0000b\r\n\r\n'],
    ['non-numeric Content-Length', 'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello'],
    ['negative Content-Length', 'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n'],
  ];

  for (const [name, payload] of cases) {
    it(name, async () => {
      await expectRejected(payload, [400]);
      await expectProxyStillServes();
    });
  }

  it('chunk-size overflow: 400, and no complete request reaches the backend', async () => {
    const exchange = await rawExchange(
      rig.port,
      'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nhello\r\n0\r\n\r\n',
      { timeoutMs: 3000 },
    );
    expect(exchange.invalid, exchange.raw.toString('latin1')).toBeUndefined();
    expect(exchange.responses[0]?.status, exchange.raw.toString('latin1')).toBe(400);
    await new Promise((r) => setTimeout(r, 200));
    // The head may have been streamed before the body turned out bad; no complete (hence ambiguous) request may follow.
    expect(rig.backend.requests).toEqual([]);
    expect(rig.backend.anomalies).toEqual([]);
    await expectProxyStillServes();
  });
});

describe('the Connection policy', () => {
  const rejected: [string, string][] = [
    ['nominating Host', 'Connection: Host'],
    ['nominating X-Forwarded-For (any case)', 'Connection: x-FORWARDED-for'],
    ['nominating X-Forwarded-Host', 'Connection: keep-alive, X-Forwarded-Host'],
    ['nominating X-Forwarded-Proto', 'Connection: X-Forwarded-Proto'],
    ['a pseudo-header name', 'Connection: :authority'],
    ['another pseudo-header name', 'Connection: close, :path'],
    ['ten nominations', 'Connection: a1, a2, a3, a4, a5, a6, a7, a8, a9, a10'],
    ['ten nominations across two fields', 'Connection: a1, a2, a3, a4, a5\r\nConnection: a6, a7, a8, a9, a10'],
    ['ten unparseable nominations', 'Connection: @, @, @, @, @, @, @, @, @, @'],
    ['a malformed token', 'Connection: keep-alive, bad token'],
    ['a decorated protected name', 'Connection: (X-Forwarded-For'],
    ['a quoted protected name', 'Connection: "X-Forwarded-For"'],
    ['a protected name with a slash', 'Connection: X-Forwarded-For/'],
  ];
  for (const [name, line] of rejected) {
    it(`${name} → 400 with a reason, never forwarded`, async () => {
      const exchange = await expectRejected(getHead('/c', [line, 'X-Forwarded-For: 10.9.9.9']), [400]);
      expect(exchange.responses[0]?.body.length, 'the 400 carries a short reason').toBeGreaterThan(0);
      await expectProxyStillServes();
    });
  }

  it('nine nominations are accepted and every nominated field is stripped', async () => {
    const names = Array.from({ length: 9 }, (_, i) => `X-Hop-${i}`);
    const client: [string, string][] = [
      ['Host', 'a'],
      ['Connection', names.join(', ')],
      ...names.map((n): [string, string] => [n, 'secret']),
      ['X-Kept', 'yes'],
    ];
    const exchange = await rawExchange(
      rig.port,
      `GET /nine HTTP/1.1\r\n${client.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`,
    );
    expect(exchange.responses[0]?.status).toBe(200);
    await waitFor('the request at the backend', () => rig.backend.requests.length === 1, 2000);
    const received = rig.backend.requests[0]!;
    expectForwardedClean(received, client);
    expect(headerValues(received.headers, 'x-kept')).toEqual(['yes']);
  });

  it('private hop headers and the ten hop-by-hop fields are stripped', async () => {
    const client: [string, string][] = [
      ['Host', 'a'],
      ['Connection', 'X-Private-Hop, keep-alive'],
      ['X-Private-Hop', 'secret'],
      ['Keep-Alive', 'timeout=5'],
      ['Proxy-Connection', 'keep-alive'],
      ['Proxy-Authorization', 'Basic cHJveHk6c2VjcmV0'],
      ['Proxy-Authenticate', 'Basic'],
      ['TE', 'trailers'],
      ['Trailer', 'X-Checksum'],
      ['Upgrade', 'h2c'],
      ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA'],
      ['X-End-To-End', 'kept'],
    ];
    const exchange = await rawExchange(
      rig.port,
      `GET /hop HTTP/1.1\r\n${client.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`,
    );
    expect(exchange.responses[0]?.status).toBe(200);
    await waitFor('the request at the backend', () => rig.backend.requests.length === 1, 2000);
    const received = rig.backend.requests[0]!;
    expectForwardedClean(received, client);
    expect(received.rawHead).not.toMatch(/x-private-hop|proxy-authorization|http2-settings|h2c/i);
    expect(headerValues(received.headers, 'x-end-to-end')).toEqual(['kept']);
  });
});

describe('sizes and counts', () => {
  it('an oversized request line → 414 or 431, not forwarded', async () => {
    await expectRejected(getHead(`/${'a'.repeat(20_000)}`), [414, 431]);
    await expectProxyStillServes();
  });

  it('oversized headers → 431, not forwarded', async () => {
    await expectRejected(getHead('/h', [`X-Big: ${'b'.repeat(20_000)}`]), [431]);
    await expectProxyStillServes();
  });

  it('many headers, each small, over the head limit in total → 431', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`);
    await expectRejected(getHead('/many', lines), [431]);
    await expectProxyStillServes();
  });

  it('too many header fields within the byte limit are refused, never silently truncated', async () => {
    // 2,500 fields of 5 bytes fit 16 KiB but exceed node's maxHeadersCount (2,000), past which
    // node would drop fields silently; the proxy must answer 400/431 rather than forward a subset.
    const lines = Array.from(
      { length: 2500 },
      (_, i) => `${(i % 36).toString(36)}${Math.floor(i / 36).toString(36)}:v`,
    );
    await expectRejected(getHead('/count', lines), [400, 431]);
    await expectProxyStillServes();
  });
});

describe('X-Forwarded-For from an untrusted client', () => {
  it('is replaced, not believed: the backend sees only the socket address', async () => {
    const client: [string, string][] = [
      ['Host', 'a'],
      ['X-Forwarded-For', '203.0.113.7'],
      ['X-Forwarded-For', '198.51.100.1, 10.0.0.1'],
      ['X-Forwarded-Host', 'evil.test'],
      ['X-Forwarded-Proto', 'https'],
    ];
    const exchange = await rawExchange(
      rig.port,
      `GET /xff HTTP/1.1\r\n${client.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`,
    );
    expect(exchange.responses[0]?.status).toBe(200);
    await waitFor('the request at the backend', () => rig.backend.requests.length === 1, 2000);
    const received = rig.backend.requests[0]!;
    expect(headerValues(received.headers, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(headerValues(received.headers, 'x-forwarded-proto')).toEqual(['http']);
    expect(received.rawHead).not.toMatch(/203\.0\.113\.7|198\.51\.100\.1|10\.0\.0\.1|evil\.test|https/);
  });

  it('is appended to when the client is a trusted proxy (so the test above is not vacuous)', async () => {
    const trusted = await startHostileRig({ trustedProxies: ['127.0.0.1'] });
    try {
      const exchange = await rawExchange(trusted.port, getHead('/xff', ['X-Forwarded-For: 203.0.113.7']));
      expect(exchange.responses[0]?.status).toBe(200);
      await waitFor('the request at the backend', () => trusted.backend.requests.length === 1, 2000);
      expect(headerValues(trusted.backend.requests[0]!.headers, 'x-forwarded-for')).toEqual(['203.0.113.7, 127.0.0.1']);
    } finally {
      await trusted.close();
    }
  });
});
