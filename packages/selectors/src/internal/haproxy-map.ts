/**
 * HAProxy's map-based hashing (`lb_map.c`): the usable servers expanded into a table
 * of total-weight entries in HAProxy's interleaved order, and `hash % total` picks
 * the entry. A server marked down makes HAProxy rebuild the table without it.
 */

import type { Backend } from '@switchyard/core';
import { DONE } from './ring.js';

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/**
 * Effective weights: HAProxy divides every user weight by their greatest common
 * divisor (`wmult`), computed once over all servers, down or not.
 */
export function mapWeights(backends: readonly Backend[]): Int32Array {
  let divisor = 0;
  for (const b of backends) divisor = gcd(b.weight, divisor);
  return Int32Array.from(backends, (b) => b.weight / divisor);
}

/**
 * Fills `out[0, upTo]` of `recalc_server_map` for the servers with `excluded[i] === 0`
 * and returns the entry at `upTo`: at each entry every server adds its weight to its
 * score, the first with the largest ⌊(score + total) / total⌋ (C division, towards 0)
 * takes the entry and gives back `total`.
 */
function scheduleEntry(
  weights: Int32Array,
  excluded: Uint8Array | undefined,
  total: number,
  upTo: number,
  out?: Uint16Array,
): number {
  const n = weights.length;
  const score = new Float64Array(n);
  let best = -1;
  for (let o = 0; o <= upTo; o++) {
    let max = 0;
    best = -1;
    for (let i = 0; i < n; i++) {
      if (excluded !== undefined && excluded[i] === 1) continue;
      score[i]! += weights[i]!;
      const v = Math.trunc((score[i]! + total) / total);
      if (best < 0 || v > max) {
        max = v;
        best = i;
      }
    }
    score[best]! -= total;
    if (out !== undefined) out[o] = best;
  }
  return best;
}

/**
 * The map over the servers not in `down` (`down[i] === 1`; every server up when absent),
 * as `recalc_server_map` builds it. Empty when every server is down.
 */
export function buildMap(weights: Int32Array, down?: Uint8Array): Uint16Array {
  let total = 0;
  for (let i = 0; i < weights.length; i++) if (down === undefined || down[i] === 0) total += weights[i]!;
  const map = new Uint16Array(total);
  if (total > 0) scheduleEntry(weights, down, total, total - 1, map);
  return map;
}

/**
 * The servers HAProxy would pick for one hash as servers go down one by one: the
 * entry of `map` (built without the servers in `down`) first, then the entry of the map
 * rebuilt without that server too, and so on, each server that is not down once. A
 * fallback costs O(total weight × servers) to replay the schedule.
 */
export class HaproxyMapWalk implements IterableIterator<Backend> {
  private excluded: Uint8Array | undefined = undefined;
  private first = 0;
  private yielded = 0;
  private readonly up: number;

  constructor(
    private readonly backends: readonly Backend[],
    private readonly weights: Int32Array,
    private readonly map: Uint16Array,
    private readonly hash: number,
    private readonly down?: Uint8Array,
    downCount = 0,
  ) {
    this.up = backends.length - downCount;
  }

  next(): IteratorResult<Backend, undefined> {
    const n = this.backends.length;
    if (this.yielded >= this.up) return DONE;
    if (this.yielded === 0) {
      this.first = this.map[this.hash % this.map.length]!;
      this.yielded = 1;
      return { done: false, value: this.backends[this.first]! };
    }
    let excluded = this.excluded;
    if (excluded === undefined) {
      excluded = this.down === undefined ? new Uint8Array(n) : this.down.slice();
      excluded[this.first] = 1;
      this.excluded = excluded;
    }
    let total = 0;
    for (let i = 0; i < n; i++) if (excluded[i] === 0) total += this.weights[i]!;
    const pick = scheduleEntry(this.weights, excluded, total, this.hash % total);
    excluded[pick] = 1;
    this.yielded++;
    return { done: false, value: this.backends[pick]! };
  }

  [Symbol.iterator](): HaproxyMapWalk {
    return this;
  }
}
