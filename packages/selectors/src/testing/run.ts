import type { Backend, RequestInfo, Selector, SelectorFactory } from '@switchyard/core';
import fc from 'fast-check';

/** The seed the laws use unless told otherwise; printed in every failure message. */
export const DEFAULT_SEED = 0x5eed;

/** Options every law accepts. */
export interface CommonLawOptions<O> {
  /** fast-check seed. @defaultValue {@link DEFAULT_SEED} */
  readonly seed?: number;
  /** Property runs per law. @defaultValue 100 */
  readonly numRuns?: number;
  /**
   * Options passed to the factory on every build. A function is called once per build,
   * so a stateful option (a seeded `random`, a load tracker) is fresh each time.
   */
  readonly options?: Partial<O> | (() => Partial<O>);
  /** Backend lists to test with. @defaultValue `arbBackends({ min: 1, max: 16 })` */
  readonly backends?: fc.Arbitrary<Backend[]>;
  /** The request passed with each key (e.g. for path routing). @defaultValue none */
  readonly request?: RequestInfo;
}

/** What a law run returns: enough to log and to reproduce. */
export interface LawReport {
  readonly seed: number;
  readonly numRuns: number;
  /** The laws that ran, in order. */
  readonly laws: readonly string[];
}

export function build<O>(
  factory: SelectorFactory<O>,
  backends: readonly Backend[],
  options: CommonLawOptions<O>,
): Selector {
  const o = options.options;
  return factory(backends, typeof o === 'function' ? o() : o);
}

/**
 * Runs one property with fast-check and, on failure, throws an `Error` naming the
 * law, the seed and the counterexample, so it works in any test runner.
 */
export function runLaw<Ts extends [unknown, ...unknown[]]>(
  caller: string,
  law: string,
  property: fc.IProperty<Ts>,
  seed: number,
  numRuns: number,
): void {
  const details = fc.check(property, { seed, numRuns });
  if (!details.failed) return;
  const report = fc.defaultReportMessage(details) ?? 'property failed';
  const reason = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `${caller}: law "${law}" violated (fast-check seed ${seed}, path ${JSON.stringify(details.counterexamplePath)}): ${reason}\n${report}`,
    { cause: details.errorInstance },
  );
}

/** Ids of the distinct candidates of `selector.select(key)`, at most `max` of them within `pulls` raw pulls. */
export function distinctIds(
  selector: Selector,
  key: string | Uint8Array,
  request: RequestInfo | undefined,
  max: number,
  pulls: number,
): string[] {
  const iterator = selector.select(key, request);
  const seen: string[] = [];
  for (let i = 0; i < pulls && seen.length < max; i++) {
    const step = iterator.next();
    if (step.done) break;
    if (!seen.includes(step.value.id)) seen.push(step.value.id);
  }
  return seen;
}

/** Throws `message` unless `condition` holds (fast-check reports the throw). */
export function check(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(message());
}

export function keyLabel(key: string | Uint8Array): string {
  return typeof key === 'string' ? JSON.stringify(key) : `bytes[${Array.from(key).join(',')}]`;
}
