import type { LoadTracker, SelectorFactory } from '@switchyard/core';
import {
  boundedLoad,
  consistentHash,
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

/**
 * One `selector.type` of the config file: the option fields it takes (besides `type`
 * and `key`) and the factory they are passed to. Adding an algorithm is one entry in
 * {@link SELECTOR_TYPES}: its zod shape and its factory.
 */
export interface SelectorType {
  /** Zod fields for the type's options; each should carry an `error` naming what is expected. */
  readonly shape: z.core.$ZodLooseShape;
  /** Builds the selector; receives the parsed option fields (without `type` and `key`). */
  readonly factory: SelectorFactory<never>;
  /**
   * True for load-aware algorithms: the factory then also gets `tracker`, a `LoadTracker`
   * the balancer feeds from every upstream attempt.
   */
  readonly tracker?: boolean;
}

const TABLE_SIZE = `a prime from 2 to ${MAGLEV_MAX_TABLE_SIZE}, at least 100 x the number of backends (e.g. 65537, 100003)`;
const CHOICES = 'an integer from 2 to 64';
const RING_SIZE = `an integer from 1 to ${RING_HASH_MAX_SIZE}`;

/** The selector types the config accepts, by `selector.type`. */
export const SELECTOR_TYPES = {
  consistent: {
    shape: {
      algorithm: z.enum(['nginx', 'ketama'], { error: '"nginx" or "ketama"' }).default('nginx'),
      pointsPerWeight: z.int({ error: 'an integer >= 1' }).min(1, { error: 'an integer >= 1' }).optional(),
    },
    factory: consistentHash as SelectorFactory<never>,
  },
  'round-robin': {
    shape: { mode: z.enum(['smooth', 'pingora'], { error: '"smooth" or "pingora"' }).default('smooth') },
    factory: roundRobin as SelectorFactory<never>,
  },
  random: { shape: {}, factory: random as SelectorFactory<never> },
  fnv: { shape: {}, factory: fnvHash as SelectorFactory<never> },
  maglev: {
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
    factory: maglev as SelectorFactory<never>,
  },
  haproxy: {
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
    factory: haproxyHash as SelectorFactory<never>,
  },
  'ring-hash': {
    shape: {
      minimumRingSize: z
        .int({ error: RING_SIZE })
        .min(1, { error: RING_SIZE })
        .max(RING_HASH_MAX_SIZE, { error: RING_SIZE })
        .optional(),
      maximumRingSize: z
        .int({ error: RING_SIZE })
        .min(1, { error: RING_SIZE })
        .max(RING_HASH_MAX_SIZE, { error: RING_SIZE })
        .optional(),
      hashFunction: z
        .enum(['xxhash', 'murmur2'], { error: '"xxhash" or "murmur2"' })
        .default(RING_HASH_DEFAULTS.hashFunction),
      useHostnameForHashing: z.boolean({ error: 'a boolean' }).optional(),
    },
    factory: ringHash as SelectorFactory<never>,
  },
  'bounded-load': {
    shape: {
      balanceFactor: z
        .number({ error: 'a number >= 1 (e.g. 1.25)' })
        .min(1, { error: 'a number >= 1 (e.g. 1.25)' })
        .optional(),
      hash: z.enum(['consistent', 'maglev'], { error: '"consistent" or "maglev"' }).default('consistent'),
    },
    factory: ((
      backends,
      options?: { balanceFactor?: number; hash?: 'consistent' | 'maglev'; tracker?: LoadTracker },
    ) => {
      const { hash, ...rest } = options ?? {};
      return boundedLoad(backends, hash === 'maglev' ? { ...rest, inner: maglev as SelectorFactory<never> } : rest);
    }) as SelectorFactory<never>,
    tracker: true,
  },
  'least-request': {
    shape: { choices: z.int({ error: CHOICES }).min(2, { error: CHOICES }).max(64, { error: CHOICES }).optional() },
    factory: leastRequest as SelectorFactory<never>,
    tracker: true,
  },
  'peak-ewma': {
    shape: {
      decayMs: z.number({ error: 'a duration in ms > 0' }).positive({ error: 'a duration in ms > 0' }).optional(),
      choices: z.int({ error: CHOICES }).min(2, { error: CHOICES }).max(64, { error: CHOICES }).optional(),
    },
    factory: peakEwma as SelectorFactory<never>,
    tracker: true,
  },
} as const satisfies Record<string, SelectorType>;

/** A `selector.type` name. */
export type SelectorTypeName = keyof typeof SELECTOR_TYPES;
