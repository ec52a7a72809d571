/**
 * HAProxy's consistent-hash tree (`lb_chash.c`) as a sorted ring: every server owns
 * weight × 16 nodes at `full_hash(base + j)`. A lookup takes the node closest to the
 * hash on either side (the lower one on a tie); a server marked down leaves the tree,
 * so the next choice is the closest node among the servers still up.
 */

import type { Backend } from '@switchyard/core';
import { fullHash } from './haproxy-hashes.js';
import { DONE, type Ring, ringFromPoints } from './ring.js';

/** HAProxy's `BE_WEIGHT_SCALE`: consistent hashing gives a server 16 nodes per unit of user weight. */
export const HAPROXY_NODES_PER_WEIGHT = 16;

/** Builds the ring from each backend's node base (see `nodeBase`), in list order. */
export function haproxyRing(backends: readonly Backend[], bases: Uint32Array): Ring {
  let total = 0;
  for (const b of backends) total += b.weight * HAPROXY_NODES_PER_WEIGHT;
  const keys = new Uint32Array(total);
  const owners = new Uint16Array(total);
  let n = 0;
  for (let i = 0; i < backends.length; i++) {
    const base = bases[i]!;
    for (let j = backends[i]!.weight * HAPROXY_NODES_PER_WEIGHT - 1; j >= 0; j--) {
      keys[n] = fullHash((base + j) >>> 0);
      owners[n++] = i;
    }
  }
  return ringFromPoints(keys, owners, backends, false);
}

/**
 * The servers HAProxy would pick for one hash as servers go down one by one: first
 * the closest node's server; then, with that server out of the tree, the closest
 * node among the rest; and so on, each server once. Two cursors move outward from
 * the hash and skip nodes of servers already yielded, so a full walk costs
 * O(nodes) and the first pick O(1) after the lookup.
 */
export class HaproxyRingWalk implements IterableIterator<Backend> {
  private left = -1;
  private right = -1;
  private seen: Uint8Array | undefined = undefined;
  private yielded = 0;

  constructor(
    private readonly ring: Ring,
    private readonly hash: number,
  ) {}

  next(): IteratorResult<Backend, undefined> {
    const ring = this.ring;
    const points = ring.points;
    const owners = ring.owners;
    const n = points.length;
    const hash = this.hash;
    if (this.left < 0) {
      this.right = ring.find(hash);
      this.left = this.right === 0 ? n - 1 : this.right - 1;
      this.yielded = 1;
      return { done: false, value: ring.backends[owners[this.pickCloser(this.left, this.right)]!]! };
    }
    const total = ring.backends.length;
    if (this.yielded >= total) return DONE;
    let seen = this.seen;
    if (seen === undefined) {
      seen = new Uint8Array(total);
      seen[owners[this.pickCloser(this.left, this.right)]!] = 1;
      this.seen = seen;
    }
    // Each cursor moves at most one turn: every server not yet yielded owns nodes.
    let l = this.left;
    for (let steps = 0; seen[owners[l]!] === 1 && steps < n; steps++) l = l === 0 ? n - 1 : l - 1;
    let r = this.right;
    for (let steps = 0; seen[owners[r]!] === 1 && steps < n; steps++) r = r === n - 1 ? 0 : r + 1;
    this.left = l;
    this.right = r;
    const owner = owners[this.pickCloser(l, r)]!;
    if (seen[owner] === 1) return DONE;
    seen[owner] = 1;
    this.yielded++;
    return { done: false, value: ring.backends[owner]! };
  }

  /** `chash_get_server_hash`: the node below wins when it is at least as close. */
  private pickCloser(l: number, r: number): number {
    const points = this.ring.points;
    const below = (this.hash - points[l]!) >>> 0;
    const above = (points[r]! - this.hash) >>> 0;
    return below <= above ? l : r;
  }

  [Symbol.iterator](): HaproxyRingWalk {
    return this;
  }
}
