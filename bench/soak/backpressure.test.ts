import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBackpressure } from '@switchyard/testkit';
import { expect, it } from 'vitest';

// `pnpm test:soak`: backpressure at full size. A backend reads a 1 GiB upload at 1 MB/s while a
// client reads a 1 GiB download at 1 MB/s, both at once through `switchyard serve` (about 18
// minutes). Every byte must arrive in order and the proxy's RSS stay within idle + 64 MiB.
// BACKPRESSURE_MIB / BACKPRESSURE_RATE (bytes/s) scale it. Figures go to results/backpressure.json.

const MIB = 1024 * 1024;
const SIZE = Number(process.env.BACKPRESSURE_MIB ?? 1024) * MIB;
const RATE = Number(process.env.BACKPRESSURE_RATE ?? 1_000_000);
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

it(`backpressure: ${SIZE / MIB} MiB up and down at ${RATE / 1e6} MB/s, RSS within idle + 64 MiB`, async () => {
  const r = await runBackpressure(SIZE, RATE, true);
  const mib = (n: number) => Math.round((n / MIB) * 10) / 10;
  const figures = {
    sizeMiB: SIZE / MIB,
    rateBytesPerSecond: RATE,
    coldRssMiB: mib(r.coldRss),
    idleRssMiB: mib(r.idleRss),
    upload: {
      bytes: r.upload.bytes,
      seconds: Math.round(r.upload.elapsedMs / 1000),
      peakRssMiB: mib(r.upload.peakRss),
    },
    download: {
      bytes: r.download.bytes,
      seconds: Math.round(r.download.elapsedMs / 1000),
      peakRssMiB: mib(r.download.peakRss),
    },
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'backpressure.json'), `${JSON.stringify(figures, null, 2)}\n`);
  console.info(`[backpressure soak] ${JSON.stringify(figures)}`);
  for (const d of [r.upload, r.download]) {
    expect(d.status).toBe(200);
    expect(d.bytes).toBe(d.expected);
    expect(d.firstBadOffset).toBe(-1);
    expect(d.peakRss - r.idleRss).toBeLessThanOrEqual(64 * MIB);
  }
});
