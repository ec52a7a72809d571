/**
 * How HAProxy numbers servers and turns a server or a client address into the
 * integers its hashing works on: numeric server ids (`puid`), HAProxy 3.0's
 * address-based server keys, and `balance source`'s address word.
 */

import { isIP } from 'node:net';
import { type Backend, invalidOption } from '@switchyard/core';
import { fullHash } from './haproxy-hashes.js';
import { xxh32 } from './xxhash.js';

/**
 * Largest explicit server id accepted. HAProxy places node j of server `id` at
 * `full_hash(id × 4096 + j)` in 32-bit arithmetic: ids up to 2^20 − 1 never wrap,
 * so no two servers can share a ring position.
 */
export const HAPROXY_MAX_SERVER_ID = 0xfffff;

/** HAProxy's user weight range (`weight` 1–256; 0 means "no traffic", which a Backend cannot say). */
export const HAPROXY_MAX_WEIGHT = 256;

/**
 * Server ids as HAProxy assigns them: `meta.haproxyId` where given (the `id`
 * server setting), otherwise the first unused id at or after a counter that
 * starts at 1 and advances once per server in list order, explicit ids included.
 */
export function haproxyIds(component: string, backends: readonly Backend[]): Uint32Array {
  const ids = new Uint32Array(backends.length);
  const used = new Set<number>();
  for (let i = 0; i < backends.length; i++) {
    const raw = backends[i]!.meta.haproxyId;
    if (raw === undefined) continue;
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > HAPROXY_MAX_SERVER_ID) {
      invalidOption(`${component} backends[${i}].meta.haproxyId`, `an integer from 1 to ${HAPROXY_MAX_SERVER_ID}`, raw);
    }
    if (used.has(raw)) invalidOption(`${component} backends[${i}].meta.haproxyId`, 'an id no other server has', raw);
    used.add(raw);
    ids[i] = raw;
  }
  let next = 1;
  for (let i = 0; i < backends.length; i++) {
    if (ids[i] === 0) {
      // Bounded: at most backends.length ids are taken, so this skips at most that many.
      while (used.has(next)) next++;
      ids[i] = next;
      used.add(next);
    }
    next++;
  }
  return ids;
}

/** Checks HAProxy's weight range, 1 to 256. */
export function checkHaproxyWeights(component: string, backends: readonly Backend[]): void {
  for (let i = 0; i < backends.length; i++) {
    const w = backends[i]!.weight;
    if (w > HAPROXY_MAX_WEIGHT) {
      invalidOption(
        `${component} backends[${i}].weight`,
        `an integer from 1 to ${HAPROXY_MAX_WEIGHT} (HAProxy's range)`,
        w,
      );
    }
  }
}

function ipv4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address in network order (`::`, embedded IPv4 and zones handled). */
export function ipv6Bytes(text: string): Uint8Array {
  let body = text;
  const zone = body.indexOf('%');
  if (zone >= 0) body = body.slice(0, zone);
  const out = new Uint8Array(16);
  const lastColon = body.lastIndexOf(':');
  let tail: number[] = [];
  if (body.includes('.', lastColon)) {
    tail = ipv4Bytes(body.slice(lastColon + 1));
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const gap = body.indexOf('::');
  let groups: number[];
  if (gap >= 0) {
    const head = parse(body.slice(0, gap));
    const rest = parse(body.slice(gap + 2));
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    groups = parse(body);
  }
  for (let g = 0; g < 8; g++) {
    out[2 * g] = (groups[g] ?? 0) >>> 8;
    out[2 * g + 1] = (groups[g] ?? 0) & 0xff;
  }
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

/**
 * `balance source`'s hash input for a client address: an IPv4 address as its 32-bit
 * value; an IPv6 one as the XOR of its four 32-bit words. An IPv4-mapped IPv6
 * address (`::ffff:a.b.c.d`, as a dual-stack socket reports an IPv4 client) counts
 * as IPv4, since HAProxy sees the IPv4 connection. Throws on anything else.
 */
export function sourceWord(component: string, address: string): number {
  const family = isIP(address);
  if (family === 4) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Bytes(address);
    return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  }
  if (family !== 6) return invalidOption(`${component} key (balance source)`, 'an IPv4 or IPv6 address', address);
  const bytes = ipv6Bytes(address);
  const word = (k: number): number =>
    ((bytes[k]! << 24) | (bytes[k + 1]! << 16) | (bytes[k + 2]! << 8) | bytes[k + 3]!) >>> 0;
  const mapped = word(0) === 0 && word(4) === 0 && word(8) === 0xffff;
  if (mapped) return word(12);
  return (word(0) ^ word(4) ^ word(8) ^ word(12)) >>> 0;
}

/** Where HAProxy derives a server's consistent-hash nodes from. */
export type HaproxyHashKey = 'id' | 'addr' | 'addr-port';

/**
 * The base of a server's ring keys: node j sits at `full_hash(base + j)`. HAProxy up to 2.9 (`'id'`): base = id × 4096, step 1.
 * HAProxy 3.0's `hash-key addr` / `addr-port`: base = a key from the address (and
 * port); a host that is not an IP literal falls back to 3.0's `full_hash(id)`.
 */
export function nodeBase(backend: Backend, id: number, hashKey: HaproxyHashKey): number {
  if (hashKey === 'id') return Math.imul(id, 4096) >>> 0;
  const family = isIP(backend.host);
  if (family === 0) return fullHash(id);
  const start = hashKey === 'addr-port' ? fullHash(backend.port) : 0;
  if (family === 4) {
    // `s_addr` is the address in network byte order read as a little-endian word.
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Bytes(backend.host);
    return fullHash((start + ((a | (b << 8) | (c << 16) | (d << 24)) >>> 0)) >>> 0);
  }
  return xxh32(ipv6Bytes(backend.host), start);
}
