import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  CLI_PATH,
  deadAddress,
  ensureBuilt,
  freePort,
  probe,
  REPO_ROOT,
  runCli,
  type ServeProcess,
  startBackend,
  startServe,
  type TestBackend,
  tempDir,
  waitFor,
} from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEMO_NEXT_CONFIG, nextSteps } from '../src/commands/demo-next.js';
import { relaunchFlags, SERVE_NODE_FLAGS } from '../src/commands/relaunch.js';
import { get } from './helpers/server-client.js';

// The CLI runs as a child process from packages/proxy/dist (built on demand by ensureBuilt).

const config = (port: number, backends: readonly TestBackend[]) => ({
  listen: `127.0.0.1:${port}`,
  upstreams: {
    web: {
      backends: backends.map((b) => b.id),
      selector: { type: 'round-robin' },
      // A generous check timeout: the box running these tests may be loaded, and a false 'down' would fail them.
      health: { type: 'http', path: '/healthz', intervalMs: 200, timeoutMs: 1000 },
      peer: { connectionTimeout: 500, readTimeout: 2000 },
    },
  },
  logLevel: 'info',
});

/** The backends that answered `count` fresh GETs of `/<prefix><i>` through the proxy on `port`. */
async function servedBy(port: number, prefix: string, count: number): Promise<Set<string | undefined>> {
  const seen = new Set<string | undefined>();
  for (let i = 0; i < count; i++) seen.add((await get(port, `/${prefix}${i}`)).backend);
  return seen;
}

let backends: TestBackend[] = [];
beforeAll(async () => {
  await ensureBuilt();
  backends = await Promise.all(['one', 'two', 'three'].map((n) => startBackend({ name: n })));
}, 200_000);
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
});

describe('switchyard check', () => {
  it('prints the resolved config and exits 0 for a valid file', async () => {
    const dir = tempDir('switchyard-check-');
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(
      file,
      'upstreams:\n  web:\n    backends: ["127.0.0.1:9001", { address: "127.0.0.1:9002", weight: 2 }]\n',
    );
    const run = await runCli(['check', '--config', file]);
    expect(run.code, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed.upstreams.web.backends).toEqual(['127.0.0.1:9001', { address: '127.0.0.1:9002', weight: 2 }]);
    expect(printed.routes).toEqual([{ prefix: '/', upstream: 'web', failover: [], overprovisioningFactor: 1.4 }]);
    expect(run.stderr).toMatch(/is valid \(1 upstream: web\)/);
  }, 30_000);

  it('exits 1 with path-named errors and no stack trace for an invalid file', async () => {
    const dir = tempDir('switchyard-check-');
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ upstreams: { web: { backends: ['x:1'], peer: { connectionTimeout: 'abc' } } }, workers: -2 }),
    );
    const run = await runCli(['check', '--config', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('upstreams.web.peer.connectionTimeout: expected a number >= 0, got "abc"');
    expect(run.stderr).toContain('workers: expected an integer from 1 to 256, got -2');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
    const missing = await runCli(['check', '--config', join(dir, 'absent.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/absent\.json: \(file\): cannot read it \(ENOENT\)/);
  }, 30_000);

  it('help and unknown commands', async () => {
    const help = await runCli(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/serve\s+run the reverse proxy/);
    expect(help.stdout).toMatch(/check\s+validate/);
    expect(help.stdout).toMatch(/demo\s+see Switchyard work/);
    expect(help.stdout).toMatch(/simulate\s+replay a synthetic workload/);
    expect(help.stdout).toMatch(/-v, --version/);
    for (const flag of ['--help', '-h']) {
      const again = await runCli([flag]);
      expect(again.code).toBe(0);
      expect(again.stdout).toBe(help.stdout);
    }
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const badFlag = await runCli(['check', '--nope']);
    expect(badFlag.code).toBe(64);
    // No command at all is a usage error too: the command list goes to stderr.
    const bare = await runCli([]);
    expect(bare.code).toBe(64);
    expect(bare.stderr).toContain('Usage: switchyard <command>');
    expect(bare.stdout).toBe('');
  }, 30_000);
});

describe('the command line of every command', () => {
  const COMMANDS = ['serve', 'check', 'demo', 'simulate'];

  it('--version and -v print the proxy package version', async () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/proxy/package.json'), 'utf8')) as {
      version: string;
    };
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-v']) {
      const run = await runCli([flag]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(`${manifest.version}\n`);
    }
    expect((await runCli(['--version', 'extra'])).code).toBe(64);
  }, 30_000);

  it('every command answers --help, -h and `help <command>` with its usage and exit 0', async () => {
    // One command's three spellings at a time, the commands side by side.
    await Promise.all(
      COMMANDS.map(async (name) => {
        const long = await runCli([name, '--help']);
        expect(long.code, `${name} --help: ${long.stderr}`).toBe(0);
        expect(long.stdout).toMatch(new RegExp(`^Usage: switchyard ${name}\\b`));
        expect(long.stdout).toMatch(/--help, -h/);
        expect(long.stdout).toMatch(/64 usage error/);
        const short = await runCli([name, '-h']);
        expect(short.code).toBe(0);
        expect(short.stdout).toBe(long.stdout);
        const viaHelp = await runCli(['help', name]);
        expect(viaHelp.code).toBe(0);
        expect(viaHelp.stdout).toBe(long.stdout);
      }),
    );
    const unknownTopic = await runCli(['help', 'frobnicate']);
    expect(unknownTopic.code).toBe(64);
    expect(unknownTopic.stderr).toMatch(/unknown command "frobnicate"/);
  }, 60_000);

  it('usage errors exit 64 in every command, simulate included, with the usage on stderr', async () => {
    const cases: [string[], RegExp][] = [
      [['check'], /--config FILE is required/],
      [['check', '--config'], /--config/],
      [['check', '--config', 'x.json', 'stray'], /stray/],
      [['serve', '--workers', '0'], /--workers: expected an integer from 1 to 256, got "0"/],
      [['serve', '--bogus'], /--bogus/],
      [['demo', '--requests', '5'], /--requests: expected an integer from 30 to 100000, got "5"/],
      [['simulate', '--backends', 'many'], /--backends: expected a non-negative integer, got "many"/],
      [['simulate', '--backends', '0'], /--backends: expected an integer from 1 to 65535, got 0/],
      [['simulate', '--selector', 'nope', '--requests', '0'], /--selector: expected one of .*got "nope"/],
      [['simulate', '--utilization', '2', '--requests', '0'], /--utilization/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args);
      expect(run.code, `switchyard ${args.join(' ')}: ${run.stderr}`).toBe(64);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain(`Usage: switchyard ${args[0]}`);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  }, 60_000);

  it("the package README's command list names every command, and the root has a `pnpm switchyard` script", () => {
    const readme = readFileSync(join(REPO_ROOT, 'packages/proxy/README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## The `switchyard` command'),
      readme.indexOf('## Config file reference'),
    );
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    for (const name of COMMANDS) expect(block).toMatch(new RegExp(`^switchyard ${name}\\b`, 'm'));
    expect(block).toMatch(/^switchyard --version/m);
    const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(root.scripts.switchyard).toMatch(/node packages\/proxy\/dist\/cli\.js$/);
  });
});

describe('switchyard serve', () => {
  it('exits non-zero before listening when the config is invalid', async () => {
    const port = await freePort();
    const dir = tempDir('switchyard-serve-bad-');
    const file = join(dir, 'switchyard.json');
    const bad = config(port, backends) as { upstreams: { web: Record<string, unknown> } };
    bad.upstreams.web.selector = { type: 'magic' };
    writeFileSync(file, JSON.stringify(bad));
    // Watch the port while the process runs: it must never answer.
    let answered = false;
    const child = spawn(process.execPath, [CLI_PATH, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let done = false;
    void exited.then(() => {
      done = true;
    });
    while (!done) {
      if (await probe(port)) answered = true;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await exited).toBe(1);
    expect(answered).toBe(false);
    expect(stderr).toMatch(/upstreams\.web\.selector\.type: expected a selector type/);
  }, 30_000);

  it('proxies to real backends, reloads a new backend set on SIGHUP, and exits 0 on SIGTERM', async () => {
    const [one, two, three] = backends as [TestBackend, TestBackend, TestBackend];
    const serve = await startServe({ config: (port) => config(port, [one, two]) });
    try {
      expect(await servedBy(serve.port, 'r', 6)).toEqual(new Set(['one', 'two']));
      expect(serve.logs().some((l) => l.msg === 'switchyard listening')).toBe(true);

      serve.writeConfig(config(serve.port, [three]));
      serve.signal('SIGHUP');
      await waitFor(
        'a reload on SIGHUP',
        () => serve.logs().some((l) => l.msg === 'config reloaded' && l.why === 'SIGHUP'),
        10_000,
      );
      expect(await servedBy(serve.port, 's', 6)).toEqual(new Set(['three']));

      // A reload that fails validation keeps the running config.
      writeFileSync(serve.configPath, '{ "upstreams": { "web": { "backends": [] } } }');
      serve.signal('SIGHUP');
      await waitFor(
        'the failed reload to be logged',
        () => serve.logs().some((l) => l.msg?.toString().includes('reload failed') === true),
        10_000,
      );
      expect((await get(serve.port, '/t')).backend).toBe('three');
    } finally {
      serve.signal('SIGTERM');
    }
    expect(await serve.exited).toEqual({ code: 0, signal: null });
    expect(serve.logs().some((l) => l.msg === 'stopped')).toBe(true);
  }, 60_000);

  it('reloads when the config file is saved by rename, and again after an in-place edit', async () => {
    const [one, two, three] = backends as [TestBackend, TestBackend, TestBackend];
    const serve = await startServe({ config: (port) => config(port, [one]) });
    const reloads = () => serve.logs().filter((l) => l.msg === 'config reloaded' && l.why === 'file changed').length;
    try {
      expect(await servedBy(serve.port, 'a', 4)).toEqual(new Set(['one']));
      // An editor's save: a new file renamed over the old one.
      const tmp = `${serve.configPath}.tmp`;
      writeFileSync(tmp, JSON.stringify(config(serve.port, [two])));
      renameSync(tmp, serve.configPath);
      await waitFor('a reload after the rename', () => reloads() === 1, 10_000);
      expect(await servedBy(serve.port, 'b', 4)).toEqual(new Set(['two']));
      // The watch moved to the new file: an in-place write is seen too.
      serve.writeConfig(config(serve.port, [three]));
      await waitFor('a reload after the in-place write', () => reloads() === 2, 10_000);
      expect(await servedBy(serve.port, 'c', 4)).toEqual(new Set(['three']));
    } finally {
      serve.signal('SIGTERM');
    }
    expect(await serve.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('wires retries.maxAttempts and accessLog from the file into the server', async () => {
    const dead = await deadAddress();
    const live = backends[0]!;
    const raw = (port: number, maxAttempts: number, accessLog: boolean) => ({
      listen: `127.0.0.1:${port}`,
      upstreams: { web: { backends: [dead, live.id], selector: { type: 'round-robin' } } },
      retries: { maxAttempts },
      accessLog,
    });
    // Round-robin without health checks: every other request's first choice is the dead backend.
    const single = await startServe({ config: (port) => raw(port, 1, false) });
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await get(single.port, `/a${i}`)).status);
      expect(statuses.filter((s) => s === 502).length).toBe(3);
      expect(single.logs().some((l) => typeof l.attempts === 'number')).toBe(false);
    } finally {
      await single.stop();
    }
    const retrying = await startServe({ config: (port) => raw(port, 2, true) });
    try {
      for (let i = 0; i < 6; i++) expect((await get(retrying.port, `/b${i}`)).status).toBe(200);
      await waitFor(
        'access-log lines',
        () => retrying.logs().filter((l) => typeof l.attempts === 'number').length >= 6,
      );
      expect(retrying.logs().some((l) => l.attempts === 2)).toBe(true);
    } finally {
      await retrying.stop();
    }
  }, 60_000);

  it('logBufferBytes holds log lines until the buffer fills, logFlushMs passes or the server stops', async () => {
    const live = backends[0]!;
    const raw = (port: number, logFlushMs: number) => ({
      listen: `127.0.0.1:${port}`,
      upstreams: { web: { backends: [live.id] } },
      logBufferBytes: 65_536,
      logFlushMs,
    });
    // Access lines of this test's own requests (the helper's readiness probe makes one more).
    const accessLines = (s: ServeProcess, prefix: string) =>
      s.logs().filter((l) => l.msg === 'request' && String(l.path).startsWith(prefix)).length;
    // No flush by time within the test: the lines come out only when the server stops.
    const held = await startServe({ config: (port) => raw(port, 600_000) });
    for (let i = 0; i < 5; i++) expect((await get(held.port, `/h${i}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(accessLines(held, '/h')).toBe(0);
    held.signal('SIGTERM');
    expect(await held.exited).toEqual({ code: 0, signal: null });
    expect(accessLines(held, '/h')).toBe(5);
    expect(held.logs().at(-1)?.msg).toBe('stopped');
    // A short flush interval writes them while the server runs.
    const timed = await startServe({ config: (port) => raw(port, 100) });
    try {
      for (let i = 0; i < 5; i++) expect((await get(timed.port, `/t${i}`)).status).toBe(200);
      await waitFor('the flush timer to write the access lines', () => accessLines(timed, '/t') === 5);
    } finally {
      await timed.stop();
    }
  }, 60_000);

  it('runs the server with SERVE_NODE_FLAGS: relaunched in a child, which a SIGKILLed launcher takes down', async () => {
    const serve = await startServe({ config: (port) => config(port, backends) });
    const servingPid = () => serve.logs().find((l) => l.msg === 'switchyard listening')?.pid as number | undefined;
    await waitFor('the listening line', () => servingPid() !== undefined);
    const pid = servingPid() as number;
    expect(pid).not.toBe(serve.pid);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const flag of SERVE_NODE_FLAGS) expect(cmdline).toContain(flag);
    expect((await get(serve.port, '/relaunched')).status).toBe(200);
    serve.signal('SIGKILL');
    await serve.exited;
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor('the relaunched server to stop after its launcher died', () => !alive(), 15_000);
  }, 60_000);

  it('does not relaunch when the operator gave the flag (NODE_OPTIONS) themselves', async () => {
    const serve = await startServe({
      config: (port) => config(port, backends),
      env: { NODE_OPTIONS: '--max-semi-space-size=32' },
    });
    try {
      await waitFor('the listening line', () => serve.logs().some((l) => l.msg === 'switchyard listening'));
      expect(serve.logs().find((l) => l.msg === 'switchyard listening')?.pid).toBe(serve.pid);
    } finally {
      await serve.stop();
    }
  }, 60_000);

  it('--workers 2 runs two processes on one port; SIGTERM to the primary stops both and exits 0', async () => {
    const serve = await startServe({
      config: (port) => config(port, backends),
      extraArgs: ['--workers', '2'],
      // Three processes start on a shared CI box: give them time.
      readyTimeoutMs: 45_000,
    });
    try {
      await waitFor(
        'both workers listening',
        () => serve.logs().filter((l) => l.msg === 'switchyard listening').length === 2,
        20_000,
      );
      const pids = new Set(
        serve
          .logs()
          .filter((l) => l.msg === 'switchyard listening')
          .map((l) => l.pid),
      );
      expect(pids.size).toBe(2);
      expect(pids.has(serve.pid)).toBe(false);
      // The primary logs through the same JSON logger: stdout is one JSON stream.
      const primary = serve.logs().filter((l) => l.component === 'primary');
      expect(primary.filter((l) => l.workers !== undefined).map((l) => l.workers)).toEqual([2]);
      expect(primary.some((l) => l.msg === 'health checks run here, shared with the workers')).toBe(true);
      expect(pids.has(Number(primary[0]?.pid))).toBe(false);
      expect(serve.stdout.filter((line) => line.trim() !== '' && !line.startsWith('{'))).toEqual([]);
      for (let i = 0; i < 4; i++) expect((await get(serve.port, `/w${i}`)).status).toBe(200);
    } finally {
      serve.signal('SIGTERM');
    }
    expect(await serve.exited).toEqual({ code: 0, signal: null });
    expect(serve.logs().filter((l) => l.msg === 'stopped').length).toBe(2);
  }, 60_000);

  it('without --config runs the embedded default: three demo backends behind the proxy, URL printed', async () => {
    const child = spawn(process.execPath, [CLI_PATH, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor('the URL to be printed', () => /proxying http:\/\/127\.0\.0\.1:\d+/.test(stdout), 20_000);
      const port = Number(/proxying http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
      const served = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const res = await new Promise<string>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: `/hello/${i}`, agent: false }, (r) => {
            r.resume();
            r.on('end', () => resolve(String(r.headers['x-served-by'])));
          });
          req.on('error', reject);
          req.end();
        });
        served.add(res);
      }
      expect(served).toEqual(new Set(['alpha', 'bravo', 'charlie']));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});

describe('switchyard demo', () => {
  it('exits 0 and prints the per-backend table, the outage and the recovery', async () => {
    const run = await runCli(['demo', '--requests', '300'], { timeoutMs: 90_000 });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/backend\s+health\s+requests\s+share\s+keys/);
    for (const name of ['alpha', 'bravo', 'charlie']) expect(run.stdout).toContain(name);
    expect(run.stdout).toMatch(/✗ bravo is DOWN/);
    expect(run.stdout).toMatch(/✓ bravo is UP/);
    expect(run.stdout).toMatch(/900 requests, 0 failed/);
    expect(run.stdout).toMatch(/only bravo's \d+ keys moved/);
    // Run from the repository root: the closing lines name the example backends and config.
    expect(run.stdout).toContain(`pnpm switchyard serve --config ${DEMO_NEXT_CONFIG}`);
  }, 100_000);
});

describe('relaunchFlags', () => {
  it('adds the serve flags unless execArgv or NODE_OPTIONS carries any of them, whatever the value or spelling', () => {
    expect(relaunchFlags([], {})).toEqual([...SERVE_NODE_FLAGS]);
    expect(relaunchFlags(['--max-semi-space-size=8'], {})).toEqual([]);
    expect(relaunchFlags(['--min-semi-space-size=2'], {})).toEqual([]);
    expect(relaunchFlags(['--allocation-site-pretenuring'], {})).toEqual([]);
    expect(relaunchFlags(['--no-allocation-site-pretenuring'], {})).toEqual([]);
    // V8 reads `_` and `-` alike in flag names.
    expect(relaunchFlags(['--max_semi_space_size=16'], {})).toEqual([]);
    expect(relaunchFlags(['--no_allocation_site_pretenuring'], {})).toEqual([]);
    expect(relaunchFlags([], { NODE_OPTIONS: '--trace-gc --max-semi-space-size=128' })).toEqual([]);
    expect(relaunchFlags(['--inspect'], { NODE_OPTIONS: '--max-old-space-size=512' })).toEqual([...SERVE_NODE_FLAGS]);
    // The relaunched process never relaunches again; Windows never relaunches.
    expect(relaunchFlags([], { SWITCHYARD_RELAUNCHED: '1' })).toEqual([]);
    expect(relaunchFlags([], {}, 'win32')).toEqual([]);
    expect(relaunchFlags([], {}, 'darwin')).toEqual([...SERVE_NODE_FLAGS]);
  });
});

describe('examples/', () => {
  const EXAMPLES = join(REPO_ROOT, 'examples');
  const configs = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f));

  it('holds the documented configs, and `check` accepts every one of them', async () => {
    expect(configs).toEqual(expect.arrayContaining(['health-checked.yaml', 'keyed.yaml', 'failover.yaml']));
    for (const file of configs) {
      const run = await runCli(['check', '--config', join('examples', file)]);
      expect(run.code, `${file}: ${run.stderr}`).toBe(0);
      expect(run.stderr).toMatch(/is valid/);
    }
    const resolved = async (file: string) => JSON.parse((await runCli(['check', '--config', file])).stdout);
    const checked = await resolved('examples/health-checked.yaml');
    expect(checked.upstreams.web.backends).toHaveLength(3);
    expect(checked.upstreams.web.health).toMatchObject({ type: 'http', path: '/healthz' });
    expect((await resolved('examples/keyed.yaml')).upstreams.users.selector).toMatchObject({
      type: 'consistent',
      key: 'header:x-user',
    });
    expect((await resolved('examples/failover.yaml')).routes).toContainEqual(
      expect.objectContaining({ prefix: '/api', upstream: 'primary', failover: ['standby'] }),
    );
  }, 60_000);

  it("the demo's Next lines are the repository's commands, or `npx switchyard` outside it", () => {
    const lines = nextSteps(REPO_ROOT).join('\n');
    expect(lines).toContain('node examples/backends.mjs');
    expect(lines).toContain(`pnpm switchyard serve --config ${DEMO_NEXT_CONFIG}`);
    expect(existsSync(join(REPO_ROOT, DEMO_NEXT_CONFIG))).toBe(true);
    const elsewhere = nextSteps(tempDir('switchyard-next-')).join('\n');
    expect(elsewhere).toContain('npx switchyard serve');
    expect(elsewhere).not.toContain('examples/');
  });

  it('serves the Next config in front of the backends script: health checks pass, all three answer', async () => {
    // The example files use fixed ports (8080, 9001–9004); the test moves them to free ones so it
    // cannot collide with anything else on the host, and changes nothing else in the file.
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const script = spawn(process.execPath, ['examples/backends.mjs', '--ports', ports.join(',')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    script.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    script.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const scriptExited = new Promise<number | null>((resolve) => script.on('close', (code) => resolve(code)));
    let serve: ServeProcess | undefined;
    try {
      await waitFor('the example backends to listen', () => out.includes('Example backends listening'), 10_000);
      const text = readFileSync(join(REPO_ROOT, DEMO_NEXT_CONFIG), 'utf8');
      serve = await startServe({
        config: (port) => {
          let json = JSON.stringify(parseYaml(text)).replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
          for (const [i, p] of ports.entries()) json = json.replaceAll(`127.0.0.1:${9001 + i}`, `127.0.0.1:${p}`);
          return JSON.parse(json);
        },
      });
      const seen = new Set<string | undefined>();
      for (let i = 0; i < 9; i++) {
        const res = await getServedBy(serve.port, `/hello/${i}`);
        expect(res.status).toBe(200);
        seen.add(res.servedBy);
      }
      expect(seen).toEqual(new Set(['alpha', 'bravo', 'charlie']));
      expect(serve.logs().some((l) => l.msg === 'switchyard listening')).toBe(true);
    } finally {
      await serve?.stop();
      script.kill('SIGTERM');
    }
    expect(await scriptExited).toBe(0);
  }, 60_000);
});

/** GETs `path` on the proxy at `port` over a fresh connection: the status and the example backend's `X-Served-By`. */
function getServedBy(port: number, path: string): Promise<{ status: number; servedBy: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => {
        const servedBy = res.headers['x-served-by'];
        resolve({ status: res.statusCode ?? 0, servedBy: typeof servedBy === 'string' ? servedBy : undefined });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}
