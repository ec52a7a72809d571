// The scaling row of `pnpm bench:proxy --workers 1,2,4,…`: the same round-robin load against
// `switchyard serve --workers N` for each N, the load generator's threads scaled with N, so
// throughput per worker count can be read as a ratio to one worker.
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkTarget } from './check.mjs';
import { cpuSeconds, signalAll, stopChild } from './children.mjs';
import { runLoad } from './load.mjs';
import { round } from './report.mjs';
import { startSwitchyard } from './targets.mjs';

/** Throughput goal per worker count, as a share of N × the one-worker figure. */
export const SCALING_GOAL = 0.8;

/** Parses `--workers 1,2,4`: distinct positive integers, ascending, starting with 1. */
export function parseWorkerCounts(text) {
  const counts = [...new Set(text.split(',').filter(Boolean).map(Number))].sort((a, b) => a - b);
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) {
    throw new Error(`--workers: expected worker counts from 1 to 256 such as 1,2,4, got ${text}`);
  }
  if (counts[0] !== 1) throw new Error(`--workers: the list must include 1 (the baseline), got ${text}`);
  return counts;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Measures every worker count in `opts.workers` over the upstreams `manager` runs: all the
 * `switchyard serve --workers N` processes start first; each round measures every N once in a
 * rotated order while the others are paused (SIGSTOP to the primary and its workers). wrk runs
 * `N × opts.threads` threads and at least one connection per thread.
 * Resolves `{ cores, rows, note }`, each row `{ workers, threads, rps, p50Ms, p99Ms, cpuUsPerRequest, errors, ratio, goal }`.
 */
export async function runScaling(run, manager, opts, log) {
  const counts = opts.workers;
  const cores = os.cpus().length;
  log(`\n== Scaling: switchyard serve --workers ${counts.join(', ')} (wrk threads scaled with N), ${cores} cores`);
  const upstreams = await manager.ensure('upstreams');
  const procs = new Map();
  try {
    for (const n of counts) {
      const proc = await startSwitchyard(run, `switchyard-workers-${n}`, { backends: upstreams.addresses, workers: n });
      procs.set(n, proc);
      await checkTarget(`switchyard --workers ${n}`, proc.ports.main, { load: 'plain', balance: 'round-robin' });
    }
    const runs = [];
    const load = async (n, durationS) => {
      const pid = procs.get(n).child.proc.pid;
      const others = counts.filter((m) => m !== n).map((m) => procs.get(m).child.proc.pid);
      signalAll(others, 'SIGSTOP');
      try {
        const threads = n * opts.threads;
        const args = {
          loader: opts.loader,
          port: procs.get(n).ports.main,
          load: 'plain',
          connections: Math.max(opts.connections, threads),
          threads,
          scripts: run.scripts,
          amount: opts.requests,
        };
        const before = await cpuSeconds(pid);
        const result = await runLoad({ ...args, durationS });
        const cpu = ((await cpuSeconds(pid)) - before) * 1e6;
        return { ...result, threads, cpuUsPerRequest: result.requests ? cpu / result.requests : null };
      } finally {
        signalAll(others, 'SIGCONT');
      }
    };
    if (opts.warmupS > 0) for (const n of counts) await load(n, opts.warmupS);
    for (let r = 0; r < opts.rounds; r++) {
      for (let i = 0; i < counts.length; i++) {
        const n = counts[(i + r) % counts.length];
        const result = await load(n, opts.durationS);
        runs.push({ workers: n, ...result });
        log(
          `   round ${r + 1}/${opts.rounds}  --workers ${String(n).padEnd(3)} wrk -t${result.threads}  ${Math.round(result.rps).toLocaleString('en').padStart(8)} req/s${result.errors ? `  ERRORS ${result.errors}` : ''}`,
        );
        await sleep(opts.smoke ? 20 : 300);
      }
    }
    const base = median(runs.filter((x) => x.workers === 1).map((x) => x.rps));
    const rows = counts.map((n) => {
      const mine = runs.filter((x) => x.workers === n);
      const rps = median(mine.map((x) => x.rps));
      const threads = n * opts.threads;
      // One core per proxy worker and one per wrk thread, and one left for the upstreams: the goal
      // only applies where the machine has that many; elsewhere the figure is reported as measured.
      const applies = n + threads + 1 <= cores;
      return {
        workers: n,
        threads,
        rps: round(rps, 0),
        p50Ms: round(median(mine.map((x) => x.p50Ms)), 2),
        p99Ms: round(median(mine.map((x) => x.p99Ms)), 2),
        cpuUsPerRequest: round(median(mine.map((x) => x.cpuUsPerRequest ?? Number.NaN)), 1),
        errors: mine.reduce((sum, x) => sum + x.errors, 0),
        ratio: round(rps / base, 2),
        goal: applies ? { target: round(SCALING_GOAL * n, 2), met: rps / base >= SCALING_GOAL * n } : null,
      };
    });
    const note =
      `${cores} cores shared by the load generator, the proxy and the upstreams; the ≥ ${SCALING_GOAL} × N goal ` +
      'is checked for N with N + wrk threads + 1 ≤ cores.';
    log(`\n${scalingText(rows)}\n${note}`);
    return { cores, rows, note };
  } finally {
    for (const proc of procs.values()) await stopChild(proc.child);
  }
}

/** The scaling rows as aligned text (also valid Markdown when `markdown`). */
export function scalingText(rows, markdown = false) {
  const head = ['workers', 'wrk threads', 'req/s', 'vs 1 worker', 'goal', 'p50 ms', 'p99 ms', 'CPU µs/req', 'errors'];
  const cells = rows.map((r) => [
    String(r.workers),
    String(r.threads),
    r.rps.toLocaleString('en'),
    `${r.ratio.toFixed(2)}×`,
    r.goal === null ? 'n/a' : `≥ ${r.goal.target}× ${r.goal.met ? 'met' : 'MISSED'}`,
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    Number.isFinite(r.cpuUsPerRequest) ? r.cpuUsPerRequest.toFixed(1) : '–',
    String(r.errors),
  ]);
  if (markdown) {
    return [
      `| ${head.join(' | ')} |`,
      `|${head.map(() => '---:').join('|')}|`,
      ...cells.map((c) => `| ${c.join(' | ')} |`),
    ].join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [head, ...cells].map((c) => c.map((v, i) => v.padStart(widths[i])).join('  ')).join('\n');
}
