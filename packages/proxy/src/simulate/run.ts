import { type Backend, checkInteger, invalidOption, LoadTracker, resolveOptions } from '@switchyard/core';
import { type LoadReport, simulateLoad } from './load.js';
import { SIMULATE_DEFAULTS, type SimulateOptions, simulatedBackend } from './options.js';
import { type SimulatedSelector, type SimulationContext, simulatedSelector } from './selectors.js';
import { analyseKeys, type MovementReport, type SharesReport } from './shares.js';
import { seededRandom } from './stats.js';

/** Everything measured for one selector. */
export interface SelectorResult {
  readonly name: string;
  readonly description: string;
  readonly loadAware: boolean;
  readonly hashed: boolean;
  readonly shares: SharesReport;
  /** Only for selectors whose pick a key decides. */
  readonly movement?: MovementReport;
  /** Absent when `requests` is 0. */
  readonly load?: LoadReport;
}

/** The result of {@link runSimulation}: plain data, JSON-serialisable. */
export interface SimulationReport {
  readonly options: Readonly<SimulateOptions>;
  readonly results: readonly SelectorResult[];
}

/** Reports progress of a phase (`label`) of the run. */
export type SimulationProgress = (label: string, done: number, total: number) => void;

/** Selectors run beside the built-ins, by the name `selectors` gives them (e.g. loaded from a user's file). */
export type ExtraSelectors = Readonly<Record<string, SimulatedSelector>>;

function lookup(name: string, extra: ExtraSelectors): SimulatedSelector {
  return Object.hasOwn(extra, name) ? (extra[name] as SimulatedSelector) : simulatedSelector(name);
}

function validate(o: Readonly<SimulateOptions>, extra: ExtraSelectors): void {
  if (!Array.isArray(o.selectors) || o.selectors.length === 0) {
    invalidOption('--selector/--compare', 'at least one selector', o.selectors);
  }
  for (const name of o.selectors) lookup(name, extra);
  checkInteger('--backends', o.backends, 1, 65_535);
  checkInteger('--keys', o.keys, 1, 100_000_000);
  checkInteger('--remove', o.remove, 0, o.backends - 1);
  checkInteger('--add', o.add, 0, 65_535 - o.backends);
  checkInteger('--requests', o.requests, 0, 20_000_000);
  checkInteger('--concurrency', o.concurrency, 1, 10_000);
  checkInteger('--seed', o.seed, 0, 0xffffffff);
  if (typeof o.utilization !== 'number' || !(o.utilization > 0 && o.utilization < 1)) {
    invalidOption('--utilization', 'a fraction between 0 and 1 (exclusive)', o.utilization);
  }
  if (typeof o.zipf !== 'number' || !(o.zipf >= 0 && o.zipf <= 5))
    invalidOption('--zipf', 'a number from 0 to 5', o.zipf);
}

/** The simulated pool and the pool after removing `remove` (seeded choice) and adding `add` backends. */
export function simulatedPools(o: Readonly<SimulateOptions>): { pool: Backend[]; after: Backend[] | undefined } {
  const pool = Array.from({ length: o.backends }, (_, i) => simulatedBackend(i, o.weights));
  if (o.remove === 0 && o.add === 0) return { pool, after: undefined };
  const random = seededRandom(o.seed ^ 0xdead);
  const order = pool.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const gone = new Set(order.slice(0, o.remove));
  const after = pool.filter((_, i) => !gone.has(i));
  for (let i = 0; i < o.add; i++) after.push(simulatedBackend(o.backends + i, o.weights));
  return { pool, after };
}

/** An idle pool's context: the key analysis sends no traffic, so load-aware selectors see none. */
function idleContext(seed: number): SimulationContext {
  return { tracker: new LoadTracker(), random: seededRandom(seed) };
}

/**
 * Runs the simulation: for each selector, key shares over `keys` keys and picks per
 * second; for key-driven selectors the keys moved by the membership change; and,
 * unless `requests` is 0, the discrete-event load simulation. `extra` adds selectors
 * that `selectors` may name besides the built-ins (a user's own). Deterministic for a
 * given `seed` except for the picks-per-second figures (wall clock).
 * Throws `LB_ERR_INVALID_OPTION` on bad options.
 */
export function runSimulation(
  options: Partial<SimulateOptions> = {},
  progress: SimulationProgress = () => {},
  extra: ExtraSelectors = {},
): SimulationReport {
  const o = resolveOptions('simulate', SIMULATE_DEFAULTS, options, (resolved) => validate(resolved, extra));
  const { pool, after } = simulatedPools(o);
  const results: SelectorResult[] = [];
  for (const name of o.selectors) {
    const spec = lookup(name, extra);
    const keyed = analyseKeys(
      (backends) => spec.build(backends, idleContext(o.seed)),
      pool,
      spec.hashed ? after : undefined,
      o.keys,
      (done, total) => progress(`${name}: keys`, done, total),
    );
    const load =
      o.requests === 0
        ? undefined
        : simulateLoad({
            pool,
            build: (backends, tracker, random) => spec.build(backends, { tracker, random }),
            model: o.latencyModel,
            requests: o.requests,
            utilization: o.utilization,
            concurrency: o.concurrency,
            keys: o.keys,
            zipf: o.zipf,
            seed: o.seed,
            progress: (done, total) => progress(`${name}: load`, done, total),
          });
    results.push({
      name,
      description: spec.description,
      loadAware: spec.loadAware,
      hashed: spec.hashed,
      shares: keyed.shares,
      ...(keyed.movement === undefined ? {} : { movement: keyed.movement }),
      ...(load === undefined ? {} : { load }),
    });
  }
  return { options: o, results };
}
