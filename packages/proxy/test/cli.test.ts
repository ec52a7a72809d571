import { spawn } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  CLI_PATH,
  deadAddress,
  ensureBuilt,
  freePort,
  probe,
  runCli,
  type ServeProcess,
  startBackend,
  startServe,
  type TestBackend,
  tempDir,
  waitFor,
} from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    expect(printed.routes).toEqual([{ prefix: '/', upstream: 'web', failover: [] }]);
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
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const badFlag = await runCli(['check', '--nope']);
    expect(badFlag.code).toBe(64);
  }, 30_000);
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
