import { statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Backend, describe, LbError, LoadTracker, type Selector } from '@switchyard/core';
import { simulatedBackend } from './options.js';
import { SIMULATED_SELECTORS, type SimulatedSelector, type SimulationContext } from './selectors.js';
import { seededRandom } from './stats.js';

/** A user's selector loaded from a module, with the name the report gives it. */
export interface UserSelector {
  readonly name: string;
  readonly selector: SimulatedSelector;
}

/** The built-ins a user's selector is compared with when `--compare` does not name any. */
export const BASELINE_SELECTORS: readonly string[] = Object.freeze([
  'consistent',
  'maglev',
  'round-robin',
  'least-request',
]);

/** True when a `--selector` / `--compare` entry names a module file rather than a built-in. */
export function isSelectorFile(entry: string): boolean {
  return /[\\/]/.test(entry) || /\.[cm]?js$/.test(entry);
}

type Factory = (backends: readonly Backend[], options?: Partial<SimulationContext>) => Selector;

/** Probe pool and keys used to validate a factory and tell whether a key decides its pick. */
const PROBE_BACKENDS = 8;
const PROBE_KEYS = 64;

function invalid(file: string, message: string, cause?: unknown): never {
  throw new LbError('LB_ERR_INVALID_OPTION', `--selector ${file}: ${message}`, cause === undefined ? {} : { cause });
}

/** The first pick for `key`; throws, naming the file, when the selector breaks the contract. */
function firstPick(file: string, selector: Selector, key: string, pool: ReadonlySet<string>): string | undefined {
  let step: IteratorResult<Backend>;
  try {
    step = selector.select(key).next();
  } catch (err) {
    invalid(file, `select() threw: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (step.done) return undefined;
  const id = (step.value as Partial<Backend> | undefined)?.id;
  if (typeof id !== 'string' || !pool.has(id)) {
    invalid(file, `select() must yield backends of the list it was built from, got ${describe(step.value)}`);
  }
  return id;
}

function build(file: string, factory: Factory, backends: readonly Backend[], context: SimulationContext): Selector {
  let selector: unknown;
  try {
    selector = factory(backends, context);
  } catch (err) {
    invalid(file, `the factory threw: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (typeof (selector as Partial<Selector> | undefined)?.select !== 'function') {
    invalid(file, `the factory must return a Selector (an object with select()), got ${describe(selector)}`);
  }
  return selector as Selector;
}

/**
 * Whether a key decides the pick: on two separate builds, each probe key gets the same
 * first pick twice in a row, and the keys reach more than one backend. Round robin and
 * random fail the first test, a constant selector the second.
 */
function probeHashed(file: string, factory: Factory, pool: readonly Backend[]): boolean {
  const ids = new Set(pool.map((b) => b.id));
  const context = (): SimulationContext => ({ tracker: new LoadTracker(), random: seededRandom(1) });
  const a = build(file, factory, pool, context());
  const b = build(file, factory, pool, context());
  const reached = new Set<string | undefined>();
  for (let i = 0; i < PROBE_KEYS; i++) {
    const key = `probe-${i}`;
    const first = firstPick(file, a, key, ids);
    if (first === undefined) invalid(file, 'select() yielded nothing over a non-empty backend list');
    if (firstPick(file, a, key, ids) !== first || firstPick(file, b, key, ids) !== first) return false;
    reached.add(first);
  }
  return reached.size > 1;
}

/**
 * Loads a selector factory from a module file (the default export, or a named export
 * `factory`) for `switchyard simulate`. The factory is called as
 * `factory(backends, { tracker, random })`, so a load-aware selector can read the simulated
 * load. Optional named exports: `description` (a string for the report), `loadAware` and
 * `hashed` (booleans; `hashed` is probed when absent). The factory is validated on a
 * small pool before the run. Throws `LB_ERR_INVALID_OPTION` naming the file when it is
 * missing, fails to load, exports no function, throws, or returns something that is not a
 * Selector.
 */
export async function loadUserSelector(file: string, cwd = process.cwd()): Promise<UserSelector> {
  const path = resolve(cwd, file);
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    // Reported below with the path it resolved to.
  }
  if (!isFile) invalid(file, `no such file (${path})`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    invalid(file, `could not load the module: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  const exported = typeof mod.default === 'function' ? mod.default : mod.factory;
  if (typeof exported !== 'function') {
    invalid(
      file,
      `expected a selector factory as the default export or a named export "factory", got ${describe(mod.default ?? mod.factory)}`,
    );
  }
  const factory = exported as Factory;
  const pool = Array.from({ length: PROBE_BACKENDS }, (_, i) => simulatedBackend(i, [1]));
  const probe = build(file, factory, pool, { tracker: new LoadTracker(), random: seededRandom(1) });
  firstPick(file, probe, 'probe', new Set(pool.map((b) => b.id)));
  const hashed = typeof mod.hashed === 'boolean' ? mod.hashed : probeHashed(file, factory, pool);
  const stem = basename(file, extname(file));
  const name = stem === '' || Object.hasOwn(SIMULATED_SELECTORS, stem) ? file : stem;
  return {
    name,
    selector: {
      description: typeof mod.description === 'string' ? mod.description : `your selector from ${file}`,
      loadAware: mod.loadAware === true,
      hashed,
      build: (backends, context) => build(file, factory, backends, context),
    },
  };
}
