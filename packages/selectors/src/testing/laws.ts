import { type Backend, candidates, type SelectorFactory } from '@switchyard/core';
import fc from 'fast-check';
import { arbBackend, arbBackends, arbKey } from './arbitraries.js';
import {
  build,
  type CommonLawOptions,
  check,
  DEFAULT_SEED,
  distinctIds,
  keyLabel,
  type LawReport,
  runLaw,
} from './run.js';

/** The laws {@link checkSelectorLaws} knows, by name (for `skip`). */
export type SelectorLaw =
  | 'deterministic'
  | 'membership'
  | 'reaches-all'
  | 'empty'
  | 'iterable'
  | 'order-independent'
  | 'candidates-bound'
  | 'without';

/** Options of {@link checkSelectorLaws}. */
export interface SelectorLawOptions<O> extends CommonLawOptions<O> {
  /**
   * Laws not to run. Skip `'order-independent'` for selectors whose picks follow the
   * list order on purpose (smooth round-robin) and `'deterministic'` for selectors
   * driven by an unseeded source. @defaultValue `[]`
   */
  readonly skip?: readonly SelectorLaw[];
  /** Keys to select with. @defaultValue `arbKey()` */
  readonly keys?: fc.Arbitrary<string | Uint8Array>;
  /**
   * Raw pulls within which the distinct candidates must include every backend.
   * @defaultValue `256 × total weight + 256` (a ring walk has ≤ 160 points per weight)
   */
  readonly reachBound?: (backends: readonly Backend[]) => number;
  /** How many selections each determinism / order check compares. @defaultValue 8 */
  readonly picks?: number;
}

const defaultReachBound = (backends: readonly Backend[]): number =>
  256 * backends.reduce((sum, b) => sum + b.weight, 0) + 256;

/**
 * The laws every selector should keep, checked with fast-check over generated
 * backend lists and keys; throws a descriptive `Error` (law, seed, counterexample)
 * on the first violation and returns a {@link LawReport} otherwise.
 *
 * - `deterministic`: two fresh builds over the same backends, asked the same keys in
 *   the same order, give the same candidates (stateful selectors included).
 * - `membership`: every candidate is one of the backends.
 * - `reaches-all`: the distinct candidates of one `select()` include every backend
 *   within `reachBound(backends)` raw pulls.
 * - `empty`: a selector over no backends yields nothing.
 * - `iterable`: what `select()` returns is its own iterator (`it[Symbol.iterator]() === it`),
 *   so `for…of` and spread walk it lazily, as the `Selector` contract promises.
 * - `order-independent`: building from the same backends in another order gives the
 *   same candidates (what lets many proxies agree with no coordination).
 * - `candidates-bound`: `candidates(select(key), max)` yields at most `max` distinct backends.
 * - `without` (run only for selectors that have `Selector.without`): `without(out)` never
 *   yields a backend in `out`, reaches every other one, and `without(∅)` gives the same
 *   candidates as the selector itself.
 */
export function checkSelectorLaws<O>(factory: SelectorFactory<O>, options: SelectorLawOptions<O> = {}): LawReport {
  const seed = options.seed ?? DEFAULT_SEED;
  const numRuns = options.numRuns ?? 100;
  const backends = options.backends ?? arbBackends();
  const keys = fc.array(options.keys ?? arbKey(), { minLength: 1, maxLength: options.picks ?? 8 });
  const request = options.request;
  const skip = new Set(options.skip ?? []);
  const reachBound = options.reachBound ?? defaultReachBound;
  const ran: string[] = [];
  const law = (name: SelectorLaw, property: fc.IProperty<[Backend[], (string | Uint8Array)[], number]>): void => {
    if (skip.has(name)) return;
    runLaw('checkSelectorLaws', name, property, seed, numRuns);
    ran.push(name);
  };
  const prop = (
    body: (bs: Backend[], ks: (string | Uint8Array)[], shuffleSeed: number) => void,
  ): fc.IProperty<[Backend[], (string | Uint8Array)[], number]> =>
    fc.property(backends, keys, fc.integer({ min: 0, max: 0x7fffffff }), body);

  law(
    'deterministic',
    prop((bs, ks) => {
      const a = build(factory, bs, options);
      const b = build(factory, bs, options);
      for (const key of ks) {
        const x = distinctIds(a, key, request, bs.length, reachBound(bs));
        const y = distinctIds(b, key, request, bs.length, reachBound(bs));
        check(x.join() === y.join(), () => `key ${keyLabel(key)}: ${x.join(' ')} then ${y.join(' ')}`);
      }
    }),
  );
  law(
    'membership',
    prop((bs, ks) => {
      const members = new Set(bs.map((b) => b.id));
      const selector = build(factory, bs, options);
      for (const key of ks) {
        const iterator = selector.select(key, request);
        // Membership is about what a walk yields, not how far: 4,096 pulls cover any walk's start.
        for (let i = 0, bound = Math.min(reachBound(bs), 4096); i < bound; i++) {
          const step = iterator.next();
          if (step.done) break;
          check(members.has(step.value.id), () => `key ${keyLabel(key)} yielded non-member ${step.value.id}`);
        }
      }
    }),
  );
  law(
    'reaches-all',
    prop((bs, ks) => {
      const selector = build(factory, bs, options);
      for (const key of ks) {
        const got = distinctIds(selector, key, request, bs.length, reachBound(bs));
        const missing = bs.filter((b) => !got.includes(b.id)).map((b) => b.id);
        check(missing.length === 0, () => `key ${keyLabel(key)} never reached ${missing.join(' ')}`);
      }
    }),
  );
  law(
    'empty',
    prop((_bs, ks) => {
      const selector = build(factory, [], options);
      for (const key of ks)
        check(selector.select(key, request).next().done === true, () => 'empty set yielded a backend');
    }),
  );
  law(
    'iterable',
    prop((bs, ks) => {
      for (const selector of [build(factory, bs, options), build(factory, [], options)]) {
        for (const key of ks) {
          const it = selector.select(key, request);
          const self = typeof it[Symbol.iterator] === 'function' ? it[Symbol.iterator]() : undefined;
          check(self === it, () => `key ${keyLabel(key)}: select() returned an iterator that is not its own iterable`);
        }
      }
    }),
  );
  law(
    'order-independent',
    prop((bs, ks, shuffleSeed) => {
      const reordered = fc.sample(fc.shuffledSubarray(bs, { minLength: bs.length }), {
        seed: shuffleSeed,
        numRuns: 1,
      })[0]!;
      const a = build(factory, bs, options);
      const b = build(factory, reordered, options);
      for (const key of ks) {
        const x = distinctIds(a, key, request, bs.length, reachBound(bs));
        const y = distinctIds(b, key, request, bs.length, reachBound(bs));
        check(x.join() === y.join(), () => `key ${keyLabel(key)}: ${x.join(' ')} but reordered ${y.join(' ')}`);
      }
    }),
  );
  law(
    'candidates-bound',
    prop((bs, ks) => {
      const selector = build(factory, bs, options);
      for (const [i, key] of ks.entries()) {
        const max = i % (bs.length + 2);
        const got = [...candidates(selector.select(key, request), max)];
        check(got.length <= max, () => `candidates(…, ${max}) yielded ${got.length}`);
      }
    }),
  );
  if (typeof build(factory, [arbitrarySample()], options).without === 'function') {
    law(
      'without',
      prop((bs, ks, outSeed) => {
        const selector = build(factory, bs, options);
        const without = selector.without;
        check(typeof without === 'function', () => `without() is missing for ${bs.length} backends`);
        const out = new Set(
          bs.filter((_, i) => ((outSeed >>> (i % 31)) & 1) === 1 && i < bs.length - 1).map((b) => b.id),
        );
        const reduced = (without as NonNullable<typeof without>).call(selector, out);
        const same = (without as NonNullable<typeof without>).call(selector, new Set());
        for (const key of ks) {
          const got = distinctIds(reduced, key, request, bs.length, reachBound(bs));
          const leaked = got.filter((id) => out.has(id));
          check(
            leaked.length === 0,
            () => `key ${keyLabel(key)}: without(${[...out].join(' ')}) yielded ${leaked.join(' ')}`,
          );
          const missing = bs.filter((b) => !out.has(b.id) && !got.includes(b.id)).map((b) => b.id);
          check(missing.length === 0, () => `key ${keyLabel(key)}: without(…) never reached ${missing.join(' ')}`);
          const x = distinctIds(selector, key, request, bs.length, reachBound(bs));
          const y = distinctIds(same, key, request, bs.length, reachBound(bs));
          check(x.join() === y.join(), () => `key ${keyLabel(key)}: ${x.join(' ')} but without(∅) ${y.join(' ')}`);
        }
      }),
    );
  }
  return { seed, numRuns, laws: ran };
}

/** One fixed backend, to see whether a factory's selectors have `without`. */
function arbitrarySample(): Backend {
  return fc.sample(arbBackend(), { seed: 1, numRuns: 1 })[0]!;
}

/** Options of {@link checkMinimalDisruption}. */
export interface DisruptionOptions<O> extends CommonLawOptions<O> {
  /** Keys compared per run. @defaultValue 200 */
  readonly keysPerRun?: number;
  /** The backend added in the "add" half. @defaultValue `arbBackend()` */
  readonly added?: fc.Arbitrary<Backend>;
}

/**
 * Minimal disruption on membership change, checked on first picks for many keys:
 * removing one backend moves only the keys that were on it, and adding one moves
 * keys only onto the new backend. Throws on the first key that moved elsewhere.
 */
export function checkMinimalDisruption<O>(factory: SelectorFactory<O>, options: DisruptionOptions<O> = {}): LawReport {
  const seed = options.seed ?? DEFAULT_SEED;
  const numRuns = options.numRuns ?? 100;
  const keysPerRun = options.keysPerRun ?? 200;
  const backends = options.backends ?? arbBackends({ min: 2 });
  const request = options.request;
  const keysFor = (salt: number): string[] => Array.from({ length: keysPerRun }, (_, i) => `k${salt}/${i}`);

  runLaw(
    'checkMinimalDisruption',
    'remove-one',
    fc.property(backends, fc.nat(), (bs, pick) => {
      const removed = bs[pick % bs.length]!;
      const before = build(factory, bs, options);
      const after = build(
        factory,
        bs.filter((b) => b !== removed),
        options,
      );
      for (const key of keysFor(pick)) {
        const x = before.select(key, request).next().value?.id;
        const y = after.select(key, request).next().value?.id;
        check(x === removed.id || x === y, () => `removing ${removed.id} moved key ${key} from ${x} to ${y}`);
      }
    }),
    seed,
    numRuns,
  );
  runLaw(
    'checkMinimalDisruption',
    'add-one',
    fc.property(backends, options.added ?? arbBackend(), fc.nat(), (bs, added, salt) => {
      fc.pre(!bs.some((b) => b.id === added.id));
      const before = build(factory, bs, options);
      const after = build(factory, [...bs, added], options);
      for (const key of keysFor(salt)) {
        const x = before.select(key, request).next().value?.id;
        const y = after.select(key, request).next().value?.id;
        check(y === x || y === added.id, () => `adding ${added.id} moved key ${key} from ${x} to ${y}`);
      }
    }),
    seed,
    numRuns,
  );
  return { seed, numRuns, laws: ['remove-one', 'add-one'] };
}
