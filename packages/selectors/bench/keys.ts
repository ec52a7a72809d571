import { type Backend, backend } from '@switchyard/core';

/** Request-URI-like keys, all distinct, so no cache (hashring's LRU included) ever hits. */
export const KEYS: readonly string[] = Array.from(
  { length: 10_000 },
  (_, i) => `/static/${((i * 2654435761) >>> 0).toString(16)}/item-${i}.js`,
);

/** `n` backends 10.x.y.z:8080 of the given weight. */
export function backends(n: number, weight = 1): Backend[] {
  return Array.from({ length: n }, (_, i) =>
    backend(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`, weight),
  );
}

/**
 * Picks per bench op for the hash selectors: enough to hide tinybench's per-op overhead,
 * short enough (≈ 0.1–3 ms) that most samples run without being descheduled, which
 * keeps the medians steady on a shared machine. The report reads it from the group name.
 */
export const HASH_BATCH = 100;

/** Picks per bench op for round-robin, whose picks cost tens of nanoseconds. */
export const RR_BATCH = 1000;

let cursor = 0;
/** Counts the picks that returned something, so the engine cannot drop the work; exported by each bench file. */
export let sink = 0;

/** One bench op of the hash selectors: `HASH_BATCH` picks over the next keys of {@link KEYS}, in turn. */
export function pickKeys(pick: (key: string) => unknown): void {
  for (let i = 0; i < HASH_BATCH; i++) {
    const key = KEYS[cursor]!;
    cursor = cursor + 1 === KEYS.length ? 0 : cursor + 1;
    if (pick(key) !== undefined) sink++;
  }
}
