import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Pool } from 'undici';
import { createAdminServer } from '../admin/admin-server.js';
import { createMetrics } from '../admin/metrics.js';
import { resolveConfig } from '../config/resolve.js';
import { createConfiguredApp } from '../config/runtime.js';
import { createProxyServer } from '../proxy-server.js';
import { type Command, EXIT_USAGE, errorText } from './command.js';
import { nextSteps } from './demo-next.js';
import { type DemoBackend, embeddedConfig, startDemoBackends } from './embedded.js';

const USAGE = `Usage: switchyard demo [--requests N]

Starts three demo backends and the proxy on loopback, sends keyed requests through it,
stops one backend mid-run, shows health checks taking it out and traffic failing over
with no failed request, brings it back, and prints where every key went. ~10 s.

  --requests, -n N   requests per phase (3 phases; default 800)
  --help, -h         this text

Exit codes: 0 when every check of the demo passed, 1 otherwise, 64 usage error.`;

/** Distinct keys (request URIs): enough for a stable share per backend, few enough that each repeats. */
const KEYS = 200;
/** Concurrent client requests. Paced (see PAUSE_MS) so a phase lasts long enough to watch health react. */
const CONCURRENCY = 8;
/** Pause after each response per client lane, so a phase lasts about a second or two on a laptop. */
const PAUSE_MS = 2;
/** Health-check interval of the demo: short, so detection is visible within a phase. */
const HEALTH_INTERVAL_MS = 200;
/** Longest wait for a health transition before the demo gives up. */
const TRANSITION_TIMEOUT_MS = 5000;

/** `switchyard demo`. */
export const demoCommand: Command = {
  summary: 'see Switchyard work: consistent hashing, health checks and failover on loopback (~10 s)',
  usage: USAGE,
  async run(args) {
    let perPhase = 800;
    try {
      const { values } = parseArgs({
        args: [...args],
        options: { requests: { type: 'string', short: 'n' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
      });
      if (values.help === true) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      }
      if (values.requests !== undefined) {
        perPhase = Number(values.requests);
        if (!Number.isInteger(perPhase) || perPhase < 30 || perPhase > 100_000) {
          throw new Error(`--requests: expected an integer from 30 to 100000, got ${JSON.stringify(values.requests)}`);
        }
      }
    } catch (err) {
      process.stderr.write(`switchyard demo: ${errorText(err)}\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    return runDemo(perPhase);
  },
};

interface PhaseResult {
  /** Requests per backend name. */
  readonly counts: Map<string, number>;
  /** Last backend seen per key. */
  readonly owner: Map<string, string>;
  /** Keys answered by more than one backend during the phase. */
  readonly split: number;
  readonly failed: number;
  readonly retried: number;
}

async function runDemo(perPhase: number): Promise<number> {
  const out = new Output(process.stdout);
  const started = Date.now();
  const backends = await startDemoBackends();
  const config = resolveConfig(embeddedConfig(backends, '127.0.0.1:0', HEALTH_INTERVAL_MS, false), process.cwd());
  let retried = 0;
  const configured = createConfiguredApp(config, {
    onRequestEnd: (_session, _error, ctx) => {
      if (ctx.attempts > 1) retried++;
    },
  });
  await configured.ready();
  const metrics = createMetrics();
  metrics.setUpstreams(configured.balancers());
  metrics.setRoutes(config.routes);
  const proxy = createProxyServer(configured.app, {
    observers: [configured.observer, metrics.observer],
    maxAttempts: config.retries.maxAttempts,
    accessLog: false,
    logger: pino({ enabled: false }),
  });
  const { port } = await proxy.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const admin = createAdminServer({ metrics, proxy, port: 0 });
  const adminUrl = `http://127.0.0.1:${(await admin.listen()).port}`;
  const pool = new Pool(url, { connections: CONCURRENCY });
  const names = backends.map((b) => b.name);
  const byAddress = new Map(backends.map((b) => [b.address, b]));
  const health = configured.balancers().get('demo')?.health;
  const transitions: { name: string; healthy: boolean; at: number }[] = [];
  health?.on('change', (change) => {
    const b = byAddress.get(change.backend.id);
    if (b === undefined) return;
    transitions.push({ name: b.name, healthy: change.healthy, at: Date.now() });
    const mark = change.healthy ? out.green(`✓ ${b.name} is UP`) : out.red(`✗ ${b.name} is DOWN`);
    out.event(
      `  ${clock()}  ${mark}  (health check: ${change.healthy ? 'GET /healthz → 200' : (change.reason ?? 'failed')})`,
    );
  });
  const isUp = (name: string) => {
    const b = backends.find((x) => x.name === name);
    return b !== undefined && (health?.isReady(b.address) ?? true);
  };

  try {
    out.line(out.bold('Switchyard demo') + ' — one proxy, three backends, consistent hashing on the request URI');
    out.line('');
    out.line(`  backends  ${backends.map((b) => `${b.name} ${b.address}`).join('   ')}`);
    out.line(
      `  proxy     ${url}   (health checks every ${HEALTH_INTERVAL_MS} ms, up to ${config.retries.maxAttempts} attempts per request)`,
    );
    out.line(`  admin     ${adminUrl}/status   (live status page; Prometheus metrics at ${adminUrl}/metrics)`);
    out.line(`  traffic   ${perPhase} requests per phase over ${KEYS} keys: GET /user/0 … /user/${KEYS - 1}`);
    out.line('');

    out.line(out.bold('1. All backends healthy.') + ' Each key always lands on the same backend.');
    const base = retried;
    const p1 = await runPhase(pool, perPhase, out, () => retried - base);
    out.table(names, p1, isUp);
    out.line(
      `  ${p1.split === 0 ? out.green('✓') : out.red('✗')} ${KEYS - p1.split} of ${KEYS} keys stuck to one backend for the whole phase`,
    );
    out.line('');

    const victim = backends[1] as DemoBackend;
    out.line(out.bold(`2. Stopping ${victim.name} in the middle of the traffic.`) + ' Watch health take it out.');
    const base2 = retried;
    const p2 = await runPhase(pool, perPhase, out, () => retried - base2, {
      at: Math.floor(perPhase / 5),
      action: async () => {
        await victim.stop();
        out.event(`  ${clock()}  ${out.red(`■ ${victim.name} stopped`)} (its port now refuses connections)`);
      },
    });
    await waitUntil(() => !isUp(victim.name), TRANSITION_TIMEOUT_MS);
    out.table(names, p2, isUp);
    const moved = movedKeys(p1.owner, p2.owner);
    const victimKeys = [...p1.owner.values()].filter((n) => n === victim.name).length;
    const strayMoves = moved.filter(([, from]) => from !== victim.name).length;
    out.line(
      `  ${p2.failed === 0 ? out.green('✓') : out.red('✗')} ${p2.failed} failed requests; ${p2.retried} hit ${victim.name} before health noticed and were retried on the next backend`,
    );
    out.line(
      `  ${strayMoves === 0 ? out.green('✓') : out.red('✗')} only ${victim.name}'s ${victimKeys} keys moved (to the next backend on the ring); the other ${KEYS - victimKeys} stayed put`,
    );
    out.line('');

    out.line(out.bold(`3. Bringing ${victim.name} back.`));
    await victim.start();
    out.event(`  ${clock()}  ${out.green(`▶ ${victim.name} restarted`)} on ${victim.address}`);
    await waitUntil(() => isUp(victim.name), TRANSITION_TIMEOUT_MS);
    const base3 = retried;
    const p3 = await runPhase(pool, perPhase, out, () => retried - base3);
    out.table(names, p3, isUp);
    const home = [...p1.owner].filter(([key, name]) => p3.owner.get(key) === name).length;
    out.line(
      `  ${home === KEYS ? out.green('✓') : out.red('✗')} ${home} of ${KEYS} keys are back on the backend they had in phase 1`,
    );
    out.line('');

    const total = p1.failed + p2.failed + p3.failed;
    const sent = 3 * perPhase;
    const down = transitions.find((t) => t.name === victim.name && !t.healthy);
    const up = transitions.find((t) => t.name === victim.name && t.healthy);
    out.line(out.bold('Summary'));
    out.line(
      `  ${sent} requests, ${total === 0 ? out.green('0 failed') : out.red(`${total} failed`)}, ${p1.retried + p2.retried + p3.retried} retried on another backend`,
    );
    if (down !== undefined && up !== undefined) {
      out.line(
        `  ${victim.name} was out of rotation for ${((up.at - down.at) / 1000).toFixed(1)} s; the other backends absorbed its keys`,
      );
    }
    out.line(`  finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    out.line('');
    for (const line of nextSteps(process.cwd())) out.line(line);
    const ok = total === 0 && p1.split === 0 && strayMoves === 0 && home === KEYS && down !== undefined;
    if (!ok) out.line(out.red('The demo did not go as expected: see the ✗ lines above.'));
    return ok ? 0 : 1;
  } finally {
    await pool.close();
    await proxy.close({ deadlineMs: 1000 });
    await admin.close();
    metrics.close();
    await configured.close();
    await Promise.all(backends.map((b) => b.stop()));
  }
}

async function runPhase(
  pool: Pool,
  total: number,
  out: Output,
  retried: () => number,
  midway?: { at: number; action: () => Promise<void> },
): Promise<PhaseResult> {
  const counts = new Map<string, number>();
  const owner = new Map<string, string>();
  const splitKeys = new Set<string>();
  let next = 0;
  let done = 0;
  let failed = 0;
  let fired: Promise<void> | undefined;
  out.progress(0, total, 0, 0);
  const lane = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      if (midway !== undefined && i === midway.at) fired = midway.action();
      const key = `/user/${i % KEYS}`;
      try {
        const res = await pool.request({ method: 'GET', path: key, headersTimeout: 5000, bodyTimeout: 5000 });
        await res.body.text();
        const name = res.headers['x-served-by'];
        if (res.statusCode !== 200 || typeof name !== 'string') failed++;
        else {
          counts.set(name, (counts.get(name) ?? 0) + 1);
          const before = owner.get(key);
          if (before !== undefined && before !== name && midway === undefined) splitKeys.add(key);
          owner.set(key, name);
        }
      } catch {
        failed++;
      }
      done++;
      if (done % 20 === 0 || done === total) out.progress(done, total, failed, retried());
      await sleep(PAUSE_MS);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  await fired;
  out.progressDone(total, failed, retried());
  return { counts, owner, split: splitKeys.size, failed, retried: retried() };
}

/** Keys whose backend differs between two phases, as `[key, from, to]`. */
function movedKeys(before: Map<string, string>, after: Map<string, string>): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const [key, from] of before) {
    const to = after.get(key);
    if (to !== undefined && to !== from) out.push([key, from, to]);
  }
  return out;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(20);
}

function clock(): string {
  return new Date().toISOString().slice(11, 23);
}

const BAR_WIDTH = 32;

/** Terminal output: a redrawn progress bar and colours on a TTY, plain lines otherwise. */
class Output {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #color: boolean;
  #bar = '';

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#color = this.#tty && process.env.NO_COLOR === undefined;
  }

  line(text: string): void {
    this.#stream.write(`${text}\n`);
  }

  /** A line printed above the progress bar, which is then redrawn. */
  event(text: string): void {
    if (this.#tty && this.#bar !== '') this.#stream.write(`\r\x1b[K${text}\n${this.#bar}`);
    else this.line(text);
  }

  progress(done: number, total: number, failed: number, retried: number): void {
    this.#bar = bar(done, total, failed, retried);
    if (this.#tty) this.#stream.write(`\r\x1b[K${this.#bar}`);
  }

  progressDone(total: number, failed: number, retried: number): void {
    const text = bar(total, total, failed, retried);
    this.#stream.write(this.#tty ? `\r\x1b[K${text}\n` : `${text}\n`);
    this.#bar = '';
  }

  table(names: readonly string[], phase: PhaseResult, isUp: (name: string) => boolean): void {
    const total = [...phase.counts.values()].reduce((a, b) => a + b, 0) || 1;
    const keysOf = (name: string) => [...phase.owner.values()].filter((n) => n === name).length;
    this.line('');
    this.line('  backend    health    requests   share   keys');
    for (const name of names) {
      const n = phase.counts.get(name) ?? 0;
      const state = isUp(name) ? this.green('● up  ') : this.red('● down');
      const share = `${Math.round((100 * n) / total)}%`;
      const graph = '█'.repeat(Math.round((20 * n) / total));
      this.line(
        `  ${name.padEnd(9)}  ${state}    ${String(n).padStart(8)}   ${share.padStart(5)}   ${String(keysOf(name)).padStart(4)}  ${graph}`,
      );
    }
    this.line('');
  }

  bold(text: string): string {
    return this.#color ? `\x1b[1m${text}\x1b[22m` : text;
  }

  green(text: string): string {
    return this.#color ? `\x1b[32m${text}\x1b[39m` : text;
  }

  red(text: string): string {
    return this.#color ? `\x1b[31m${text}\x1b[39m` : text;
  }
}

function bar(done: number, total: number, failed: number, retried: number): string {
  const filled = Math.round((BAR_WIDTH * done) / total);
  return `  [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${String(done).padStart(String(total).length)}/${total}  ${failed} failed  ${retried} retried`;
}
