import type { SelectorFactory } from '@switchyard/core';
import { consistentHash, fnvHash, random, roundRobin } from '@switchyard/selectors';
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
} as const satisfies Record<string, SelectorType>;

/** A `selector.type` name. */
export type SelectorTypeName = keyof typeof SELECTOR_TYPES;
