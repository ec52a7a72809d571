/**
 * What Envoy hashes for a host and how it normalises weights (`thread_aware_lb_impl`):
 * the `envoy.lb` metadata `hash_key` when set, else the hostname (with
 * `useHostnameForHashing`), else the address as Envoy prints it (`host:port`,
 * `[v6]:port`, the Backend `id`).
 */

import { type Backend, invalidOption } from '@switchyard/core';

/** A host's ring or table key: `meta.envoyHashKey`, else `meta.hostname ?? host` (hostname mode), else `id`. */
export function envoyHostKey(backend: Backend, useHostname: boolean): string {
  const key = backend.meta.envoyHashKey;
  if (typeof key === 'string' && key !== '') return key;
  if (useHostname) {
    const name = backend.meta.hostname;
    return typeof name === 'string' && name !== '' ? name : backend.host;
  }
  return backend.id;
}

/** Each host's weight divided by the sum, as a double, exactly as Envoy computes it. */
export function normalizedWeights(component: string, backends: readonly Backend[]): Float64Array {
  let sum = 0;
  for (const b of backends) sum += b.weight;
  if (sum > 0xffffffff) invalidOption(`${component} total weight`, 'at most 4294967295 (Envoy rejects more)', sum);
  return Float64Array.from(backends, (b) => (b.weight * 1.0) / sum);
}

/** Checks `useHostnameForHashing`. */
export function checkBoolean(what: string, value: unknown): void {
  if (typeof value !== 'boolean') invalidOption(what, 'a boolean', value);
}
