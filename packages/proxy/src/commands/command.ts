/** One `switchyard` sub-command: a module under `src/commands/` and one line in the CLI's table. */
export interface Command {
  /** One line for `switchyard help`. */
  readonly summary: string;
  /** Usage text printed by `switchyard <command> --help` and on a usage error. */
  readonly usage: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(args: readonly string[]): Promise<number>;
}

/** Exit code for a usage error (unknown flag, missing value), as BSD `sysexits` `EX_USAGE`. */
export const EXIT_USAGE = 64;

/** The message of an error without its stack: what the CLI prints. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
