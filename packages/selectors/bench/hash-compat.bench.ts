import { consistentHash, haproxyHash, maglev, ringHash } from '@switchyard/selectors';
import { bench, describe } from 'vitest';
import { HASH_BATCH as BATCH, backends, pickKeys, sink } from './keys.js';

// The HAProxy and Envoy selectors beside the nginx ring, on the same 100 backends and keys.
const SET = backends(100);
const nginx = consistentHash(SET);
const hapConsistent = haproxyHash(SET, { hashType: 'consistent' });
const hapMap = haproxyHash(SET);
const ring = ringHash(SET);
const envoyMaglev = maglev(SET, { variant: 'envoy' });

describe(`compatible hashes, first pick, 100 backends (${BATCH} picks per op)`, () => {
  bench("consistentHash 'nginx' (beside the compatible hashes)", () =>
    pickKeys((key) => nginx.select(key).next().value),
  );
  bench("haproxyHash 'consistent'", () => pickKeys((key) => hapConsistent.select(key).next().value));
  bench("haproxyHash 'map-based'", () => pickKeys((key) => hapMap.select(key).next().value));
  bench('ringHash (Envoy ring_hash)', () => pickKeys((key) => ring.select(key).next().value));
  bench("maglev 'envoy'", () => pickKeys((key) => envoyMaglev.select(key).next().value));
});

export { sink };
