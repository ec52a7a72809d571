import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type FaultBackend,
  type LoadRecord,
  percentile,
  type ServeProcess,
  sleep,
  startFaultBackend,
  startLoad,
  startServe,
} from '@switchyard/testkit';
import { expect, it } from 'vitest';
import { type SoakSample, soakChart } from './chart.js';

// `pnpm test:soak`: `switchyard serve` under mixed load for SOAK_MS (10 minutes) while one of
// three backends flaps (down 20 s, up 20 s). Every 10 s: requests, errors, p99, proxy RSS and fds,
// written to bench/soak/results/soak.json and soak.svg. Asserts RSS at the end within 10 % of
// RSS at minute 2 (each the peak of its minute, see below), and no file-descriptor growth.

const SOAK_MS = Number(process.env.SOAK_MS ?? 10 * 60_000);
const SAMPLE_MS = 10_000;
const FLAP_MS = 20_000;
/** Where "steady state" is measured from: warm-up (JIT, pools, health) is over by then. */
const BASELINE_S = Math.min(120, Math.floor(SOAK_MS / 5000) * 5);
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

it(`soak: ${SOAK_MS / 1000} s of mixed load, one backend flapping every ${FLAP_MS / 1000} s`, async () => {
  const backends: FaultBackend[] = await Promise.all(
    ['b1', 'b2', 'flapper'].map((name) => startFaultBackend({ name, delayMs: 1 })),
  );
  const flapper = backends[2]!;
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe({
      config: (port) => ({
        listen: `127.0.0.1:${port}`,
        accessLog: false,
        logLevel: 'warn',
        upstreams: {
          web: {
            backends: backends.map((b) => b.id),
            selector: { type: 'round-robin' },
            health: {
              type: 'http',
              path: '/healthz',
              intervalMs: 500,
              timeoutMs: 500,
              healthyThreshold: 2,
              unhealthyThreshold: 2,
            },
            peer: { connectionTimeout: 500, readTimeout: 5000 },
          },
        },
      }),
    });
    let window: LoadRecord[] = [];
    const load = startLoad({
      port: serve.port,
      concurrency: 16,
      pauseMs: 2,
      keepRecords: false,
      maxRequests: 50_000_000,
      maxDurationMs: SOAK_MS,
      timeoutMs: 10_000,
      method: (seq) => (seq % 10 === 0 ? 'POST' : seq % 10 === 1 ? 'PUT' : 'GET'),
      path: (seq) => `/soak/${seq % 1000}?q=${seq}`,
      onRecord: (r) => window.push(r),
    });

    const started = Date.now();
    const samples: SoakSample[] = [];
    let nextFlap = started + FLAP_MS;
    let flapperUp = true;
    for (let tick = 1; tick <= Math.ceil(SOAK_MS / 1000) + 1; tick++) {
      await sleep(Math.max(0, started + tick * 1000 - Date.now()));
      if (Date.now() >= nextFlap) {
        nextFlap += FLAP_MS;
        if (flapperUp) await flapper.stop();
        else await flapper.restart();
        flapperUp = !flapperUp;
      }
      if ((tick * 1000) % SAMPLE_MS === 0) {
        const done = window;
        window = [];
        samples.push({
          t: tick,
          requests: done.length,
          errors: done.filter((r) => r.error !== undefined || r.status === undefined || r.status >= 500).length,
          p99Ms: percentile(
            done.map((r) => r.end - r.start),
            99,
          ),
          rssMiB: Math.round((serve.rss() / 2 ** 20) * 10) / 10,
          fds: serve.fds(),
          flapperUp,
        });
        console.info(`soak ${JSON.stringify(samples.at(-1))}`);
      }
      if (Date.now() - started >= SOAK_MS) break;
    }
    const counts = await load.stop();

    const baseline = samples.find((s) => s.t >= BASELINE_S) ?? samples[0]!;
    const end = samples.at(-1)!;
    // RSS of a node process is a saw-tooth: V8 grows the heap, then a major GC hands pages back
    // (drops of 20–30 MiB within one sample). A single sample can land on a peak or a trough, so
    // "RSS at minute 2" and "at the end" are each the high-water mark of one minute: a leak raises
    // every peak, the saw-tooth does not. The single samples are recorded too.
    const peak = (from: number, to: number) =>
      Math.max(...samples.filter((s) => s.t >= from && s.t < to).map((s) => s.rssMiB));
    const lastT = end.t;
    const rssBaselinePeak = peak(BASELINE_S, BASELINE_S + 60);
    const rssEndPeak = peak(lastT - 60 + 1, lastT + 1);
    // Connections to the flapper come and go with its state; compare the end with the most the
    // proxy held around the baseline (minute 2–3), same phase mix.
    const baselineFds = Math.max(
      ...samples.filter((s) => s.t >= BASELINE_S && s.t < BASELINE_S + 60).map((s) => s.fds),
    );
    const summary = {
      durationS: SOAK_MS / 1000,
      sent: counts.sent,
      succeeded: counts.succeeded,
      failed: counts.failed,
      byStatus: counts.byStatus,
      errors: counts.errors,
      p99MsMax: Math.max(...samples.map((s) => s.p99Ms)),
      rssBaselineMiB: baseline.rssMiB,
      rssEndMiB: end.rssMiB,
      rssChangePercent: Math.round(((end.rssMiB - baseline.rssMiB) / baseline.rssMiB) * 1000) / 10,
      rssBaselinePeakMiB: rssBaselinePeak,
      rssEndPeakMiB: rssEndPeak,
      rssPeakChangePercent: Math.round(((rssEndPeak - rssBaselinePeak) / rssBaselinePeak) * 1000) / 10,
      fdsBaselineMax: baselineFds,
      fdsEnd: end.fds,
      at: new Date().toISOString(),
      node: process.version,
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'soak.json'), `${JSON.stringify({ summary, samples }, null, 2)}\n`);
    writeFileSync(
      join(RESULTS, 'soak.svg'),
      soakChart(
        samples,
        `switchyard soak: ${summary.durationS} s, ${counts.sent} requests, RSS peak ${rssBaselinePeak} → ${rssEndPeak} MiB`,
      ),
    );
    console.info(`soak summary ${JSON.stringify(summary)}`);

    expect(counts.sent).toBeGreaterThan(1000);
    expect(Math.abs(rssEndPeak - rssBaselinePeak) / rssBaselinePeak, JSON.stringify(summary)).toBeLessThanOrEqual(0.1);
    // A few descriptors of slack: a health check or a pool connection opening at the sampling instant.
    expect(end.fds, JSON.stringify(summary)).toBeLessThanOrEqual(baselineFds + 8);
  } finally {
    await serve?.stop();
    await Promise.all(backends.map((b) => b.stop()));
  }
});
