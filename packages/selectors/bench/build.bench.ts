import { mkdirSync, writeFileSync } from 'node:fs';
import { consistentHash } from '@switchyard/selectors';
import HashRing from 'hashring';
import { bench, describe } from 'vitest';
import { backends } from './keys.js';

const SET = backends(1000);
const servers = Object.fromEntries(SET.map((b) => [b.id, { weight: b.weight }]));

// Memory and CPU time of a 1000-backend 'nginx' ring, written for bench/report.mjs.
// The ring keeps one Uint32 point and one Uint16 owner per point (6 bytes) plus a
// Uint32 bucket index of 2^bits + 1 entries, bits = clamp(floor(log2 points) − 1, 1, 16);
// `arrayBuffers` growth also counts the build's transient radix-sort buffers. CPU time
// (process.cpuUsage) is reported next to wall time because on a shared machine the
// wall clock mostly measures how long the process waited for a core.
{
  const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;
  const before = process.memoryUsage().arrayBuffers;
  const coldCpu = process.cpuUsage();
  const coldStart = performance.now();
  const kept = consistentHash(SET);
  const coldWallMs = performance.now() - coldStart;
  const coldCpuMs = cpuMs(process.cpuUsage(coldCpu));
  const delta = process.memoryUsage().arrayBuffers - before;
  const walk = kept.select('k');
  let points = 0;
  while (!walk.next().done) points++;
  for (let i = 0; i < 10; i++) consistentHash(SET);
  const runs = 20;
  const warmCpu = process.cpuUsage();
  for (let i = 0; i < runs; i++) consistentHash(SET);
  const warmCpuMs = cpuMs(process.cpuUsage(warmCpu)) / runs;
  mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('../bench-results/memory.json', import.meta.url),
    JSON.stringify({
      backends: SET.length,
      points,
      retainedBytes: points * 6 + 4 * (2 ** Math.max(1, Math.min(16, Math.floor(Math.log2(points)) - 1)) + 1),
      arrayBuffersDelta: delta,
      coldWallMs,
      coldCpuMs,
      warmCpuMs,
    }),
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
