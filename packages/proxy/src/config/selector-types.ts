import { type Backend, invalidOption, LbError, type LoadTracker, type Selector } from '@switchyard/core';
import {
  boundedLoad,
  consistentHash,
  FNV_HASH_DEFAULTS,
  fnvHash,
  HAPROXY_HASH_DEFAULTS,
  haproxyHash,
  leastRequest,
  MAGLEV_DEFAULTS,
  MAGLEV_MAX_TABLE_SIZE,
  maglev,
  nextPrime,
  peakEwma,
  RING_HASH_DEFAULTS,
  RING_HASH_MAX_SIZE,
  random,
  ringHash,
  roundRobin,
} from '@switchyard/selectors';
import { z } from 'zod';

/** `fallbacks` of the Pingora-style walks: weighted (spreads a backend that is out by weight) or Pingora's uniform draw. */
const FALLBACKS = z
  .enum(['weighted', 'uniform'], { error: '"weighted" or "uniform"' })
  .default(FNV_HASH_DEFAULTS.fallbacks);

/** What a selector type is built with besides its own options. */
export interface SelectorContext {
  /** Live load per backend; load-aware types read it (the balancer or the simulation feeds it). */
  readonly tracker?: LoadTracker;
  /** Randomness for types that draw. @defaultValue the algorithm's own (`Math.random`) */
  readonly random?: () => number;
}

/** A named setting of a type that `switchyard simulate` accepts by name, e.g. `ketama`. */
export interface SelectorVariant {
  /** One line for reports. */
  readonly summary: string;
  /** Options in the config's spelling, validated by the type's shape. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** How one `selector.type` is described, validated and built; give it to {@link selectorType}. */
export interface SelectorTypeSpec<S extends z.core.$ZodShape> {
  /** One line naming the algorithm, for the docs table and `simulate` reports. */
  readonly summary: string;
  /** Zod fields for the type's options (besides `type` and `key`); each carries an `error` naming what is expected. */
  readonly shape: S;
  /** True when it reads live load: the balancer then creates a `LoadTracker` and feeds it from every attempt. */
  readonly loadAware: boolean;
  /** True when the key decides the pick (key shares and movement are then about keys). */
  readonly hashed: boolean;
  /** Builds the selector from the parsed options (defaults applied, absent fields left out). */
  readonly build: (
    backends: readonly Backend[],
    options: Compact<z.output<z.ZodObject<S>>>,
    context: SelectorContext,
  ) => Selector;
  /** Options `simulate` uses for a pool of `n` backends. @defaultValue the type's defaults */
  readonly simulateWith?: (n: number) => Readonly<Record<string, unknown>>;
  /** Further settings `simulate` accepts by name. */
  readonly variants?: Readonly<Record<string, SelectorVariant>>;
}

/** One entry of {@link SELECTOR_TYPES}, its options type erased behind validation. */
export interface SelectorType {
  readonly summary: string;
  readonly shape: z.core.$ZodLooseShape;
  readonly loadAware: boolean;
  readonly hashed: boolean;
  readonly simulateWith: ((n: number) => Readonly<Record<string, unknown>>) | undefined;
  readonly variants: Readonly<Record<string, SelectorVariant>>;
  /**
   * Validates `options` against `shape` once (throws `LB_ERR_INVALID_OPTION` naming the
   * field) and returns the factory a balancer rebuilds the selector with on every
   * membership change.
   */
  factory(
    options: Readonly<Record<string, unknown>>,
    context?: SelectorContext,
  ): (backends: readonly Backend[]) => Selector;
}

/** `T` without `undefined` in its optional fields, as `exactOptionalPropertyTypes` wants option objects. */
type Compact<T> = { [K in keyof T]: Exclude<T[K], undefined> };

function compact<T extends object>(value: T): Compact<T> {
  const out: Partial<Record<keyof T, unknown>> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k as keyof T] = v;
  return out as Compact<T>;
}

/** Turns a spec into a registry entry; the only place a type's options meet their factory. */
export function selectorType<S extends z.core.$ZodShape>(spec: SelectorTypeSpec<S>): SelectorType {
  const schema = z.strictObject(spec.shape);
  return Object.freeze({
    summary: spec.summary,
    shape: spec.shape,
    loadAware: spec.loadAware,
    hashed: spec.hashed,
    simulateWith: spec.simulateWith,
    variants: Object.freeze({ ...spec.variants }),
    factory(options: Readonly<Record<string, unknown>>, context: SelectorContext = {}) {
      const parsed = schema.safeParse(options);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue?.path.join('.') ?? '';
        const got = field === '' ? options : options[field];
        invalidOption(`selector ${field === '' ? 'options' : field}`, issue?.message ?? 'valid options', got);
      }
      const resolved = compact(parsed.data);
      return (backends: readonly Backend[]) => spec.build(backends, resolved, context);
    },
  });
}

const TABLE_SIZE = `a prime from 2 to ${MAGLEV_MAX_TABLE_SIZE}, at least 100 x the number of backends (e.g. 65537, 100003)`;
const CHOICES = 'an integer from 2 to 64';
const RING_SIZE = `an integer from 1 to ${RING_HASH_MAX_SIZE}`;
const ringSize = () =>
  z.int({ error: RING_SIZE }).min(1, { error: RING_SIZE }).max(RING_HASH_MAX_SIZE, { error: RING_SIZE }).optional();
const choices = () => z.int({ error: CHOICES }).min(2, { error: CHOICES }).max(64, { error: CHOICES }).optional();

/** Maglev's table for `n` backends: the default 65,537, or the smallest prime ≥ 100 × n when larger. */
export function maglevTableSize(n: number): number {
  return Math.max(65_537, nextPrime(100 * n));
}

/**
 * The selector types the config accepts (`selector.type`), `switchyard simulate` runs and
 * the proxy README's selector table lists (a test keeps the three in step). Adding an
 * algorithm is one entry here.
 */
export const SELECTOR_TYPES = Object.freeze({
  consistent: selectorType({
    summary: 'consistentHash, nginx ring (160 points per weight)',
    shape: {
      algorithm: z.enum(['nginx', 'ketama'], { error: '"nginx" or "ketama"' }).default('nginx'),
      pointsPerWeight: z.int({ error: 'an integer >= 1' }).min(1, { error: 'an integer >= 1' }).optional(),
    },
    loadAware: false,
    hashed: true,
    build: (backends, options) => consistentHash(backends, options),
    variants: {
      ketama: { summary: 'consistentHash, libketama MD5 ring (hashring)', options: { algorithm: 'ketama' } },
    },
  }),
  'round-robin': selectorType({
    summary: 'roundRobin, nginx smooth weighted',
    shape: {
      mode: z.enum(['smooth', 'pingora'], { error: '"smooth" or "pingora"' }).default('smooth'),
      fallbacks: FALLBACKS,
    },
    loadAware: false,
    hashed: false,
    build: (backends, options) => roundRobin(backends, options),
  }),
  random: selectorType({
    summary: 'random, weighted first pick',
    shape: { fallbacks: FALLBACKS },
    loadAware: false,
    hashed: false,
    build: (backends, options, { random: r }) =>
      random(backends, r === undefined ? options : { ...options, random: r }),
  }),
  fnv: selectorType({
    summary: 'fnvHash, FNV-1a over the weighted list (Pingora)',
    shape: { fallbacks: FALLBACKS },
    loadAware: false,
    hashed: true,
    build: (backends, options) => fnvHash(backends, options),
  }),
  maglev: selectorType({
    summary: 'maglev, lookup table',
    shape: {
      tableSize: z
        .int({ error: TABLE_SIZE })
        .min(2, { error: TABLE_SIZE })
        .max(MAGLEV_MAX_TABLE_SIZE, { error: TABLE_SIZE })
        .refine((m) => nextPrime(m) === m, { error: TABLE_SIZE })
        .optional(),
      variant: z.enum(['paper', 'envoy'], { error: '"paper" or "envoy"' }).default(MAGLEV_DEFAULTS.variant),
      useHostnameForHashing: z.boolean({ error: 'a boolean' }).optional(),
    },
    loadAware: false,
    hashed: true,
    build: (backends, options) => maglev(backends, options),
    simulateWith: (n) => ({ tableSize: maglevTableSize(n) }),
    variants: {
      'maglev-envoy': { summary: "maglev { variant: 'envoy' }, Envoy's table", options: { variant: 'envoy' } },
    },
  }),
  haproxy: selectorType({
    summary: 'haproxyHash, HAProxy 2.6 map-based sdbm (ids by position)',
    shape: {
      hashType: z
        .enum(['map-based', 'consistent'], { error: '"map-based" or "consistent"' })
        .default(HAPROXY_HASH_DEFAULTS.hashType),
      hashFunction: z
        .enum(['sdbm', 'djb2', 'wt6', 'crc32'], { error: '"sdbm", "djb2", "wt6" or "crc32"' })
        .default(HAPROXY_HASH_DEFAULTS.hashFunction),
      avalanche: z.boolean({ error: 'a boolean' }).default(HAPROXY_HASH_DEFAULTS.avalanche),
      balance: z.enum(['sample', 'source'], { error: '"sample" or "source"' }).default(HAPROXY_HASH_DEFAULTS.balance),
      hashKey: z.enum(['id', 'addr', 'addr-port'], { error: '"id", "addr" or "addr-port"' }).optional(),
    },
    loadAware: false,
    hashed: true,
    build: (backends, options) => haproxyHash(backends, options),
    variants: {
      'haproxy-consistent': {
        summary: 'haproxyHash, HAProxy 2.6 hash-type consistent sdbm (ids by position)',
        options: { hashType: 'consistent' },
      },
    },
  }),
  'ring-hash': selectorType({
    summary: "ringHash, Envoy's ring_hash (xxHash, ring 1024 to 8M)",
    shape: {
      minimumRingSize: ringSize(),
      maximumRingSize: ringSize(),
      hashFunction: z
        .enum(['xxhash', 'murmur2'], { error: '"xxhash" or "murmur2"' })
        .default(RING_HASH_DEFAULTS.hashFunction),
      useHostnameForHashing: z.boolean({ error: 'a boolean' }).optional(),
    },
    loadAware: false,
    hashed: true,
    build: (backends, options) => ringHash(backends, options),
  }),
  'bounded-load': selectorType({
    summary: 'boundedLoad over the nginx ring, c = 1.25',
    shape: {
      balanceFactor: z
        .number({ error: 'a number >= 1 (e.g. 1.25)' })
        .min(1, { error: 'a number >= 1 (e.g. 1.25)' })
        .optional(),
      hash: z.enum(['consistent', 'maglev'], { error: '"consistent" or "maglev"' }).default('consistent'),
    },
    loadAware: true,
    hashed: true,
    build: (backends, { hash, ...rest }, context) =>
      boundedLoad(backends, { ...rest, ...context, ...(hash === 'maglev' ? { inner: maglev } : {}) }),
  }),
  'least-request': selectorType({
    summary: 'leastRequest, power of two choices',
    shape: { choices: choices() },
    loadAware: true,
    hashed: false,
    build: (backends, options, context) => leastRequest(backends, { ...options, ...context }),
  }),
  'peak-ewma': selectorType({
    summary: 'peakEwma, P2C on latency x (in flight + 1), decay 10 s',
    shape: {
      decayMs: z.number({ error: 'a duration in ms > 0' }).positive({ error: 'a duration in ms > 0' }).optional(),
      choices: choices(),
    },
    loadAware: true,
    hashed: false,
    build: (backends, options, context) => peakEwma(backends, { ...options, ...context }),
  }),
});

/** A `selector.type` name. */
export type SelectorTypeName = keyof typeof SELECTOR_TYPES;

const BY_NAME: Readonly<Record<string, SelectorType>> = SELECTOR_TYPES;

/** The entry for `type`; throws `LB_ERR_INVALID_CONFIG` listing the known types. */
export function selectorTypeOf(type: string): SelectorType {
  const found = Object.hasOwn(BY_NAME, type) ? BY_NAME[type] : undefined;
  if (found === undefined) {
    throw new LbError(
      'LB_ERR_INVALID_CONFIG',
      `unknown selector type ${JSON.stringify(type)}: expected one of ${Object.keys(SELECTOR_TYPES).join(', ')}`,
    );
  }
  return found;
}
