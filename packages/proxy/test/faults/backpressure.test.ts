import { ensureBuilt, runBackpressure } from '@switchyard/testkit';
import { beforeAll, describe, expect, it } from 'vitest';

// Backpressure end to end, scaled for the regular suite: 256 MiB each way with the slow side
// reading at 64 MB/s, so the fast side could outrun it by hundreds of MiB if the proxy buffered.
// The 1 GiB at 1 MB/s version is `pnpm test:soak` (bench/soak/backpressure.test.ts).

const MIB = 1024 * 1024;
/** The bound of the issue: proxy RSS within idle + 64 MiB while a slow side holds back a fast one. */
const RSS_BOUND = 64 * MIB;

beforeAll(ensureBuilt, 180_000);

describe('backpressure end to end', { timeout: 180_000 }, () => {
  it('a slow upstream reader and a slow client reader: every byte arrives in order, proxy RSS within idle + 64 MiB', async () => {
    const r = await runBackpressure(256 * MIB, 64 * 1_000_000);
    const mib = (n: number) => Math.round((n / MIB) * 10) / 10;
    const summary = JSON.stringify({
      coldMiB: mib(r.coldRss),
      idleMiB: mib(r.idleRss),
      upload: { ...r.upload, peakMiB: mib(r.upload.peakRss) },
      download: { ...r.download, peakMiB: mib(r.download.peakRss) },
    });
    console.info(`[backpressure 256 MiB @ 64 MB/s] ${summary}`);
    for (const d of [r.upload, r.download]) {
      expect(d.status, summary).toBe(200);
      expect(d.bytes, summary).toBe(d.expected);
      expect(d.firstBadOffset, summary).toBe(-1);
      expect(d.peakRss - r.idleRss, summary).toBeLessThanOrEqual(RSS_BOUND);
    }
    // The reader set the pace: a transfer faster than the reader's rate would mean it was not paced.
    expect(r.upload.elapsedMs, summary).toBeGreaterThanOrEqual((r.upload.expected / 64_000_000) * 1000 * 0.95);
    expect(r.download.elapsedMs, summary).toBeGreaterThanOrEqual((r.download.expected / 64_000_000) * 1000 * 0.95);
  });
});
