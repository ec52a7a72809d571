import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Node flags `switchyard serve` runs with: a fixed 64 MiB semi-space (Node 20's default grows
 * from 1 to 16 MiB). A young generation that large gives the objects every idle upstream
 * keep-alive connection still points to time to die before a scavenge: with 1,000 backends, a
 * scavenge at the default size promoted about 1 MB and took 5–7 ms (22 KB and 1 ms with 3
 * backends), and the proxy spent 84–134 µs of CPU per request instead of 72–76 µs. Fixed (the
 * minimum equal to the maximum) so the young generation is at full size after the first few
 * hundred MB of allocation rather than growing for the first half million requests. Memory: up
 * to 3 × 64 MiB of young generation.
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64', '--min-semi-space-size=64'];

/** Set in the relaunched process, so it never relaunches again. */
const RELAUNCHED_ENV = 'SWITCHYARD_RELAUNCHED';
const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * The flags to relaunch with: {@link SERVE_NODE_FLAGS} when this process was started with none
 * of them; none when it was relaunched already, or when the operator set any of them
 * (`execArgv` or `NODE_OPTIONS`), whatever the value: their choice of young generation wins.
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
  const names = SERVE_NODE_FLAGS.map((flag) => flag.split('=')[0] as string);
  const anyGiven = given.some((arg) => names.some((name) => arg === name || arg.startsWith(`${name}=`)));
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
