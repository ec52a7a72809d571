import type { Backend } from '@switchyard/core';
import HashRing from 'hashring';
import { type Ring, ringFromPoints } from './ring.js';

/**
 * Builds the `hashring` package's libketama MD5 continuum for `backends` (in the
 * given order) and copies it into a typed-array {@link Ring}.
 *
 * Only the public `points()` API is used: the per-server point lists, in server
 * order, stably sorted by value, are exactly `hashring`'s own ring (its `sort` is
 * stable and it keeps duplicate values), so the lower-bound lookup on the copy
 * returns what `hashring`'s `get` and `range` return.
 */
export function ketamaRing(backends: readonly Backend[], vnodes: number): Ring {
  const servers: Record<string, { weight: number }> = {};
  for (const b of backends) servers[b.id] = { weight: b.weight };
  const ring = new HashRing(servers, 'md5', { 'vnode count': vnodes, 'max cache size': 1 });
  const byServer = ring.points(backends.map((b) => b.id)) as unknown as Record<string, number[]>;
  let total = 0;
  for (const b of backends) total += byServer[b.id]?.length ?? 0;
  const hashes = new Uint32Array(total);
  const ranks = new Uint16Array(total);
  let n = 0;
  for (let rank = 0; rank < backends.length; rank++) {
    for (const value of byServer[backends[rank]!.id] ?? []) {
      hashes[n] = value;
      ranks[n++] = rank;
    }
  }
  return ringFromPoints(hashes, ranks, backends, false);
}
