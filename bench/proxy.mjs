// `pnpm bench:proxy`: Switchyard against the proxies a user would pick instead, in one run on
// loopback, with ratios. See docs/benchmarks.md for what is measured and how to read it.
import { spawnSync } from 'node:child_process';
import { chmodSync, createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BIG_SIZE, HUGE_SIZE, SMALL_BODY } from './lib/bodies.mjs';
import { checkTarget, checkTargetReady } from './lib/check.mjs';
import { cpuSeconds, onInterrupt, rssBytes, signalAll, stopAll, stopChild } from './lib/children.mjs';
import { H2_SCENARIO_IDS, runH2Scenarios } from './lib/h2-scenario.mjs';
import { defaultLoader, LOADS, runLoad, WRK_PATH, writeWrkScripts } from './lib/load.mjs';
import { hasNginx, NGINX_PATH } from './lib/nginx.mjs';
import { profileText, summarizeProfile } from './lib/profile.mjs';
import {
  evaluateGoals,
  markdownReport,
  replaceGeneratedSection,
  round,
  SMALL_GET_VARIANTS,
  summarize,
  textTable,
} from './lib/report.mjs';
import { parseWorkerCounts, runScaling, scalingText } from './lib/scaling.mjs';
import { renderSvg } from './lib/svg.mjs';
import { PROCESSES, VERSIONS } from './lib/targets.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
// h2 and grpc (bench/lib/h2-scenario.mjs) run only when named in --scenarios.
const SCENARIO_IDS = [
  'round-robin',
  'keyed',
  'body-64k',
  'download-1m',
  'upload-1m',
  'backends',
  'rss',
  'scaling',
  ...H2_SCENARIO_IDS,
];
const USAGE = `usage: pnpm bench:proxy [-- options]
  --duration S       seconds per measured run (default 8)
  --warmup S         seconds of warm-up per target before the rounds (default 2)
  --rounds N         rounds; each round runs every target once, in rotated order (default 3)
  --connections N    concurrent connections (default 64)
  --threads N        wrk threads (default 1)
  --smoke            ~3 s of load in all: every target and scenario briefly (CI), autocannon
  --loader L         wrk | autocannon (default: wrk when ${WRK_PATH} exists)
  --upstreams K      nginx | node (default: nginx when ${NGINX_PATH} exists)
  --scenarios LIST   subset of ${SCENARIO_IDS.join(',')}
  --targets LIST     subset of target ids (direct,nginx,switchyard,switchyard-log,switchyard-metrics,floor,http-proxy,reply-from,…)
  --backends N       backends in the cost-growth run (default 1000; 100 with --smoke)
  --workers LIST     adds the scaling row: switchyard serve --workers N for each N (e.g. 1,2,4),
                     wrk threads scaled with N; \`--scenarios scaling\` runs only that row
  --rss-requests A,B RSS checkpoints in requests (default 100000,1000000)
  --requests N       autocannon only: exactly N requests per run instead of --duration, so a request
                     dropped without an answer is counted (default 100 with --smoke)
  --profile          instead of the benchmark: CPU-profile \`switchyard serve\` under load and print the hot spots
  --profile-target T switchyard | switchyard-log | switchyard-metrics | floor | http-proxy | reply-from: which process --profile profiles
  --profile-load L   plain | keyed | big (64 KiB each way) | download | upload (1 MiB): the load --profile applies
  --no-docs          do not write docs/benchmarks.{json,svg} even on a full run
  --keep             keep the temp dir (configs, logs) for inspection`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      loader: { type: 'string' },
      upstreams: { type: 'string' },
      scenarios: { type: 'string' },
      targets: { type: 'string' },
      backends: { type: 'string' },
      workers: { type: 'string' },
      'rss-requests': { type: 'string' },
      requests: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'profile-target': { type: 'string', default: 'switchyard' },
      'profile-load': { type: 'string', default: 'plain' },
      'no-docs': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const number = (name, fallback, { integer = true, min = 0 } = {}) => {
    if (values[name] === undefined) return fallback;
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      throw new Error(`--${name}: expected ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${values[name]}`);
    }
    return n;
  };
  const list = (name, allowed) => {
    if (values[name] === undefined) return null;
    const items = values[name].split(',').filter(Boolean);
    const bad = allowed ? items.filter((item) => !allowed.includes(item)) : [];
    if (bad.length) throw new Error(`--${name}: unknown ${bad.join(', ')}; expected some of ${allowed.join(', ')}`);
    return items;
  };
  const smoke = values.smoke;
  const loader = values.loader ?? (smoke ? 'autocannon' : defaultLoader());
  if (!['wrk', 'autocannon'].includes(loader)) throw new Error(`--loader: expected wrk or autocannon, got ${loader}`);
  if (loader === 'wrk' && !existsSync(WRK_PATH)) throw new Error(`--loader wrk: ${WRK_PATH} is not installed`);
  const upstreamKind = values.upstreams ?? (hasNginx() ? 'nginx' : 'node');
  if (!['nginx', 'node'].includes(upstreamKind))
    throw new Error(`--upstreams: expected nginx or node, got ${upstreamKind}`);
  const profiled = ['switchyard', 'switchyard-log', 'switchyard-metrics', 'floor', 'http-proxy', 'reply-from'];
  if (!profiled.includes(values['profile-target'])) {
    throw new Error(`--profile-target: expected one of ${profiled.join(', ')}, got ${values['profile-target']}`);
  }
  if (!LOADS.includes(values['profile-load'])) {
    throw new Error(`--profile-load: expected one of ${LOADS.join(', ')}, got ${values['profile-load']}`);
  }
  if (upstreamKind === 'nginx' && !hasNginx()) throw new Error(`--upstreams nginx: ${NGINX_PATH} is not installed`);
  const rssRequests = list('rss-requests')?.map(Number) ?? (smoke ? [1000, 4000] : [100_000, 1_000_000]);
  if (
    rssRequests.length !== 2 ||
    rssRequests.some((n) => !Number.isInteger(n) || n <= 0) ||
    rssRequests[0] >= rssRequests[1]
  ) {
    throw new Error(`--rss-requests: expected two increasing request counts, got ${values['rss-requests']}`);
  }
  const scenarios = list('scenarios', SCENARIO_IDS);
  const targets = list('targets');
  return {
    smoke,
    loader,
    upstreamKind,
    // Smoke: ~3 s of load over ~22 runs; autocannon takes fractions of a second, wrk does not.
    durationS: number('duration', smoke ? 0.15 : 8, { integer: false, min: 0.05 }),
    warmupS: number('warmup', smoke ? 0 : 2, { integer: false }),
    rounds: number('rounds', smoke ? 1 : 3, { min: 1 }),
    connections: number('connections', smoke ? 8 : 64, { min: 1 }),
    threads: number('threads', 1, { min: 1 }),
    // Smoke: a smaller wide set, so the run checks the scenario without a 1,000-port start-up storm.
    backendsWide: number('backends', smoke ? 100 : 1000, { min: 4 }),
    workers: values.workers === undefined ? null : parseWorkerCounts(values.workers),
    rssRequests,
    requests: loader === 'autocannon' ? number('requests', smoke ? 100 : undefined, { min: 1 }) : undefined,
    scenarios,
    targets,
    profile: values.profile,
    profileTarget: values['profile-target'],
    profileLoad: values['profile-load'],
    docs: !values['no-docs'] && !smoke && !scenarios && !targets && !values.profile,
    keep: values.keep,
    argv,
  };
}

function scenarioList(opts) {
  const up = opts.upstreamKind === 'nginx' ? 'nginx' : 'Node';
  const nginx = opts.upstreamKind === 'nginx';
  const v = VERSIONS;
  const rr = 'round-robin';
  const main = [
    { id: 'direct', label: `upstream directly (${up}, no proxy)`, process: 'upstreams', balance: 'none' },
    nginx && { id: 'nginx', label: 'nginx as proxy, 1 worker', process: 'nginx-proxy', balance: rr },
    {
      id: 'node-server',
      label: 'node:http answering by itself (no proxy, no upstream)',
      process: 'node-server',
      balance: 'none',
    },
    { id: 'switchyard', label: 'Switchyard (access log off)', process: 'switchyard', balance: rr },
    {
      id: 'switchyard-log',
      label: 'Switchyard, access log on (file, default 16 KiB / 100 ms buffer)',
      process: 'switchyard-log',
      balance: rr,
    },
    {
      id: 'switchyard-log-turn',
      label: 'Switchyard, access log on, logBufferBytes 0 (one write per turn)',
      process: 'switchyard-log-turn',
      balance: rr,
    },
    {
      id: 'switchyard-metrics',
      label: 'Switchyard, metrics on (admin listener, scraped every second)',
      process: 'switchyard-metrics',
      balance: rr,
    },
    {
      id: 'switchyard-log-buffered',
      label: 'Switchyard, access log on, logBufferBytes 64 KiB, logFlushMs 1000',
      process: 'switchyard-log-buffered',
      balance: rr,
    },
    { id: 'floor', label: 'undici floor (node:http + undici.Pool)', process: 'floor', balance: rr },
    { id: 'http-proxy', label: `http-proxy ${v['http-proxy']}, keep-alive agent`, process: 'http-proxy', balance: rr },
    {
      id: 'reply-from',
      label: `@fastify/reply-from ${v['@fastify/reply-from']} (fastify ${v.fastify})`,
      process: 'reply-from',
      balance: rr,
    },
  ].filter(Boolean);
  // The body scenarios leave out the log and metrics variants: what those cost is read on small GETs.
  const bodies = main.filter((t) => !SMALL_GET_VARIANTS.has(t.id));
  const conn = opts.connections;
  return [
    {
      id: 'round-robin',
      title: 'Round-robin over 3 upstreams, small GET',
      description: `GET / answered with a ${'41'}-byte body; ${conn} keep-alive connections.`,
      load: 'plain',
      targets: main,
    },
    {
      id: 'keyed',
      title: 'Keyed: consistent hashing on x-key, 10,000 distinct keys',
      description:
        'Every request carries the next of 10,000 x-key values (wrk Lua script); the round-robin rows get the same load.',
      load: 'keyed',
      targets: [
        { id: 'switchyard', label: 'Switchyard, round-robin', process: 'switchyard', balance: rr },
        {
          id: 'switchyard-keyed',
          label: 'Switchyard, consistent hash on x-key',
          process: 'switchyard-keyed',
          balance: 'consistent',
        },
        nginx && {
          id: 'nginx-keyed',
          label: 'nginx, hash $http_x_key consistent',
          process: 'nginx-proxy',
          port: 'keyed',
          balance: 'consistent',
        },
        { id: 'floor', label: 'undici floor, round-robin', process: 'floor', balance: rr },
      ].filter(Boolean),
    },
    {
      id: 'body-64k',
      title: '64 KiB each way: POST 64 KiB, answered with 64 KiB',
      description: 'POST /big with a 64 KiB body; the upstream answers 64 KiB. MB/s counts both bodies.',
      load: 'big',
      bodyBytes: 2 * BIG_SIZE,
      targets: bodies,
    },
    {
      id: 'download-1m',
      title: '1 MiB download: GET answered with 1 MiB',
      description: `GET /download answered with a 1 MiB body; ${conn} keep-alive connections. MB/s counts the response bodies.`,
      load: 'download',
      bodyBytes: HUGE_SIZE,
      targets: bodies,
    },
    {
      id: 'upload-1m',
      title: '1 MiB upload: POST 1 MiB, answered with a small body',
      description: `POST /upload with a 1 MiB body, answered with ${Buffer.byteLength(SMALL_BODY)} bytes once it all arrived; ${conn} keep-alive connections. MB/s counts the request bodies.`,
      load: 'upload',
      bodyBytes: HUGE_SIZE,
      targets: bodies,
    },
    {
      id: 'backends',
      title: `Cost growth: ${opts.backendsWide.toLocaleString('en')} backends vs 3, round-robin`,
      description: `The wide upstream set is one ${up} process listening on ${opts.backendsWide.toLocaleString('en')} ports.`,
      load: 'plain',
      targets: [
        { id: 'switchyard', label: 'Switchyard, 3 backends', process: 'switchyard', balance: rr },
        {
          id: 'switchyard-wide',
          label: `Switchyard, ${opts.backendsWide.toLocaleString('en')} backends`,
          process: 'switchyard-wide',
          balance: rr,
        },
        {
          id: 'switchyard-skip',
          label: 'Switchyard, 3 backends, health.skipOnTraffic',
          process: 'switchyard-skip',
          balance: rr,
        },
        {
          id: 'switchyard-wide-skip',
          label: `Switchyard, ${opts.backendsWide.toLocaleString('en')} backends, health.skipOnTraffic`,
          process: 'switchyard-wide-skip',
          balance: rr,
        },
        { id: 'floor', label: 'undici floor, 3 backends', process: 'floor', balance: rr },
        {
          id: 'floor-wide',
          label: `undici floor, ${opts.backendsWide.toLocaleString('en')} backends`,
          process: 'floor-wide',
          balance: rr,
        },
        nginx && { id: 'nginx', label: 'nginx as proxy, 3 backends', process: 'nginx-proxy', balance: rr },
        nginx && {
          id: 'nginx-wide',
          label: `nginx as proxy, ${opts.backendsWide.toLocaleString('en')} backends`,
          process: 'nginx-proxy-wide',
          balance: rr,
        },
      ].filter(Boolean),
    },
  ];
}

/** Starts processes on first use (dependencies first) and stops them when no later scenario needs them. */
function processManager(run) {
  const started = new Map();
  // Kept after a process stops: the access log is read at the end of the run.
  const stdoutFiles = new Map();
  // Memoised promises: targets of a scenario start in parallel and share their dependencies.
  function ensure(id) {
    if (!started.has(id)) {
      const spec = PROCESSES[id];
      if (!spec) throw new Error(`unknown process ${id}`);
      const promise = (async () => {
        const deps = {};
        for (const need of spec.needs) deps[need] = await ensure(need);
        const proc = await spec.start(run, deps, id);
        if (proc.stdoutFile) stdoutFiles.set(id, proc.stdoutFile);
        return proc;
      })();
      // A failed start is reported by the caller; this keeps it from also being "unhandled".
      promise.catch(() => {});
      started.set(id, promise);
    }
    return started.get(id);
  }
  function closure(ids) {
    const all = new Set();
    const visit = (id) => {
      if (all.has(id)) return;
      all.add(id);
      for (const need of PROCESSES[id].needs) visit(need);
    };
    for (const id of ids) visit(id);
    return all;
  }
  async function keepOnly(ids) {
    const keep = closure(ids);
    for (const [id, promise] of started) {
      if (!keep.has(id)) {
        await stopChild((await promise).child);
        started.delete(id);
      }
    }
  }
  return { ensure, keepOnly, stdoutFiles };
}

function machineInfo(opts) {
  // `nginx -v` prints to stderr, `wrk --version` prints to stdout and exits 1: take both streams.
  const version = (cmd, args) => {
    const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  };
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpuCount: os.cpus().length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx: opts.upstreamKind === 'nginx' ? version(NGINX_PATH, ['-v']).replace(/^nginx version: /, '') : null,
    wrk: opts.loader === 'wrk' ? (version(WRK_PATH, ['--version']).match(/wrk (\S+)/)?.[1] ?? null) : null,
    note: 'load generator, proxy and upstreams share the same cores',
    // Other work on the VM moves every figure; the 1-minute load average says how busy it was.
    loadAverage1mAtEnd: round(os.loadavg()[0], 2),
  };
}

const log = (line) => process.stdout.write(`${line}\n`);

/** The last health transitions a Switchyard target logged (its stdout), to say why a check failed. */
function healthLines(stdoutFile) {
  if (stdoutFile === undefined || !existsSync(stdoutFile)) return '';
  const lines = readFileSync(stdoutFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"component":"health"'));
  return lines.length === 0 ? '' : `its last health lines:\n${lines.slice(-6).join('\n')}`;
}

async function runScenario(run, manager, scenario, opts) {
  const targets = opts.targets ? scenario.targets.filter((t) => opts.targets.includes(t.id)) : scenario.targets;
  if (targets.length === 0) return null;
  log(`\n== ${scenario.title}`);
  const ports = new Map();
  const pids = new Map();
  // One target at a time, each checked before the next starts: a target is not checked while
  // another starts beside it (a 1,000-backend proxy checks all its backends at once on start).
  for (const target of targets) {
    const proc = await manager.ensure(target.process);
    const port = proc.ports[target.port ?? 'main'];
    ports.set(target.id, port);
    pids.set(target.id, proc.child.proc.pid);
    const options = { load: scenario.load, balance: target.balance };
    const checks = await checkTargetReady(target.label, port, options, () => healthLines(proc.stdoutFile));
    if (checks > 1) log(`   ${target.id} reached every upstream at check ${checks} (its health checks settling)`);
  }
  const runs = [];
  // The other targets' processes are paused while one is measured: idle targets still run their
  // timers, and a Switchyard with 1,000 backends health-checks 1,000 of them a second, which would
  // take CPU from whichever target is being measured. Upstreams (needed by other processes) run.
  const upstreamIds = new Set(Object.values(PROCESSES).flatMap((spec) => spec.needs));
  const pausable = [...new Set(targets.filter((t) => !upstreamIds.has(t.process)).map((t) => pids.get(t.id)))];
  // A target resumed after a pause runs its overdue timers: its pool closes the upstream
  // connections idle past their keep-alive timeout and every health check due meanwhile runs.
  // One second of untimed load before each timed round lets that settle outside the figures.
  const settleS = opts.warmupS > 0 ? 1 : 0;
  const load = async (target, durationS) => {
    const pid = pids.get(target.id);
    const others = pausable.filter((p) => p !== pid);
    signalAll(others, 'SIGSTOP');
    try {
      const settled = settleS > 0 ? await loadOnly(target, settleS) : undefined;
      // CPU time of the target's process (and nginx's worker) per request served: on a shared host
      // other load moves req/s a lot and CPU cost per request much less.
      const before = await cpuSeconds(pid);
      const result = await loadOnly(target, durationS);
      const cpuUsPerRequest = result.requests ? (((await cpuSeconds(pid)) - before) * 1e6) / result.requests : null;
      // A request that failed while settling fails the run like any other.
      const settleErrors = settled?.errors ?? 0;
      const errorDetail = settleErrors ? { ...result.errorDetail, settle: settled.errorDetail } : result.errorDetail;
      return { ...result, errors: result.errors + settleErrors, errorDetail, cpuUsPerRequest };
    } finally {
      signalAll(others, 'SIGCONT');
    }
  };
  const loadOnly = (target, durationS) =>
    runLoad({
      loader: opts.loader,
      port: ports.get(target.id),
      load: scenario.load,
      durationS,
      connections: opts.connections,
      threads: opts.threads,
      scripts: run.scripts,
      amount: opts.requests,
    });
  if (opts.warmupS > 0) {
    for (const target of targets) {
      const result = await load(target, opts.warmupS);
      runs.push({ target: target.id, warmup: true, ...result });
      if (result.errors) log(`   warm-up ${target.id}: ${result.errors} errors ${JSON.stringify(result.errorDetail)}`);
    }
  }
  for (let r = 0; r < opts.rounds; r++) {
    // Rotate the order each round so no target always runs first (or right after a heavy one).
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const target of order) {
      const result = await load(target, opts.durationS);
      runs.push({ target: target.id, round: r + 1, ...result });
      const errors = result.errors ? `  ERRORS ${result.errors} ${JSON.stringify(result.errorDetail)}` : '';
      log(
        `   round ${r + 1}/${opts.rounds}  ${target.id.padEnd(16)} ${Math.round(result.rps).toLocaleString('en').padStart(8)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms${errors}`,
      );
      await sleep(opts.smoke ? 20 : 300);
    }
  }
  const rows = summarize(targets, runs, scenario.bodyBytes);
  log(`\n${textTable(rows)}`);
  return {
    id: scenario.id,
    title: scenario.title,
    description: scenario.description,
    load: scenario.load,
    ...(scenario.bodyBytes ? { bodyBytes: scenario.bodyBytes } : {}),
    rows,
  };
}

async function measureRss(manager, opts, run) {
  const proc = await manager.ensure('switchyard-rss');
  const pid = proc.child.proc.pid;
  const [first, last] = opts.rssRequests;
  log(
    `\n== RSS of a fresh Switchyard process: after ${first.toLocaleString('en')} and ${last.toLocaleString('en')} requests`,
  );
  await checkTarget('switchyard-rss', proc.ports.main, { load: 'plain', balance: 'round-robin' });
  const samples = [{ requests: 0, rssBytes: await rssBytes(pid) }];
  const checkpoints = [];
  let total = 0;
  let errors = 0;
  const chunkS = opts.loader === 'wrk' ? 2 : opts.smoke ? 0.1 : 1;
  const deadline = Date.now() + 20 * 60_000;
  for (let i = 0; i < 10_000 && total < last && Date.now() < deadline; i++) {
    const result = await runLoad({
      loader: opts.loader,
      port: proc.ports.main,
      load: 'plain',
      durationS: chunkS,
      connections: opts.connections,
      threads: opts.threads,
      scripts: run.scripts,
      amount: opts.requests === undefined ? undefined : Math.ceil(first / 2),
    });
    total += result.requests;
    errors += result.errors;
    const sample = { requests: total, rssBytes: await rssBytes(pid) };
    samples.push(sample);
    for (const target of [first, last]) {
      if (total >= target && !checkpoints.some((c) => c.target === target)) {
        checkpoints.push({ target, ...sample });
        log(`   after ${total.toLocaleString('en')} requests: RSS ${(sample.rssBytes / 2 ** 20).toFixed(1)} MiB`);
      }
    }
  }
  if (total < last) throw new Error(`RSS run stopped after ${total} requests, before ${last}`);
  return { process: 'switchyard (round-robin, access log off)', samples, checkpoints, errors };
}

async function profileTarget(run, manager, opts) {
  const dir = path.join(run.dir, 'cpu-profile');
  await mkdir(dir, { recursive: true });
  const name = opts.profileTarget;
  run.nodeArgs = { [name]: ['--cpu-prof', '--cpu-prof-dir', dir] };
  const spawnedAt = performance.now();
  const proc = await manager.ensure(name);
  const load = opts.profileLoad;
  await checkTarget(name, proc.ports.main, { load, balance: 'round-robin' });
  const seconds = Math.max(opts.durationS, 1);
  log(`profiling ${name} (pid ${proc.child.proc.pid}) under ${seconds} s of ${load} load…`);
  // Start-up and the checks above are not the load: the summary leaves them out.
  const skipMs = performance.now() - spawnedAt;
  const result = await runLoad({
    loader: opts.loader,
    port: proc.ports.main,
    load,
    durationS: seconds,
    connections: opts.connections,
    threads: opts.threads,
    scripts: run.scripts,
  });
  log(
    `${Math.round(result.rps).toLocaleString('en')} req/s under the profiler (profiling slows it down), ${result.errors} errors`,
  );
  await stopChild(proc.child, { signal: 'SIGINT', graceMs: 10_000 });
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile written: did ${name} exit cleanly on SIGINT?`);
  const file = path.join(dir, files[0]);
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), 30, skipMs);
  const outDir = path.join(ROOT, 'bench-results');
  await mkdir(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await writeFile(path.join(outDir, `${name}-${stamp}.cpuprofile`), readFileSync(file));
  await writeFile(path.join(outDir, `profile-${name}-${stamp}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  log(`\n${profileText(summary)}\n\nprofile: bench-results/${name}-${stamp}.cpuprofile (open in Chrome DevTools)`);
  return result.errors;
}

/** Size and access-log line count of the access-log-on target's stdout: proof the log was written. */
async function accessLogStats(file) {
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return { file: 'stdout of switchyard-log (a file in the temp dir)', bytes: (await stat(file)).size, lines };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-bench-'));
  // nginx workers run as an unprivileged user when started by root: they must read this dir.
  chmodSync(dir, 0o755);
  if (!opts.keep) onInterrupt(() => rm(dir, { recursive: true, force: true }));
  const run = { dir, upstreamKind: opts.upstreamKind, backendsWide: opts.backendsWide, scripts: null };
  if (opts.loader === 'wrk') run.scripts = await writeWrkScripts(dir);
  const manager = processManager(run);
  const startedAt = new Date().toISOString();
  const loadAtStart = round(os.loadavg()[0], 2);
  try {
    if (opts.profile) return (await profileTarget(run, manager, opts)) === 0 ? 0 : 1;
    log(
      `switchyard proxy benchmark: upstreams ${opts.upstreamKind}, loader ${opts.loader}, ${opts.connections} connections, ` +
        `${opts.durationS} s × ${opts.rounds} rounds after ${opts.warmupS} s warm-up${opts.smoke ? ' (smoke)' : ''}; temp dir ${dir}`,
    );
    const all = scenarioList(opts);
    const wanted = (id) => !opts.scenarios || opts.scenarios.includes(id);
    const chosen = all.filter((s) => wanted(s.id));
    const scenarios = [];
    for (let i = 0; i < chosen.length; i++) {
      const result = await runScenario(run, manager, chosen[i], opts);
      if (result) scenarios.push(result);
      await manager.keepOnly(chosen.slice(i + 1).flatMap((s) => s.targets.map((t) => t.process)));
    }
    const logFile = manager.stdoutFiles.get('switchyard-log');
    const accessLog = logFile && existsSync(logFile) ? await accessLogStats(logFile) : null;
    let rss = null;
    if (wanted('rss') && (!opts.targets || opts.targets.includes('switchyard'))) {
      rss = await measureRss(manager, opts, run);
    }
    const scaling = opts.workers && wanted('scaling') ? await runScaling(run, manager, opts, log) : null;
    const h2Ids = H2_SCENARIO_IDS.filter((id) => opts.scenarios?.includes(id));
    const h2 = h2Ids.length > 0 ? await runH2Scenarios(run, opts, h2Ids, log) : [];
    await stopAll();
    const errors =
      [...scenarios, ...h2].reduce((sum, s) => sum + s.rows.reduce((n, r) => n + r.errors, 0), 0) +
      (rss ? rss.errors : 0) +
      (scaling ? scaling.rows.reduce((n, r) => n + r.errors, 0) : 0);
    const doc = {
      schema: 1,
      command: `pnpm bench:proxy${opts.argv.length ? ` ${opts.argv.join(' ')}` : ''}`,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: { ...machineInfo(opts), loadAverage1mAtStart: loadAtStart },
      versions: VERSIONS,
      settings: {
        loader: opts.loader,
        upstreams: opts.upstreamKind,
        connections: opts.connections,
        threads: opts.threads,
        durationS: opts.durationS,
        warmupS: opts.warmupS,
        rounds: opts.rounds,
        smoke: opts.smoke,
      },
      scenarios,
      ...(h2.length > 0 ? { h2 } : {}),
      rss,
      accessLog,
      ...(scaling ? { scaling } : {}),
      errors,
    };
    doc.goals = evaluateGoals(scenarios, rss);
    log(`\n${markdownReport(doc)}`);
    const outDir = path.join(ROOT, 'bench-results');
    await mkdir(outDir, { recursive: true });
    const stamp = startedAt.replace(/[:.]/g, '-');
    const json = `${JSON.stringify(doc, null, 2)}\n`;
    await writeFile(path.join(outDir, `proxy-${stamp}.json`), json);
    const scalingMd = scaling
      ? `\n\n## Scaling with --workers\n\n${scalingText(scaling.rows, true)}\n\n${scaling.note}\n`
      : '';
    await writeFile(path.join(outDir, `proxy-${stamp}.md`), markdownReport(doc) + scalingMd);
    await writeFile(path.join(outDir, `proxy-${stamp}.svg`), renderSvg(doc));
    log(`\nwrote bench-results/proxy-${stamp}.{json,md,svg}`);
    if (opts.docs && errors === 0) {
      await writeFile(path.join(ROOT, 'docs/benchmarks.json'), json);
      await writeFile(path.join(ROOT, 'docs/benchmarks.svg'), renderSvg(doc));
      log('wrote docs/benchmarks.json and docs/benchmarks.svg');
      if (await replaceGeneratedSection(path.join(ROOT, 'docs/benchmarks.md'), markdownReport(doc))) {
        log('updated the generated tables in docs/benchmarks.md');
      }
    }
    if (errors > 0) {
      log(`\nFAILED: ${errors} request(s) failed`);
      return 1;
    }
    return 0;
  } finally {
    await stopAll();
    if (opts.keep) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  async (error) => {
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    await stopAll();
    process.exit(1);
  },
);
