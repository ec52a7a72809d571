import { describe, expect, it } from 'vitest';
import { h1HeadersOf, h2RequestProblem, wantsTrailers } from '../../src/internal/server/h2-request-rules.js';
import { trailerPairs } from '../../src/internal/server/trailers.js';
import { peer, peersApp } from '../helpers/server-client.js';
import { serverFixtures } from '../helpers/server-fixtures.js';
import { sendRawH2 } from './helpers/raw-h2.js';

const { upstream, proxy } = serverFixtures(1000);

const PROTOCOL_ERROR = 1;
const BASE: [string, string][] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'app.example'],
];

function flat(pairs: readonly (readonly [string, string])[]): string[] {
  return pairs.flat();
}

/** Request heads RFC 9113 §8.2–8.3 calls malformed, each with the rule it breaks. */
const MALFORMED: [string, [string, string][]][] = [
  ['Connection', [...BASE, ['connection', 'keep-alive']]],
  ['Keep-Alive', [...BASE, ['keep-alive', 'timeout=5']]],
  ['Proxy-Connection', [...BASE, ['proxy-connection', 'keep-alive']]],
  ['Transfer-Encoding', [...BASE, ['transfer-encoding', 'chunked']]],
  ['Upgrade', [...BASE, ['upgrade', 'websocket']]],
  ['TE other than trailers', [...BASE, ['te', 'gzip']]],
  ['upper-case name', [...BASE, ['X-Upper', '1']]],
  ['unknown pseudo-header', [...BASE, [':protocol', 'websocket']]],
  ['pseudo-header after a regular field', [...BASE.slice(0, 3), ['x-a', '1'], [':authority', 'app.example']]],
  ['repeated :path', [...BASE, [':path', '/again']]],
  ['missing :path', BASE.filter(([n]) => n !== ':path')],
  ['missing :method', BASE.filter(([n]) => n !== ':method')],
  ['empty :path', BASE.map(([n, v]) => [n, n === ':path' ? '' : v] as [string, string])],
  ['Host other than :authority', [...BASE, ['host', 'other.example']]],
];

describe('HTTP/2 request rules (pure)', () => {
  it.each(MALFORMED)('%s is malformed', (_rule, pairs) => {
    expect(h2RequestProblem(flat(pairs))).toBeTypeOf('string');
  });

  it('a well-formed head passes; te: trailers and a matching Host are allowed', () => {
    expect(h2RequestProblem(flat(BASE))).toBeUndefined();
    expect(h2RequestProblem(flat([...BASE, ['te', 'trailers'], ['host', 'APP.example']]))).toBeUndefined();
    expect(wantsTrailers(flat([...BASE, ['te', 'trailers']]))).toBe(true);
    expect(wantsTrailers(flat(BASE))).toBe(false);
  });

  it('the HTTP/1.1 view: no pseudo-header fields, :authority as Host, cookie crumbs joined, order kept', () => {
    const raw = flat([...BASE, ['cookie', 'a=1'], ['x-a', '1'], ['cookie', 'b=2']]);
    expect(h1HeadersOf(raw)).toEqual(['host', 'app.example', 'cookie', 'a=1; b=2', 'x-a', '1']);
    expect(h1HeadersOf(flat([...BASE, ['host', 'app.example']]))).toEqual(['host', 'app.example']);
  });
});

describe('response trailers (pure)', () => {
  it('raw Buffer pairs (HTTP/1.1) and a headers object (HTTP/2) become lower-case string pairs', () => {
    expect(
      trailerPairs([Buffer.from('Grpc-Status'), Buffer.from('0'), Buffer.from('x-sum'), Buffer.from('abc')]),
    ).toEqual(['grpc-status', '0', 'x-sum', 'abc']);
    expect(trailerPairs({ 'grpc-status': '14', 'x-multi': ['a', 'b'] })).toEqual([
      'grpc-status',
      '14',
      'x-multi',
      'a',
      'x-multi',
      'b',
    ]);
    expect(trailerPairs(null)).toEqual([]);
    expect(trailerPairs({})).toEqual([]);
  });

  it('framing, routing and connection fields, pseudo-header fields and invalid fields are dropped', () => {
    const object = {
      'content-length': '3',
      'transfer-encoding': 'chunked',
      connection: 'close',
      host: 'a',
      ':status': '200',
      'bad name': 'x',
      'x-bad-value': 'a\r\nb',
      'x-ok': 'fine',
    };
    expect(trailerPairs(object)).toEqual(['x-ok', 'fine']);
  });
});

describe('malformed HTTP/2 requests on the wire', () => {
  it.each(MALFORMED)('%s: refused with PROTOCOL_ERROR, nothing forwarded', async (_rule, pairs) => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const outcome = await sendRawH2(port, pairs);
    expect(outcome.answered).toBe(false);
    // nghttp2 refuses most of these itself: as a stream error, or for a broken header block as a
    // connection error; the proxy's own checks answer the rest with RST_STREAM.
    expect(outcome.rstCode ?? outcome.goawayCode).toBe(PROTOCOL_ERROR);
    expect(u.requests.length).toBe(0);
  });

  it('the same connection then serves a well-formed request', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { h2c: true, accessLog: false });
    const outcome = await sendRawH2(port, BASE);
    expect(outcome.answered).toBe(true);
    expect(u.requests.length).toBe(1);
  });
});
