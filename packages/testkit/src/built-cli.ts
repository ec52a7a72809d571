import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './wait.js';

/** The repository root (this file is packages/testkit/src/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The built CLI that `switchyard serve` runs as. */
export const CLI_PATH = join(REPO_ROOT, 'packages/proxy/dist/cli.js');

function newestMtime(dir: string, depth = 0): number {
  if (!existsSync(dir) || depth > 6) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path, depth + 1));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Makes sure `packages/proxy/dist/cli.js` is built from the current sources: runs `tsc -b` when any
 * `packages/*\/src` file is newer than it. Test files run in parallel workers, so the build runs
 * under a directory lock (`mkdir` is atomic) and the others wait for it.
 */
export function ensureBuilt(): Promise<void> {
  built ??= build();
  return built;
}

let built: Promise<void> | undefined;

async function build(): Promise<void> {
  const sources = ['core', 'selectors', 'health', 'proxy'].map((p) =>
    newestMtime(join(REPO_ROOT, 'packages', p, 'src')),
  );
  const stale = () => !existsSync(CLI_PATH) || statSync(CLI_PATH).mtimeMs < Math.max(...sources);
  if (!stale()) return;
  const lock = join(REPO_ROOT, 'node_modules/.switchyard-build-lock');
  for (let i = 0; i < 600; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (!stale()) return;
      await sleep(200);
    }
  }
  try {
    if (stale()) {
      try {
        // tsc -b emits even when another package has type errors; a missing cli.js is checked below.
        execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsc'), ['-b'], {
          cwd: REPO_ROOT,
          stdio: 'pipe',
          timeout: 180_000,
        });
      } catch {
        // Type errors in files under construction elsewhere do not stop the emit.
      }
    }
  } finally {
    rmdirSync(lock);
  }
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npx tsc -b\` and read its errors`);
}
