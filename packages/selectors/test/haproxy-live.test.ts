import { randomInt } from 'node:crypto';
import type { Server } from 'node:http';
import { type Backend, backend } from '@switchyard/core';
import {
  type HaproxyHashFunction,
  type HaproxyHashOptions,
  type HaproxyHashType,
  haproxyFirstValue,
  haproxyHash,
} from '@switchyard/selectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Haproxy, identityServer, pooled, prng, startHaproxy } from './helpers/haproxy.js';

// The oracle is a real HAProxy 2.6 (the Debian package) on loopback: every run draws
// new server sets, ids, weights and key bytes from a fresh seed, asks HAProxy which
// server each key reaches, and compares with haproxyHash. Reproduce a failing run
// with SWITCHYARD_ORACLE_SEED=<the printed seed>.
const SEED = Number(process.env.SWITCHYARD_ORACLE_SEED ?? randomInt(2 ** 31));
const random = prng(SEED);
const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));

const FUNCTIONS: readonly HaproxyHashFunction[] = ['sdbm', 'djb2', 'wt6', 'crc32'];
const TYPES: readonly HaproxyHashType[] = ['consistent', 'map-based'];
const KEYS_PER_BACKEND = 160;
const SOURCES_PER_BACKEND = 40;
const KEYS_WITH_SERVERS_DOWN = 120;

interface Pool {
  readonly name: string;
  readonly options: Partial<HaproxyHashOptions>;
  readonly backends: readonly Backend[];
  readonly names: readonly string[];
  readonly config: string;
}

/** A random server set: 2–8 servers in random order, some with fixed ids, weights drawn one of three ways. */
function drawPool(name: string, ids: readonly string[], options: Partial<HaproxyHashOptions>): Pool {
  const chosen = [...ids].sort(() => random() - 0.5).slice(0, int(2, Math.min(8, ids.length)));
  const style = random();
  const factor = int(2, 32);
  const weight = (): number =>
    style < 0.3 ? int(1, 4) : style < 0.6 ? Math.min(256, factor * int(1, 8)) : int(1, 256);
  const fixed = new Set<number>();
  const backends = chosen.map((id) => {
    const meta: Record<string, unknown> = {};
    if (random() < 0.4) {
      let fixedId = int(1, 40);
      while (fixed.has(fixedId)) fixedId = int(1, 40);
      fixed.add(fixedId);
      meta.haproxyId = fixedId;
    }
    return backend(id, weight(), meta);
  });
  const names = backends.map((_, i) => `s${i}`);
  const hashLine = `hash-type ${options.hashType} ${options.hashFunction ?? 'sdbm'}${options.avalanche ? ' avalanche' : ''}`;
  const config = [
    `backend ${name}`,
    options.balance === 'source' ? '  balance source' : '  balance hdr(x-key)',
    `  ${hashLine}`,
    ...backends.map((b, i) => {
      const id = b.meta.haproxyId === undefined ? '' : ` id ${String(b.meta.haproxyId)}`;
      return `  server ${names[i]} ${b.id} weight ${b.weight}${id}`;
    }),
  ].join('\n');
  return { name, options, backends, names, config };
}

/** Key bytes a header value may carry: visible ASCII except the list separator, obs-text, inner spaces. */
function drawKey(): Uint8Array {
  const length = int(1, 32);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const roll = random();
    let b = roll < 0.2 ? int(0x80, 0xff) : roll < 0.25 && i > 0 && i < length - 1 ? 0x20 : int(0x21, 0x7e);
    if (b === 0x2c) b = 0x2b;
    bytes[i] = b;
  }
  return bytes;
}

const servers: Server[] = [];
const pools: Pool[] = [];
const downPools: Pool[] = [];
let haproxy: Haproxy;

beforeAll(async () => {
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.4'];
  const labelled = await Promise.all([...hosts, ...hosts].map((h) => identityServer(h)));
  servers.push(...labelled.map((l) => l.server));
  const ids = labelled.map((l) => l.id);
  for (const hashType of TYPES) {
    for (const hashFunction of FUNCTIONS) {
      for (const avalanche of [false, true]) {
        pools.push(drawPool(`b${pools.length}`, ids, { hashType, hashFunction, avalanche }));
      }
    }
    for (const avalanche of [false, true]) {
      pools.push(drawPool(`b${pools.length}`, ids, { hashType, avalanche, balance: 'source' }));
    }
    for (let i = 0; i < 2; i++) {
      const hashFunction = FUNCTIONS[int(0, FUNCTIONS.length - 1)]!;
      downPools.push(drawPool(`d${downPools.length}`, ids, { hashType, hashFunction, avalanche: random() < 0.5 }));
    }
  }
  haproxy = await startHaproxy(
    (bind) => `frontend oracle
  bind ${bind}
  use_backend %[req.hdr(x-be)]
${[...pools, ...downPools].map((p) => p.config).join('\n')}`,
  );
}, 30_000);

afterAll(async () => {
  await haproxy?.stop();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

const latin1 = (text: string): Uint8Array => Buffer.from(text, 'latin1');

function describePool(pool: Pool): string {
  return `seed ${SEED} (SWITCHYARD_ORACLE_SEED), ${JSON.stringify(pool.options)}\n${pool.config}`;
}

describe(`haproxyHash agrees with a live HAProxy 2.6 (seed ${SEED})`, { timeout: 60_000 }, () => {
  it('every key reaches the same server for balance hdr(): both hash types, every function, with and without avalanche', async () => {
    const mismatches: string[] = [];
    for (const pool of pools.filter((p) => p.options.balance !== 'source')) {
      const selector = haproxyHash(pool.backends, pool.options);
      const keys = Array.from({ length: KEYS_PER_BACKEND }, drawKey);
      // Every fourth value carries a second list element: HAProxy hashes the first one only
      // (a comma inside double quotes does not end it).
      const values = keys.map((key, i) => (i % 4 === 3 ? Buffer.concat([key, latin1(', tail')]) : key));
      const answers = await pooled(
        values.map(
          (value) => () =>
            haproxy.ask({
              headers: [
                ['x-be', latin1(pool.name)],
                ['x-key', value],
              ],
            }),
        ),
        6,
      );
      keys.forEach((key, i) => {
        const want = selector.select(haproxyFirstValue(values[i]!)).next().value?.id;
        if (answers[i] !== want) {
          mismatches.push(
            `${Buffer.from(key).toString('hex')}: haproxy ${answers[i]}, ours ${want}\n${describePool(pool)}`,
          );
        }
      });
    }
    expect(mismatches.slice(0, 5), `${mismatches.length} mismatches`).toEqual([]);
  });

  it('balance source: every client address reaches the same server', async () => {
    const mismatches: string[] = [];
    for (const pool of pools.filter((p) => p.options.balance === 'source')) {
      const selector = haproxyHash(pool.backends, pool.options);
      const sources = Array.from(
        { length: SOURCES_PER_BACKEND },
        () => `127.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
      );
      const answers = await pooled(
        sources.map((localAddress) => () => haproxy.ask({ headers: [['x-be', latin1(pool.name)]], localAddress })),
        6,
      );
      sources.forEach((source, i) => {
        const want = selector.select(source).next().value?.id;
        if (answers[i] !== want)
          mismatches.push(`${source}: haproxy ${answers[i]}, ours ${want}\n${describePool(pool)}`);
      });
    }
    expect(mismatches.slice(0, 5), `${mismatches.length} mismatches`).toEqual([]);
  });

  it('servers marked down through the runtime API: HAProxy picks our first candidate that is up, and (map-based) the first pick of without(down) for every key', async () => {
    const mismatches: string[] = [];
    for (const pool of downPools) {
      // Map-based hashing is not consistent: with a server down HAProxy rebuilds the map and
      // re-spreads every key, so only the keys whose first pick is down have a fixed fallback.
      const mapBased = pool.options.hashType === 'map-based';
      const count = mapBased ? 1 : int(1, Math.min(3, pool.backends.length - 1));
      // Map-based: the heaviest server, so that enough keys have it as their first pick.
      const order = mapBased
        ? [...pool.backends.keys()].sort((a, b) => pool.backends[b]!.weight - pool.backends[a]!.weight)
        : [...pool.backends.keys()].sort(() => random() - 0.5);
      const down = new Set(order.slice(0, count));
      for (const i of down) {
        const answer = await haproxy.command(`set server ${pool.name}/${pool.names[i]} state maint`);
        expect(answer.trim(), `runtime API answer for ${pool.name}/${pool.names[i]}`).toBe('');
      }
      const downIds = new Set([...down].map((i) => pool.backends[i]!.id));
      const selector = haproxyHash(pool.backends, pool.options);
      const keys = Array.from({ length: KEYS_WITH_SERVERS_DOWN }, drawKey);
      const answers = await pooled(
        keys.map(
          (key) => () =>
            haproxy.ask({
              headers: [
                ['x-be', latin1(pool.name)],
                ['x-key', key],
              ],
            }),
        ),
        6,
      );
      let compared = 0;
      // Map-based: the map rebuilt without the servers down answers every key as HAProxy does.
      const rebuilt = mapBased ? selector.without?.(downIds) : undefined;
      if (mapBased) expect(rebuilt, 'a map-based selector has without()').toBeDefined();
      keys.forEach((key, i) => {
        if (rebuilt !== undefined) {
          const first = rebuilt.select(key).next().value?.id;
          if (answers[i] !== first) {
            mismatches.push(
              `${Buffer.from(key).toString('hex')} with ${[...downIds].join(', ')} down (rebuilt map): haproxy ${answers[i]}, ours ${first}\n${describePool(pool)}`,
            );
          }
        }
        if (mapBased && !downIds.has(selector.select(key).next().value?.id ?? '')) return;
        compared++;
        let want: string | undefined;
        const walk = selector.select(key);
        for (let pulls = 0; pulls < pool.backends.length && want === undefined; pulls++) {
          const next = walk.next();
          if (next.done) break;
          if (!downIds.has(next.value.id)) want = next.value.id;
        }
        if (answers[i] !== want) {
          mismatches.push(
            `${Buffer.from(key).toString('hex')} with ${[...downIds].join(', ')} down: haproxy ${answers[i]}, ours ${want}\n${describePool(pool)}`,
          );
        }
      });
      expect(compared, `keys compared in ${pool.name}`).toBeGreaterThan(0);
    }
    expect(mismatches.slice(0, 5), `${mismatches.length} mismatches`).toEqual([]);
  });
});
