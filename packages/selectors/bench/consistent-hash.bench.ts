import { consistentHash } from '@switchyard/selectors';
import HashRing from 'hashring';
import { bench, describe } from 'vitest';
import { HASH_BATCH as BATCH, backends, pickKeys, sink } from './keys.js';

// Same 100 backends, same keys, every pick a miss for hashring's LRU. hashring's
// `get` consults its LRU first; `max cache size: 0` crashes it (simple-lru-cache
// evicts from an empty list), so the fair "uncached get" is a 1-entry cache that never
// hits on 10,000 cycling keys, and "uncached lookup" calls the same steps `get` runs
// on a miss (`ring[find(hashValue(key))]`) with no cache at all.
const SET = backends(100);
const servers = Object.fromEntries(SET.map((b) => [b.id, { weight: b.weight }]));
const hashring = new HashRing(servers, 'md5', { 'max cache size': 1 });
const internals = hashring as unknown as {
  ring: { server: string }[];
  find(hash: number): number;
  hashValue(key: string): number;
};
const nginx = consistentHash(SET);
const ketama = consistentHash(SET, { algorithm: 'ketama' });

describe(`first pick, 100 backends (${BATCH} picks per op)`, () => {
  bench("consistentHash 'nginx'", () => pickKeys((key) => nginx.select(key).next().value));
  bench("consistentHash 'ketama'", () => pickKeys((key) => ketama.select(key).next().value));
  bench('hashring get (cache never hits)', () => pickKeys((key) => hashring.get(key)));
  bench('hashring uncached lookup', () =>
    pickKeys((key) => internals.ring[internals.find(internals.hashValue(key))]?.server),
  );
});

export { sink };
