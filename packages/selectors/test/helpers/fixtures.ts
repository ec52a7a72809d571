import { readFileSync } from 'node:fs';
import { type Backend, backend } from '@switchyard/core';

/**
 * The golden data, kept in the repository beside the tests (`test/fixtures/`); its README says
 * where each file comes from and how to regenerate the nginx trace (`pnpm fixtures:nginx`).
 */
const FIXTURES = new URL('../fixtures/', import.meta.url);

/** `[address, weight]` pairs as the vectors list them. */
export type BackendSpec = readonly [string, number];

export interface PingoraVectors {
  readonly consistent_nginx: readonly {
    readonly backends: readonly BackendSpec[];
    readonly first?: Readonly<Record<string, string>>;
    readonly iter?: { readonly key: string; readonly raw_ring_walk: readonly string[] };
  }[];
  readonly fnv_pingora: readonly {
    readonly backends: readonly BackendSpec[];
    readonly iter: { readonly key: string; readonly walk: readonly string[] };
    readonly first: Readonly<Record<string, string>>;
  }[];
  readonly round_robin_pingora: readonly {
    readonly backends: readonly BackendSpec[];
    readonly first_iter_walk: readonly string[];
    readonly then_first_picks: readonly string[];
  }[];
  readonly smooth_round_robin_nginx: readonly {
    readonly backends: readonly BackendSpec[];
    readonly sequence: readonly string[];
  }[];
}

export function pingoraVectors(): PingoraVectors {
  return JSON.parse(readFileSync(new URL('pingora-vectors.json', FIXTURES), 'utf8')) as PingoraVectors;
}

/** The rows of the real-nginx trace: `[uri, backend id]`. */
export function nginxTrace(): [string, string][] {
  const text = readFileSync(new URL('nginx-chash-trace.csv', FIXTURES), 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const comma = line.lastIndexOf(',');
      return [line.slice(0, comma), line.slice(comma + 1)];
    });
}

export function backendsOf(specs: readonly BackendSpec[]): Backend[] {
  return specs.map(([address, weight]) => backend(address, weight));
}

/** The first `n` raw items of an iterator (bounded). */
export function take<T>(iterator: Iterator<T>, n: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const step = iterator.next();
    if (step.done) break;
    out.push(step.value);
  }
  return out;
}

export function ids(backends: readonly Backend[]): string[] {
  return backends.map((b) => b.id);
}

/** Fisher–Yates with a seeded LCG, so a "shuffled" test is reproducible. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
