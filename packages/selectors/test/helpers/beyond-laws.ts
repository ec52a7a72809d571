import { type Backend, backend } from '@switchyard/core';

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
