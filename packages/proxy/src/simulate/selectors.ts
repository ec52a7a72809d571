import { type Backend, invalidOption, type LoadTracker, type Selector } from '@switchyard/core';
import {
  boundedLoad,
  consistentHash,
  fnvHash,
  haproxyHash,
  leastRequest,
  maglev,
  nextPrime,
  peakEwma,
  random,
  ringHash,
  roundRobin,
} from '@switchyard/selectors';

/** What a simulated selector is built with. */
export interface SimulationContext {
  /** The pool's load tracker, fed by the load simulation on the simulated clock. */
  readonly tracker: LoadTracker;
  /** Seeded randomness for selectors that draw. */
  readonly random: () => number;
}

/** A selector `switchyard simulate` can run. */
export interface SimulatedSelector {
  /** What the report calls it. */
  readonly description: string;
  /** True when it reads live load (its key shares are then only those of an idle pool). */
  readonly loadAware: boolean;
  /** True when a key decides the pick (the share and movement analysis is about keys). */
  readonly hashed: boolean;
  build(backends: readonly Backend[], context: SimulationContext): Selector;
}

/** Maglev's table for a simulated pool: the default 65,537, or the smallest prime ≥ 100 × n when larger. */
export function maglevTableSize(n: number): number {
  return Math.max(65_537, nextPrime(100 * n));
}

/** The selectors `--selector` and `--compare` accept, by name. */
export const SIMULATED_SELECTORS: Readonly<Record<string, SimulatedSelector>> = Object.freeze({
  consistent: {
    description: 'consistentHash, nginx ring (160 points per weight)',
    loadAware: false,
    hashed: true,
    build: (bs) => consistentHash(bs),
  },
  ketama: {
    description: 'consistentHash, libketama MD5 ring (hashring)',
    loadAware: false,
    hashed: true,
    build: (bs) => consistentHash(bs, { algorithm: 'ketama' }),
  },
  maglev: {
    description: 'maglev, table of max(65537, next prime >= 100 x n)',
    loadAware: false,
    hashed: true,
    build: (bs) => maglev(bs, { tableSize: maglevTableSize(bs.length) }),
  },
  'bounded-load': {
    description: 'boundedLoad over the nginx ring, c = 1.25',
    loadAware: true,
    hashed: true,
    build: (bs, { tracker, random: r }) => boundedLoad(bs, { tracker, random: r }),
  },
  'least-request': {
    description: 'leastRequest, power of two choices',
    loadAware: true,
    hashed: false,
    build: (bs, { tracker, random: r }) => leastRequest(bs, { tracker, random: r }),
  },
  'peak-ewma': {
    description: 'peakEwma, P2C on latency x (in flight + 1), decay 10 s',
    loadAware: true,
    hashed: false,
    build: (bs, { tracker, random: r }) => peakEwma(bs, { tracker, random: r }),
  },
  'maglev-envoy': {
    description: "maglev { variant: 'envoy' }, Envoy's table (max(65537, next prime >= 100 x n))",
    loadAware: false,
    hashed: true,
    build: (bs) => maglev(bs, { variant: 'envoy', tableSize: maglevTableSize(bs.length) }),
  },
  'haproxy-consistent': {
    description: 'haproxyHash, HAProxy 2.6 hash-type consistent sdbm (ids by position)',
    loadAware: false,
    hashed: true,
    build: (bs) => haproxyHash(bs, { hashType: 'consistent' }),
  },
  'haproxy-map-based': {
    description: 'haproxyHash, HAProxy 2.6 hash-type map-based sdbm',
    loadAware: false,
    hashed: true,
    build: (bs) => haproxyHash(bs),
  },
  'ring-hash': {
    description: "ringHash, Envoy's ring_hash (xxHash, ring 1024 to 8M)",
    loadAware: false,
    hashed: true,
    build: (bs) => ringHash(bs),
  },
  'round-robin': {
    description: 'roundRobin, nginx smooth weighted',
    loadAware: false,
    hashed: false,
    build: (bs) => roundRobin(bs),
  },
  random: {
    description: 'random, weighted first pick',
    loadAware: false,
    hashed: false,
    build: (bs, { random: r }) => random(bs, { random: r }),
  },
  fnv: {
    description: 'fnvHash, FNV-1a over the weighted list (Pingora)',
    loadAware: false,
    hashed: true,
    build: (bs) => fnvHash(bs),
  },
});

/** Looks up a selector by name; throws `LB_ERR_INVALID_OPTION` listing the known ones. */
export function simulatedSelector(name: string): SimulatedSelector {
  const found = Object.hasOwn(SIMULATED_SELECTORS, name) ? SIMULATED_SELECTORS[name] : undefined;
  if (found === undefined) {
    invalidOption('--selector', `one of ${Object.keys(SIMULATED_SELECTORS).join(', ')}`, name);
  }
  return found;
}
