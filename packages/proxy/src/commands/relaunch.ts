import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Node flags `switchyard serve` runs with. Both keep per-request objects out of V8's old
 * generation when there are many upstream connections: with 1,000 backends each connection is
 * used once every 1,000 requests, and its last response's objects live that long.
 *
 * - A fixed 64 MiB semi-space (Node 20's default grows from 1 to 16 MiB) gives those objects time
 *   to die before a scavenge: at the default size a scavenge promoted about 1 MB and took 5–7 ms
 *   (22 KB and 1 ms with 3 backends), and the proxy spent 84–134 µs of CPU per request instead of
 *   72–76 µs. Fixed (the minimum equal to the maximum) so the young generation is at full size
 *   after the first few hundred MB of allocation rather than growing for the first half million
 *   requests. Memory: up to 3 × 64 MiB of young generation.
 * - No allocation-site pretenuring. When most objects from one allocation site survive a
 *   scavenge, V8 allocates that site's later objects directly in the old generation. Over 1,000
 *   backends it did so, in each of ten traced runs, for undici's response-header buffers soon
 *   after the connections opened: every response's headers then went to the old generation to
 *   die there. Each scavenge promoted about 4.5 MB and took 9–25 ms, a mark-compact followed
 *   every few seconds, and the proxy spent 94–202 µs of CPU per request. Without pretenuring,
 *   scavenges took 3–6 ms and promoted almost nothing, and the proxy spent 74–115 µs in the runs
 *   alongside. With 3 backends V8 did not pretenure these sites, and the flag measured the same.
 */
export const SERVE_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=64',
  '--min-semi-space-size=64',
  '--no-allocation-site-pretenuring',
];

/**
 * The names by which an operator's own choice of any of {@link SERVE_NODE_FLAGS} shows: each
 * flag's name, and for a `--no-X` flag also `--X`.
 */
const SERVE_FLAG_NAMES: readonly string[] = SERVE_NODE_FLAGS.flatMap((flag) => {
  const name = flag.split('=')[0] as string;
  return name.startsWith('--no-') ? [name, `--${name.slice('--no-'.length)}`] : [name];
});

/** Set in the relaunched process, so it never relaunches again. */
const RELAUNCHED_ENV = 'SWITCHYARD_RELAUNCHED';
const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * The flags to relaunch with: {@link SERVE_NODE_FLAGS} when this process was started with none
 * of them; none when it was relaunched already, or when the operator set any of them
 * (`execArgv` or `NODE_OPTIONS`, in either V8 spelling, `-` or `_`), whatever the value: then
 * their choice of V8 settings wins and `serve` runs in one process with exactly what they gave.
 * None on Windows, which has neither the signals the launcher forwards nor process groups: there
 * `serve` runs in one process with Node's defaults.
 */
export function relaunchFlags(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string[] {
  if (platform === 'win32' || env[RELAUNCHED_ENV] !== undefined) return [];
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  // V8 reads `_` and `-` alike in flag names.
  const anyGiven = given.some((arg) => SERVE_FLAG_NAMES.includes((arg.split('=')[0] as string).replaceAll('_', '-')));
  return anyGiven ? [] : [...SERVE_NODE_FLAGS];
}

/**
 * Runs this command again in a child Node process with `flags` added, and resolves with the
 * child's exit code (128 + the signal number if a signal ended it). The child has its own
 * process group, so a terminal's Ctrl-C reaches it once, through this process, which forwards
 * SIGTERM, SIGINT and SIGHUP. If this process dies without forwarding anything (SIGKILL), the
 * child sees its IPC channel close and shuts down as on SIGTERM.
 */
export function relaunch(flags: readonly string[], argv: readonly string[]): Promise<number> {
  const script = process.argv[1] as string;
  const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [RELAUNCHED_ENV]: '1' },
    detached: true,
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return new Promise((resolve) => {
    const done = (code: number) => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      resolve(code);
    };
    child.once('error', (err) => {
      process.stderr.write(`switchyard: cannot start ${process.execPath}: ${err.message}\n`);
      done(1);
    });
    child.once('exit', (code, signal) => {
      done(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}

/**
 * In a relaunched process: shut down gracefully (as on SIGTERM) when the launching process
 * goes away, so a killed launcher leaves nothing behind.
 */
export function watchLauncher(): void {
  if (process.env[RELAUNCHED_ENV] === undefined || process.send === undefined) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // The channel must not keep a finished server alive.
  process.channel?.unref();
}
