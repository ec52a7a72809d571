import { crc32 as zlibCrc32 } from 'node:zlib';
import { type Backend, backend, candidates } from '@switchyard/core';
import { consistentHash } from '@switchyard/selectors';
import { arbBackends, arbKey } from '@switchyard/selectors/testing';
import fc from 'fast-check';
import HashRing from 'hashring';
import { describe, expect, it } from 'vitest';
import { ids, take } from './helpers/fixtures.js';

// Pinned so a failure reproduces; fast-check prints the seed and counterexample on failure.
const SEED = 0x5eed_c4a5;
const RUNS = 150;

function keyText(key: string | Uint8Array): string {
  return typeof key === 'string' ? key : Buffer.from(key).toString('latin1');
}

/**
 * nginx's ring written the obvious way (objects, zlib's CRC-32, Array#sort), as an
 * independent reference for the typed-array build: `ngx_http_upstream_init_chash`
 * hashes `host "\0" port` then each previous point as 4 little-endian bytes.
 */
function referenceNginxRing(backends: readonly Backend[]): { hash: number; id: string }[] {
  const points: { hash: number; id: string }[] = [];
  for (const b of backends) {
    const base = Buffer.from(`${b.host}\0${b.port}`);
    let prev = 0;
    for (let j = 0; j < b.weight * 160; j++) {
      const le = Buffer.alloc(4);
      le.writeUInt32LE(prev);
      prev = zlibCrc32(Buffer.concat([base, le]));
      points.push({ hash: prev, id: b.id });
    }
  }
  points.sort((a, b) => a.hash - b.hash);
  return points.filter((p, i) => i === 0 || points[i - 1]!.hash !== p.hash);
}

describe("consistentHash 'nginx' against a reference implementation", { timeout: 60_000 }, () => {
  it('first pick and walk agree for any backends, weights and key bytes', () => {
    fc.assert(
      fc.property(arbBackends({ min: 1, max: 12, weights: { min: 1, max: 4 } }), arbKey(), (backends, key) => {
        const ring = referenceNginxRing(backends);
        const bytes = typeof key === 'string' ? Buffer.from(key) : Buffer.from(key);
        const h = zlibCrc32(bytes);
        let start = ring.findIndex((p) => p.hash >= h);
        if (start < 0) start = 0;
        const want = Array.from({ length: Math.min(ring.length, 40) }, (_, i) => ring[(start + i) % ring.length]!.id);
        // Two backends colliding on a point is tie-broken arbitrarily by nginx (qsort); at
        // ≤ 7,680 points the chance that a walk of 40 meets one is about 1e-5 per run.
        const got = ids(take(consistentHash(backends).select(key), want.length));
        expect(got).toEqual(want);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

describe("consistentHash 'ketama' against the hashring package", { timeout: 60_000 }, () => {
  it('first pick equals new HashRing(...).get(key); distinct walk equals range(key)', () => {
    fc.assert(
      fc.property(
        arbBackends({ min: 1, max: 16, weights: { min: 1, max: 5 } }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        (backends, key) => {
          const servers = Object.fromEntries(backends.map((b) => [b.id, { weight: b.weight }]));
          const reference = new HashRing(servers, 'md5', { 'max cache size': 1 });
          const selector = consistentHash(backends, { algorithm: 'ketama' });
          expect(selector.select(key).next().value?.id).toBe(reference.get(key));
          const distinct = ids([...candidates(selector.select(key), 1_000_000)]);
          expect(distinct).toEqual(reference.range(key));
          expect(selector.select(new TextEncoder().encode(key)).next().value?.id).toBe(reference.get(key));
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('uses 4 × vnode count points per average-weight backend', () => {
    const set = [backend('10.0.0.1:1'), backend('10.0.0.2:1')];
    expect(take(consistentHash(set, { algorithm: 'ketama' }).select('x'), 1_000_000).length).toBe(320);
    expect(take(consistentHash(set, { algorithm: 'ketama', pointsPerWeight: 8 }).select('x'), 1_000_000).length).toBe(
      16,
    );
  });

  it('hashes byte keys as bytes (keyText is only for messages)', () => {
    const set = [backend('10.0.0.1:1'), backend('10.0.0.2:1'), backend('10.0.0.3:1')];
    const reference = new HashRing(Object.fromEntries(set.map((b) => [b.id, { weight: 1 }])));
    const key = new Uint8Array([0x61, 0x62, 0x63]);
    expect(consistentHash(set, { algorithm: 'ketama' }).select(key).next().value?.id).toBe(reference.get(keyText(key)));
  });
});
