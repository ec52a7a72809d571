import { type Backend, invalidOption } from '@switchyard/core';

/**
 * Where backends come from. `discover()` resolves to the current list (never rejecting
 * once one good list is known: a failed refresh keeps the last good list). Discoveries
 * that refresh in the background emit `change` with the new list when membership (ids
 * or weights) changes. `close()` stops background work.
 */
export interface Discovery {
  discover(): Promise<readonly Backend[]>;
  on?(event: 'change', listener: (backends: readonly Backend[]) => void): this;
  off?(event: 'change', listener: (backends: readonly Backend[]) => void): this;
  close?(): Promise<void>;
}

/** A fixed list, like Pingora's `discovery::Static`. Never changes. */
export function staticDiscovery(backends: readonly Backend[]): Discovery {
  if (!Array.isArray(backends) || backends.some((b) => typeof b?.id !== 'string')) {
    invalidOption('staticDiscovery backends', 'an array of Backend', backends);
  }
  const list = Object.freeze([...backends]);
  return { discover: () => Promise.resolve(list) };
}
