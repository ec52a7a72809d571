import { consistentHash, haproxyHash, maglev, ringHash } from '@switchyard/selectors';
import { bench, describe } from 'vitest';
import { HASH_BATCH as BATCH, backends, KEYS } from './keys.js';

// The HAProxy and Envoy selectors beside the nginx ring, on the same 100 backends and keys.
const SET = backends(100);
const nginx = consistentHash(SET);
const hapConsistent = haproxyHash(SET, { hashType: 'consistent' });
const hapMap = haproxyHash(SET);
const ring = ringHash(SET);
const envoyMaglev = maglev(SET, { variant: 'envoy' });

let cursor = 0;
let sink = 0;
function run(pick: (key: string) => unknown): void {
  for (let i = 0; i < BATCH; i++) {
    const key = KEYS[cursor]!;
    cursor = cursor + 1 === KEYS.length ? 0 : cursor + 1;
    if (pick(key) !== undefined) sink++;
  }
}

describe(`compatible hashes, first pick, 100 backends (${BATCH} picks per op)`, () => {
  bench("consistentHash 'nginx' (beside the compatible hashes)", () => run((key) => nginx.select(key).next().value));
  bench("haproxyHash 'consistent'", () => run((key) => hapConsistent.select(key).next().value));
  bench("haproxyHash 'map-based'", () => run((key) => hapMap.select(key).next().value));
  bench('ringHash (Envoy ring_hash)', () => run((key) => ring.select(key).next().value));
  bench("maglev 'envoy'", () => run((key) => envoyMaglev.select(key).next().value));
});

export { sink };
