import { type Backend, backend, candidates, type RequestInfo, type Selector } from '@switchyard/core';
import { consistentHash, failover, fnvHash, pathRouter, prefixTable, random, roundRobin } from '@switchyard/selectors';
import { checkSelectorLaws } from '@switchyard/selectors/testing';
import { describe, expect, it } from 'vitest';
import { BoundedMemo } from '../src/internal/lru.js';
import { ids, take } from './helpers/fixtures.js';

const request = (path: string): RequestInfo => ({ method: 'GET', path, headers: {} });

/** A selector that always yields one fixed backend and counts its calls. */
function fixed(address: string): Selector & { calls: number } {
  const b = backend(address);
  const s = {
    calls: 0,
    select: () => {
      s.calls++;
      return [b][Symbol.iterator]();
    },
  };
  return s;
}

const first = (selector: Selector, path: string): string | undefined =>
  selector.select('k', request(path)).next().value?.id;

describe('pathRouter', () => {
  const api = fixed('10.0.0.1:80');
  const apiV2 = fixed('10.0.0.2:80');
  const slash = fixed('10.0.0.3:80');
  const fallback = fixed('10.0.0.9:80');
  const router = pathRouter(
    [
      { prefix: '/api', selector: api },
      { prefix: '/api/v2', selector: apiV2 },
      { prefix: '/static/', selector: slash },
    ],
    fallback,
  );

  it('takes the longest prefix on a segment boundary', () => {
    expect(first(router, '/api')).toBe('10.0.0.1:80');
    expect(first(router, '/api/')).toBe('10.0.0.1:80');
    expect(first(router, '/api/users')).toBe('10.0.0.1:80');
    expect(first(router, '/api/v2')).toBe('10.0.0.2:80');
    expect(first(router, '/api/v2/x/y')).toBe('10.0.0.2:80');
    expect(first(router, '/api/v20')).toBe('10.0.0.1:80');
    expect(first(router, '/apix')).toBe('10.0.0.9:80');
    expect(first(router, '/static/a.css')).toBe('10.0.0.3:80');
    expect(first(router, '/static')).toBe('10.0.0.9:80');
    expect(first(router, '/')).toBe('10.0.0.9:80');
  });

  it('ignores the query string and fragment', () => {
    expect(first(router, '/api?x=/api/v2')).toBe('10.0.0.1:80');
    expect(first(router, '/apix?/api')).toBe('10.0.0.9:80');
    expect(first(router, '/api/v2#frag')).toBe('10.0.0.2:80');
  });

  it('"/" catches everything; no match and no fallback, or no request, yields nothing', () => {
    const root = pathRouter([{ prefix: '/', selector: api }]);
    expect(first(root, '/anything/at/all')).toBe('10.0.0.1:80');
    const noFallback = pathRouter([{ prefix: '/api', selector: api }]);
    expect(noFallback.select('k', request('/other')).next().done).toBe(true);
    expect(noFallback.select('k').next().done).toBe(true);
    expect(router.select('k').next().value?.id).toBe('10.0.0.9:80');
  });

  it('delegates key and request to the chosen selector', () => {
    const set = [backend('10.1.0.1:80'), backend('10.1.0.2:80'), backend('10.1.0.3:80')];
    const ring = consistentHash(set);
    const routed = pathRouter([{ prefix: '/u', selector: ring }]);
    for (const key of ['a', 'b', 'c', 'd']) {
      expect(ids(take(routed.select(key, request('/u/1')), 50))).toEqual(ids(take(ring.select(key), 50)));
    }
  });

  it('keeps the route cache bounded under a flood of distinct paths', () => {
    const small = pathRouter([{ prefix: '/api', selector: api }], fallback, { cacheSize: 8 });
    for (let i = 0; i < 10_000; i++) first(small, `/api/item/${i}`);
    expect(first(small, '/api/item/3')).toBe('10.0.0.1:80');
    // The memo behind the router: bounded, and a hit does not recompute.
    const memo = new BoundedMemo(8);
    let computed = 0;
    const compute = (path: string): number => {
      computed++;
      return path.length;
    };
    for (let i = 0; i < 10_000; i++) memo.get(`/p/${i}`, compute);
    expect(memo.size).toBe(8);
    expect(computed).toBe(10_000);
    expect(memo.get('/p/9999', compute)).toBe(7);
    expect(computed).toBe(10_000);
    const uncached = pathRouter([{ prefix: '/api', selector: api }], fallback, { cacheSize: 0 });
    expect(first(uncached, '/api/z')).toBe('10.0.0.1:80');
  });

  it('rejects bad routes and options', () => {
    const invalid = expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' });
    expect(() => pathRouter([{ prefix: 'api', selector: api }])).toThrow(invalid);
    expect(() =>
      pathRouter([
        { prefix: '/a', selector: api },
        { prefix: '/a', selector: apiV2 },
      ]),
    ).toThrow(invalid);
    expect(() => pathRouter([{ prefix: '/a', selector: {} as Selector }])).toThrow(invalid);
    expect(() => pathRouter([], {} as Selector)).toThrow(invalid);
    expect(() => pathRouter([], undefined, { cacheSize: -1 })).toThrow(invalid);
  });
});

describe('failover', () => {
  const primary = [backend('10.0.0.1:80'), backend('10.0.0.2:80')];
  const backup = [backend('10.0.0.2:80'), backend('10.0.1.1:80'), backend('10.0.1.2:80')];

  it("yields tier 0's candidates, then tier 1's not already yielded", () => {
    const selector = failover([consistentHash(primary), consistentHash(backup)]);
    const got = ids([...candidates(selector.select('key'), 100)]);
    expect(got.slice(0, 2).sort()).toEqual(ids(primary).sort());
    expect(got.slice(2).sort()).toEqual(['10.0.1.1:80', '10.0.1.2:80']);
    expect(ids(take(selector.select('key'), 100))).toEqual(got);
  });

  it('moves on from an endless tier after maxPullsPerTier pulls', () => {
    const selector = failover([random(primary), fnvHash(backup)], { maxPullsPerTier: 64 });
    expect(new Set(ids(take(selector.select('k'), 100)))).toEqual(new Set(ids([...primary, ...backup])));
  });

  it('no tiers or empty tiers yield nothing; bad tiers are rejected', () => {
    expect(failover([]).select('k').next().done).toBe(true);
    expect(
      failover([roundRobin([]), consistentHash([])])
        .select('k')
        .next().done,
    ).toBe(true);
    const invalid = expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' });
    expect(() => failover([{} as Selector])).toThrow(invalid);
    expect(() => failover([], { maxPullsPerTier: 0 })).toThrow(invalid);
  });
});

describe('combinators pass the public laws', { timeout: 60_000 }, () => {
  // Split by a property of each backend (not its position) so the build is order independent.
  const tierOf = (b: Backend): number => b.port % 2;
  it('failover over two consistent-hash tiers', () => {
    checkSelectorLaws(
      (bs) =>
        failover([
          consistentHash(bs.filter((b) => tierOf(b) === 0)),
          consistentHash(bs.filter((b) => tierOf(b) === 1)),
        ]),
      { numRuns: 40 },
    );
  });

  it('pathRouter over consistent hash with an FNV fallback', () => {
    const factory = (bs: readonly Backend[]) =>
      pathRouter([{ prefix: '/api', selector: consistentHash(bs) }], fnvHash(bs));
    checkSelectorLaws(factory, { numRuns: 40, request: request('/api/users?id=1') });
    checkSelectorLaws(factory, { numRuns: 40, request: request('/other') });
  });
});

describe('prefixTable', () => {
  const table = prefixTable([
    { prefix: '/api', value: 'api' },
    { prefix: '/api/v2', value: 'v2' },
    { prefix: '/static/', value: 'static' },
  ]);

  it('is pathRouter’s matching rule on its own: longest prefix on a segment boundary, query ignored', () => {
    const cases: [string, string | undefined][] = [
      ['/api', 'api'],
      ['/api/', 'api'],
      ['/api/users', 'api'],
      ['/api/v2', 'v2'],
      ['/api/v2/x/y', 'v2'],
      ['/api/v20', 'api'],
      ['/apix', undefined],
      ['/static/a.css', 'static'],
      ['/static', undefined],
      ['/', undefined],
      ['/api?x=/api/v2', 'api'],
      ['/api/v2#frag', 'v2'],
    ];
    for (const [path, want] of cases) expect(table(path), path).toBe(want);
    expect(prefixTable([{ prefix: '/', value: 1 }])('/any/thing')).toBe(1);
    expect(prefixTable([{ prefix: '/', value: 1 }], { cacheSize: 0 })('/')).toBe(1);
  });

  it('rejects bad prefixes and options, naming the entry', () => {
    const invalid = (re: RegExp) =>
      expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION', message: expect.stringMatching(re) });
    expect(() => prefixTable([{ prefix: 'api', value: 1 }])).toThrow(invalid(/prefixTable entries\[0\]\.prefix/));
    expect(() =>
      prefixTable([
        { prefix: '/a', value: 1 },
        { prefix: '/a', value: 2 },
      ]),
    ).toThrow(invalid(/entries\[1\]\.prefix: expected a unique prefix/));
    expect(() => prefixTable({} as never)).toThrow(invalid(/prefixTable entries/));
    expect(() => prefixTable([], { maxCachedPathLength: 0 })).toThrow(invalid(/maxCachedPathLength/));
  });
});
