import { mkdirSync, writeFileSync } from 'node:fs';
import { consistentHash } from '@switchyard/selectors';
import HashRing from 'hashring';
import { bench, describe } from 'vitest';
import { backends } from './keys.js';

const SET = backends(1000);
const servers = Object.fromEntries(SET.map((b) => [b.id, { weight: b.weight }]));

// Memory of a 1000-backend 'nginx' ring: the ring keeps one Uint32 point and one Uint16
// owner per point (6 bytes); `arrayBuffers` growth also counts the build's transient
// radix-sort buffers when no GC ran in between. Written for bench/report.mjs.
{
  const before = process.memoryUsage().arrayBuffers;
  const kept = consistentHash(SET);
  const delta = process.memoryUsage().arrayBuffers - before;
  const walk = kept.select('k');
  let points = 0;
  while (!walk.next().done) points++;
  mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('../bench-results/memory.json', import.meta.url),
    JSON.stringify({ backends: SET.length, points, retainedBytes: points * 6, arrayBuffersDelta: delta }),
  );
}

let sink = 0;
const slow = { time: 0, warmupTime: 0, iterations: 3, warmupIterations: 1 };
describe('build a ring for 1000 backends of weight 1', () => {
  bench(
    "consistentHash 'nginx' (160,000 points)",
    () => {
      if (consistentHash(SET).select('k').next().value) sink++;
    },
    { iterations: 40, warmupIterations: 10 },
  );
  bench(
    "consistentHash 'ketama'",
    () => {
      if (consistentHash(SET, { algorithm: 'ketama' }).select('k').next().value) sink++;
    },
    slow,
  );
  bench(
    'hashring',
    () => {
      if (new HashRing(servers).get('k')) sink++;
    },
    slow,
  );
});

export { sink };
