/**
 * Maglev and the load-aware selectors against consistentHash (the nginx ring a user
 * would otherwise pick), in the same run. Run: `cd packages/selectors && npx vitest bench --run bench/beyond.bench.ts`.
 * Figures to check (issue 8): Maglev builds 1,000 backends (M = 100,003) in < 20 ms;
 * Envoy reports Maglev ~10x faster to build and ~5x faster to pick than a large ring.
 */
import { type Backend, backend, LoadTracker } from '@switchyard/core';
import { bench, describe } from 'vitest';
import { boundedLoad } from '../src/bounded-load.js';
import { consistentHash } from '../src/consistent-hash.js';
import { leastRequest } from '../src/least-request.js';
import { maglev } from '../src/maglev.js';
import { peakEwma } from '../src/peak-ewma.js';

function pool(n: number): Backend[] {
  return Array.from({ length: n }, (_, i) => backend(`10.0.${i >> 8}.${i & 255}:8080`));
}

const thousand = pool(1000);
const hundred = pool(100);
const keys = Array.from({ length: 4096 }, (_, i) => `/objects/${i * 7919}/chunk`);

describe('build, 1,000 backends', () => {
  bench('maglev M = 100,003', () => {
    maglev(thousand, { tableSize: 100_003 });
  });
  bench('consistentHash nginx (160 points x 1,000)', () => {
    consistentHash(thousand);
  });
});

describe('build, 100 backends', () => {
  bench('maglev M = 65,537 (default)', () => {
    maglev(hundred);
  });
  bench('consistentHash nginx (160 points x 100)', () => {
    consistentHash(hundred);
  });
});

describe('pick (first candidate), 1,000 backends', () => {
  const m = maglev(thousand, { tableSize: 100_003 });
  const ring = consistentHash(thousand);
  const tracker = new LoadTracker();
  const bounded = boundedLoad(thousand, { tracker });
  const least = leastRequest(thousand, { tracker });
  const ewma = peakEwma(thousand, { tracker });
  let i = 0;
  bench('maglev', () => {
    m.select(keys[i++ & 4095]!).next();
  });
  bench('consistentHash nginx', () => {
    ring.select(keys[i++ & 4095]!).next();
  });
  bench('boundedLoad over consistentHash (idle pool: home is always eligible)', () => {
    bounded.select(keys[i++ & 4095]!).next();
  });
  bench('leastRequest P2C', () => {
    least.select('').next();
  });
  bench('peakEwma P2C', () => {
    ewma.select('').next();
  });
});
