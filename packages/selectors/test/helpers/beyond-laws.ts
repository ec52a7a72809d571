import { type Backend, backend, candidates, type Selector } from '@switchyard/core';
import { expect } from 'vitest';

/** `n` backends `10.x.y.z:8080` with the given weights (default 1). */
export function pool(n: number, weight: (i: number) => number = () => 1): Backend[] {
  return Array.from({ length: n }, (_, i) =>
    backend(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`, weight(i)),
  );
}

/** A small deterministic PRNG (mulberry32) for reproducible workloads; prints nothing, seed is the caller's. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The contract every selector honours (DESIGN.md): empty set yields nothing,
 * picks are members, fallback reaches every backend within a bounded walk, and
 * `candidates` respects its bound. Deterministic selectors also repeat themselves.
 */
export function checkSelectorContract(
  build: (backends: readonly Backend[]) => Selector,
  options: { deterministic: boolean },
): void {
  expect(build([]).select('k').next().done).toBe(true);
  for (const n of [1, 2, 3, 7, 20]) {
    const backends = pool(n);
    const ids = new Set(backends.map((b) => b.id));
    const selector = build(backends);
    const again = options.deterministic ? build(backends) : selector;
    for (let k = 0; k < 50; k++) {
      const key = `key-${k}`;
      const first = selector.select(key).next();
      expect(first.done).toBe(false);
      expect(ids.has(first.value!.id)).toBe(true);
      const reached = [...candidates(selector.select(key), 64 * n)].map((b) => b.id);
      expect(new Set(reached)).toEqual(ids);
      expect([...candidates(selector.select(key), 1)]).toHaveLength(1);
      if (options.deterministic) {
        expect([...candidates(again.select(key), 64 * n)].map((b) => b.id)).toEqual(reached);
      }
    }
  }
}
