// Child processes of one benchmark run: every process started here is registered, and every
// registered process is stopped on normal exit, on error and on SIGINT/SIGTERM.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Loopback only: every benchmark connection goes to this address. */
export const HOST = '127.0.0.1';

const live = new Set();
const cleanups = new Set();
let hooksInstalled = false;

/** Registers `fn` to run (after every child stopped) when the run is interrupted by a signal. */
export function onInterrupt(fn) {
  installHooks();
  cleanups.add(fn);
}

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort when the orchestrator dies: a synchronous SIGKILL to whatever is left.
  process.on('exit', () => {
    for (const child of live) child.proc.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${live.size} child process(es)\n`);
      stopAll()
        .then(() => Promise.allSettled([...cleanups].map((fn) => fn())))
        .finally(() => process.exit(130));
    });
  }
}

/**
 * Starts a registered child. stdout/stderr go to files (the access log benchmark relies on
 * stdout being a file), so a chatty child never blocks on a full pipe.
 */
export function startChild(name, command, args, { stdoutFile, stderrFile, env, cwd } = {}) {
  installHooks();
  const out = stdoutFile ? openSync(stdoutFile, 'a') : 'ignore';
  const err = stderrFile ? openSync(stderrFile, 'a') : 'ignore';
  const proc = spawn(command, args, {
    stdio: ['ignore', out, err],
    env: env ?? process.env,
    cwd,
  });
  if (typeof out === 'number') closeSync(out);
  if (typeof err === 'number') closeSync(err);
  const child = { name, proc, stderrFile, exited: false, exitCode: null, exitSignal: null };
  child.exitPromise = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      child.exited = true;
      child.exitCode = code;
      child.exitSignal = signal;
      live.delete(child);
      resolve();
    });
    proc.once('error', (error) => {
      child.exited = true;
      child.error = error;
      live.delete(child);
      resolve();
    });
  });
  live.add(child);
  return child;
}

/** Stops one child: `signal`, then SIGKILL if it is still running after `graceMs`. */
export async function stopChild(child, { signal = 'SIGTERM', graceMs = 5000 } = {}) {
  if (child.exited) return;
  child.proc.kill(signal);
  // A child paused by signalAll (the run was interrupted mid-round) handles the signal once resumed.
  child.proc.kill('SIGCONT');
  const timer = sleep(graceMs).then(() => 'timeout');
  if ((await Promise.race([child.exitPromise, timer])) === 'timeout') {
    child.proc.kill('SIGKILL');
    await child.exitPromise;
  }
}

/** Stops every child still running, in parallel. */
export async function stopAll() {
  await Promise.all([...live].map((child) => stopChild(child)));
}

/** Resolves once `port` accepts a TCP connection; rejects after `timeoutMs` or if `child` exits first. */
export async function waitForPort(port, { child, timeoutMs = 60000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline && attempt < 10000; attempt++) {
    if (child?.exited) {
      throw new Error(
        `${child.name} exited (code ${child.exitCode}, signal ${child.exitSignal}) before listening on ${port}${child.stderrFile ? `; see ${child.stderrFile}` : ''}`,
      );
    }
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`${child?.name ?? 'port'} ${port}: nothing listening after ${timeoutMs} ms`);
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

// Other suites run on this machine at the same time and listen on port 0, i.e. on ephemeral
// ports. A port picked here is released before its real owner binds it; were it ephemeral,
// another process could take it in between and answer in its place. So ports come from below
// the ephemeral range, where port-0 listeners never land.
const PICK_FLOOR = 20000;

function ephemeralLow() {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

function tryListen(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(null));
    server.listen(port, HOST, () => resolve(server));
  });
}

/**
 * `count` distinct free loopback ports below the ephemeral range (random ones, so two runs rarely
 * collide). All are held open until every one is allocated; they are free again when this resolves.
 */
export async function freePorts(count) {
  const high = ephemeralLow() - 1;
  const span = high - PICK_FLOOR;
  if (span < count * 4) throw new Error(`not enough ports between ${PICK_FLOOR} and ${high} for ${count}`);
  const servers = [];
  const tried = new Set();
  try {
    for (let attempt = 0; servers.length < count && attempt < count * 20; attempt++) {
      const port = PICK_FLOOR + Math.floor(Math.random() * span);
      if (tried.has(port)) continue;
      tried.add(port);
      const server = await tryListen(port);
      if (server) servers.push(server);
    }
    if (servers.length < count) throw new Error(`found only ${servers.length} of ${count} free ports`);
    return servers.map((server) => server.address().port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Resident set size of a running process in bytes, from /proc (Linux). */
export async function rssBytes(pid) {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const CLOCK_TICKS = 100;

async function ticks(pid) {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is the 1st, utime the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Direct children of `pid` (nginx's workers), from /proc; none when it has exited (or off Linux). */
function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Sends `signal` to each of `pids` and to their direct children; a process that has exited
 * meanwhile is skipped. The benchmark pauses idle targets with SIGSTOP while another one is
 * measured and resumes them with SIGCONT.
 */
export function signalAll(pids, signal) {
  for (const pid of pids) {
    for (const target of [pid, ...childPids(pid)]) {
      try {
        process.kill(target, signal);
      } catch (err) {
        if (err.code !== 'ESRCH') throw err;
      }
    }
  }
}

/**
 * CPU seconds (user + system) used so far by `pid` and its direct children (nginx's workers).
 * CPU time per request is robust to other load on a shared host, where throughput is not.
 */
export async function cpuSeconds(pid) {
  let total = await ticks(pid);
  for (const child of childPids(pid)) {
    try {
      total += await ticks(child);
    } catch {
      // The child exited between the listing and the read.
    }
  }
  return total / CLOCK_TICKS;
}
