import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getHead, rawExchange } from '../helpers/raw-client.js';
import { type HostileRig, startHostileRig } from './hostile-proxy.js';
import { expectForwardedClean, policyViolation } from './policy-oracle.js';

// Arbitrary request heads, most nearly valid (so they get past the parser and exercise the
// policy), some broken in every way a smuggler would try. For each: the proxy answers with valid
// HTTP/1.1 (or closes), stays up, and the backend never receives a head the policy forbids.

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHARS.split('')), minLength: 1, maxLength: 10 });
const anyByte = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const junk = fc.string({ unit: anyByte, minLength: 1, maxLength: 16 });
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 24,
});

const SPECIAL_NAMES = [
  'Host',
  'Content-Length',
  'Transfer-Encoding',
  'Connection',
  'Upgrade',
  'TE',
  'Trailer',
  'Keep-Alive',
  'Proxy-Connection',
  'Proxy-Authorization',
  'Proxy-Authenticate',
  'HTTP2-Settings',
  'X-Forwarded-For',
  'X-Forwarded-Host',
  'X-Forwarded-Proto',
  'Expect',
  'X-Private',
] as const;

const nomination = fc.oneof(
  { weight: 4, arbitrary: token },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'Host',
      'x-forwarded-for',
      'X-Forwarded-Proto',
      ':authority',
      'keep-alive',
      'close',
      'X-Private',
      'upgrade',
      'TE',
      'bad token',
      '@',
      '"quoted"',
    ),
  },
);

function valueFor(name: string): fc.Arbitrary<string> {
  switch (name) {
    case 'Content-Length':
      return fc.oneof(
        fc.nat(40).map(String),
        fc.constantFrom('-1', '5, 5', '5, 6', '1x', '', ' 3', '99999999999999999999'),
      );
    case 'Transfer-Encoding':
      return fc.constantFrom(
        'chunked',
        'identity',
        'chunked, identity',
        'gzip, chunked',
        'chunked, chunked',
        'Chunked',
        'xchunked',
      );
    case 'Connection':
      return fc.array(nomination, { maxLength: 12 }).map((t) => t.join(', '));
    case 'Upgrade':
      return fc.constantFrom('websocket', 'h2c', 'foo/1', '');
    default:
      return fc.oneof({ weight: 6, arbitrary: printable }, { weight: 1, arbitrary: junk });
  }
}

const headerName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SPECIAL_NAMES) },
  { weight: 3, arbitrary: token },
  { weight: 1, arbitrary: junk.filter((s) => !s.includes('\n')) },
);
const header = headerName.chain((name) => valueFor(name).map((value): [string, string] => [name, value]));

const requestHead = fc.record({
  method: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH') },
    { weight: 1, arbitrary: fc.constantFrom('CONNECT', 'TRACE', 'get', 'G ET') },
    { weight: 1, arbitrary: token },
  ),
  target: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('/', '/fuzz', '/fuzz?q=1&r=%20', '/a/b/../c') },
    { weight: 1, arbitrary: fc.constantFrom('*', 'http://example.test/abs', '/a b', '/%00', '//double') },
    { weight: 1, arbitrary: junk.map((j) => `/${j}`) },
  ),
  version: fc.oneof(
    { weight: 10, arbitrary: fc.constant('HTTP/1.1') },
    { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.10', 'http/1.1', 'HTTP/9.9', '') },
  ),
  withHost: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  headers: fc.array(header, { maxLength: 8 }),
  lineEnd: fc.oneof({ weight: 20, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constant('\n') }),
  fold: fc.oneof({ weight: 15, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  body: fc.constantFrom(
    '',
    'hello',
    '0\r\n\r\n',
    '5\r\nhello\r\n0\r\n\r\n',
    'ffffffffffffffffff\r\nx\r\n',
    'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
  ),
});

type Head = typeof requestHead extends fc.Arbitrary<infer T> ? T : never;

function render(head: Head): { bytes: Buffer; headers: [string, string][]; clean: boolean } {
  const headers: [string, string][] = [
    ...(head.withHost ? [['Host', 'fuzz.test'] as [string, string]] : []),
    ...head.headers,
  ];
  const lines = [`${head.method} ${head.target} ${head.version}`, ...headers.map(([n, v]) => `${n}: ${v}`)];
  if (head.fold && lines.length > 1) lines.push(' folded-continuation');
  const text = lines.join(head.lineEnd) + head.lineEnd + head.lineEnd + head.body;
  const clean =
    head.lineEnd === '\r\n' &&
    !head.fold &&
    headers.every(([n, v]) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(n) && /^[\t\x20-\x7e]*$/.test(v));
  return { bytes: Buffer.from(text, 'latin1'), headers, clean };
}

let rig: HostileRig;
beforeAll(async () => {
  rig = await startHostileRig();
});
afterAll(async () => {
  await rig.close();
});

describe('fuzzed request heads', () => {
  it(`never crash the proxy, never reach the backend in a forbidden shape, always get valid HTTP/1.1 (seed ${SEED}, ${RUNS} runs)`, async () => {
    console.info(`fuzz seed ${SEED} (set FUZZ_SEED to replay), ${RUNS} runs`);
    let forwarded = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(requestHead, async (head) => {
        const { bytes, headers, clean } = render(head);
        const before = rig.backend.requests.length;
        const exchange = await rawExchange(rig.port, bytes, {
          end: true,
          responses: 1000,
          timeoutMs: 2000,
          headRequest: head.method === 'HEAD',
        });
        const label = JSON.stringify(bytes.toString('latin1'));
        expect(
          exchange.invalid,
          `${label} → ${JSON.stringify(exchange.raw.toString('latin1').slice(0, 300))}`,
        ).toBeUndefined();
        for (const response of exchange.responses) expect(response.version, label).toBe('HTTP/1.1');
        await new Promise((r) => setTimeout(r, 5));
        const arrived = rig.backend.requests.slice(before);
        expect(rig.backend.anomalies, label).toEqual([]);
        const connection = headers.filter(([n]) => n.toLowerCase() === 'connection').map(([, v]) => v);
        if (clean && policyViolation(connection) !== undefined) {
          // A separately framed request pipelined in the body ('GET /smuggled') is a request of its own.
          const itself = arrived.filter((r) => r.target === head.target && r.method === head.method);
          expect(itself, `${label}: ${policyViolation(connection)} must not be forwarded`).toEqual([]);
        }
        for (const received of arrived) {
          // The client's own headers describe only the fuzzed request, not one pipelined in its body.
          const itself = received.target === head.target && received.method === head.method;
          expectForwardedClean(received, clean && itself ? headers : []);
        }
        if (arrived.length > 0) forwarded++;
        if (exchange.responses.some((r) => r.status === 400)) rejected++;
        const alive = await rawExchange(rig.port, getHead('/alive'), { timeoutMs: 2000 });
        expect(alive.responses[0]?.status, `proxy stopped serving after ${label}`).toBe(200);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.info(`fuzz: ${RUNS} heads, ${forwarded} forwarded, ${rejected} answered 400`);
    // The generator is useful only if both sides of the policy are exercised.
    expect(forwarded).toBeGreaterThan(RUNS / 10);
    expect(rejected).toBeGreaterThan(RUNS / 10);
  }, 120_000);
});
