/**
 * Memory of a health monitor checking 1,000 backends every second, concurrency 64, for a
 * minute. The backends are 1,000 real HTTP listeners on 127.0.0.1 in a child
 * process, so the parent's RSS and heap are the monitor's and undici's alone.
 *
 *   pnpm --filter @switchyard/health bench:memory            # 60 s
 *   BENCH_SECONDS=20 pnpm --filter @switchyard/health bench:memory
 *
 * Run with --expose-gc (the script does) so heap samples are taken after a full GC.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { backend } from '@switchyard/core';
import { type CheckResult, createHealthMonitor, type HealthCheck, httpCheck } from '@switchyard/health';

const BACKENDS = 1000;
const INTERVAL_MS = 1000;
const CONCURRENCY = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const SAMPLE_EVERY_MS = 5000;

async function serve(): Promise<void> {
  const servers: Server[] = [];
  const ports: number[] = [];
  const handler = (_req: unknown, res: { end(body: string): void }): void => res.end('ok');
  for (let i = 0; i < BACKENDS; i++) {
    const server = createServer(handler);
    servers.push(server);
    ports.push(
      await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          if (address === null || typeof address === 'string') reject(new Error('no TCP address'));
          else resolve(address.port);
        });
      }),
    );
  }
  process.send?.({ ports });
  process.on('disconnect', () => {
    for (const s of servers) s.close();
    process.exit(0);
  });
}

interface Sample {
  readonly t: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly checks: number;
  readonly failed: number;
}

const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

function sample(startedAt: number, checks: number, failed: number): Sample {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return {
    t: Math.round((performance.now() - startedAt) / 1000),
    rssMb: mb(m.rss),
    heapMb: mb(m.heapUsed),
    checks,
    failed,
  };
}

async function main(): Promise<void> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['serve'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { ports: number[] }).ports));
    child.once('exit', (code) => reject(new Error(`backend process exited with ${code}`)));
  });
  const backends = ports.map((p) => backend(`127.0.0.1:${p}`));
  const inner = httpCheck({ timeoutMs: 1000 });
  let checks = 0;
  let failed = 0;
  // Clients are created lazily, so memory is compared from the end of the first full round.
  const seen = new Set<string>();
  let firstRound: Sample | undefined;
  const counting: HealthCheck = {
    check: async (b, signal): Promise<CheckResult> => {
      const result = await inner.check(b, signal);
      checks++;
      if (!result.ok) failed++;
      if (firstRound === undefined && seen.add(b.id).size === BACKENDS) firstRound = sample(startedAt, checks, failed);
      return result;
    },
    release: (b) => inner.release?.(b) ?? Promise.resolve(),
    close: () => inner.close?.() ?? Promise.resolve(),
  };
  const monitor = createHealthMonitor({ backends, check: counting, intervalMs: INTERVAL_MS, concurrency: CONCURRENCY });
  const startedAt = performance.now();
  const samples: Sample[] = [sample(startedAt, 0, 0)];
  monitor.start();
  for (let elapsed = SAMPLE_EVERY_MS; elapsed <= SECONDS * 1000; elapsed += SAMPLE_EVERY_MS) {
    await new Promise((r) => setTimeout(r, startedAt + elapsed - performance.now()));
    samples.push(sample(startedAt, checks, failed));
    const s = samples.at(-1) as Sample;
    console.log(`t=${s.t}s rss=${s.rssMb} MB heap=${s.heapMb} MB checks=${s.checks} failed=${s.failed}`);
  }
  await monitor.stop();
  child.disconnect();
  const first = firstRound ?? (samples[1] as Sample);
  const last = samples.at(-1) as Sample;
  const healthy = monitor.snapshot().filter((h) => h.healthy).length;
  console.log('');
  console.log(
    `node ${process.version}, ${BACKENDS} backends, interval ${INTERVAL_MS} ms, concurrency ${CONCURRENCY}, ${SECONDS} s`,
  );
  console.log(`before start: rss ${samples[0]?.rssMb} MB, heap ${samples[0]?.heapMb} MB`);
  console.log(
    `${firstRound === undefined ? 'first sample' : 'first round done'} at ${first.t} s: rss ${first.rssMb} MB, heap ${first.heapMb} MB`,
  );
  console.log(`at ${last.t} s: rss ${last.rssMb} MB, heap ${last.heapMb} MB`);
  console.log(
    `delta ${first.t}→${last.t} s: rss ${mb((last.rssMb - first.rssMb) * 1048576)} MB, heap ${mb((last.heapMb - first.heapMb) * 1048576)} MB`,
  );
  const load = loadavg().map((l) => l.toFixed(1));
  console.log(
    `machine: ${cpus().length} CPUs, load average ${load.join(' ')} (other work on the machine slows checks)`,
  );
  console.log(
    `checks: ${last.checks} (${Math.round(last.checks / SECONDS)}/s), failed ${last.failed}; healthy at end ${healthy}/${BACKENDS}`,
  );
}

if (process.argv[2] === 'serve') await serve();
else await main();
