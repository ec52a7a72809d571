import { type Backend, invalidOption, type LoadTracker, type Selector } from '@switchyard/core';
import { SELECTOR_TYPES, type SelectorType } from '../config/selector-types.js';

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

function simulated(
  type: SelectorType,
  description: string,
  options: Readonly<Record<string, unknown>>,
): SimulatedSelector {
  return {
    description,
    loadAware: type.loadAware,
    hashed: type.hashed,
    build: (backends, context) =>
      type.factory({ ...type.simulateWith?.(backends.length), ...options }, context)(backends),
  };
}

/** Every config selector type under its own name, then each type's named variants (e.g. `ketama`). */
function fromRegistry(): Readonly<Record<string, SimulatedSelector>> {
  const types: Readonly<Record<string, SelectorType>> = SELECTOR_TYPES;
  const out: Record<string, SimulatedSelector> = {};
  for (const [name, type] of Object.entries(types)) out[name] = simulated(type, type.summary, {});
  for (const type of Object.values(types)) {
    for (const [name, variant] of Object.entries(type.variants)) {
      // A variant may not hide a type: `--compare maglev` must always mean the maglev type.
      if (Object.hasOwn(out, name)) throw new Error(`selector variant ${name} repeats a name already registered`);
      out[name] = simulated(type, variant.summary, variant.options);
    }
  }
  return Object.freeze(out);
}

/** The selectors `--selector` and `--compare` accept by name: the config's selector types and their variants. */
export const SIMULATED_SELECTORS: Readonly<Record<string, SimulatedSelector>> = fromRegistry();

/** Looks up a selector by name; throws `LB_ERR_INVALID_OPTION` listing the known ones. */
export function simulatedSelector(name: string): SimulatedSelector {
  const found = Object.hasOwn(SIMULATED_SELECTORS, name) ? SIMULATED_SELECTORS[name] : undefined;
  if (found === undefined) {
    invalidOption('--selector', `one of ${Object.keys(SIMULATED_SELECTORS).join(', ')}`, name);
  }
  return found;
}
