import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH, ensureBuilt, REPO_ROOT } from './built-cli.js';
import { PROBE_PATH } from './fault-backend.js';
import { freePort } from './net.js';
import { waitFor } from './wait.js';

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Output of a finished CLI run. */
export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `switchyard <args>` to completion (killed after `timeoutMs`). */
export function runCli(args: readonly string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A running `switchyard serve`. */
export interface ServeProcess {
  readonly pid: number;
  readonly port: number;
  readonly configPath: string;
  readonly dir: string;
  /** Every stdout line so far. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** stdout lines that parse as JSON objects (pino output). */
  logs(): Record<string, unknown>[];
  /** All output, stdout and stderr, as one string. */
  output(): string;
  signal(sig: NodeJS.Signals): void;
  /** Rewrites the config file (the caller decides whether to send SIGHUP). */
  writeConfig(config: unknown): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** The process that serves: the child `switchyard serve` relaunched itself as, else `pid`. */
  servingPid(): number;
  /** Resident set size of the serving process, bytes (from /proc). */
  rss(): number;
  /** Open file descriptors of the serving process (from /proc). */
  fds(): number;
}

export interface ServeOptions {
  /** Builds the config for the listen port the helper picked. */
  readonly config: (port: number) => unknown;
  readonly extraArgs?: readonly string[];
  /** How long to wait for the port to answer, ms. @defaultValue 15000 */
  readonly readyTimeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** Whether the server answers yet (a TLS listener needs its own check). @defaultValue {@link probe} over plain HTTP */
  readonly ready?: (port: number) => Promise<boolean>;
}

/** Writes a JSON config to a temp dir, starts `switchyard serve --config` and waits until it answers HTTP. */
export async function startServe(options: ServeOptions): Promise<ServeProcess> {
  await ensureBuilt();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-serve-'));
  const configPath = join(dir, 'switchyard.json');
  writeFileSync(configPath, JSON.stringify(options.config(port), null, 2));
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--config', configPath, ...(options.extraArgs ?? [])], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  children.add(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const splitter = (into: string[]) => {
    let rest = '';
    return (d: Buffer) => {
      const text = rest + d.toString();
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      into.push(...lines);
    };
  };
  child.stdout?.on('data', splitter(stdout));
  child.stderr?.on('data', splitter(stderr));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  const pid = child.pid ?? -1;
  // `switchyard serve` relaunches itself with its Node flags: the server is then the only child.
  const servingPid = (): number => {
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return children.length === 1 ? Number(children[0]) : pid;
    } catch {
      return pid;
    }
  };
  const self: ServeProcess = {
    pid,
    port,
    configPath,
    dir,
    stdout,
    stderr,
    logs: () =>
      stdout.flatMap((line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          return typeof parsed === 'object' && parsed !== null ? [parsed as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    output: () => [...stdout, ...stderr].join('\n'),
    signal: (sig) => {
      child.kill(sig);
    },
    writeConfig: (config) => writeFileSync(configPath, JSON.stringify(config, null, 2)),
    exited,
    async stop(graceMs = 5000) {
      if (exitedEarly) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
    servingPid,
    rss: () => {
      const status = readFileSync(`/proc/${servingPid()}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return Number(kb ?? 0) * 1024;
    },
    fds: () => readdirSync(`/proc/${servingPid()}/fd`).length,
  };
  try {
    await waitFor(
      `switchyard serve to answer on 127.0.0.1:${port}`,
      async () => {
        if (exitedEarly) throw new Error(`switchyard serve exited early:\n${self.output()}`);
        return (options.ready ?? probe)(port);
      },
      options.readyTimeoutMs ?? 15_000,
      50,
    );
  } catch (err) {
    await self.stop(500);
    throw err;
  }
  return self;
}

/** True when something on `port` answers an HTTP request with any status. */
export function probe(port: number, host = '127.0.0.1'): Promise<boolean> {
  return import('node:http').then(
    ({ request }) =>
      new Promise<boolean>((resolve) => {
        const req = request({ host, port, path: PROBE_PATH, method: 'GET', timeout: 1000, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(true));
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
        req.end();
      }),
  );
}

/** Temp dir helper for tests that write files (configs, keys). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
