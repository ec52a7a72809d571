import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, backend } from '@switchyard/core';

/**
 * The team's golden data lives outside the repository, in `shared/fixtures/` beside the
 * checkout (`../shared/fixtures` from the repo root). `SWITCHYARD_FIXTURES` overrides it;
 * otherwise the first `shared/fixtures` found walking up from the repo root is used, so a
 * clone nested deeper under the same workspace finds it too.
 */
function fixturesDir(): string {
  const override = process.env.SWITCHYARD_FIXTURES;
  if (override !== undefined && override !== '') return override;
  const repoRoot = resolve(fileURLToPath(new URL('../../../../', import.meta.url)));
  const looked: string[] = [];
  for (let dir = dirname(repoRoot), depth = 0; depth < 8; dir = dirname(dir), depth++) {
    const candidate = join(dir, 'shared', 'fixtures');
    looked.push(candidate);
    if (existsSync(join(candidate, 'pingora-vectors.json'))) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new Error(
    `golden fixtures not found: looked in ${looked.join(', ')}; set SWITCHYARD_FIXTURES to the shared/fixtures folder`,
  );
}

const FIXTURES = fixturesDir();

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
  return JSON.parse(readFileSync(join(FIXTURES, 'pingora-vectors.json'), 'utf8')) as PingoraVectors;
}

/** The rows of the real-nginx trace: `[uri, backend id]`. */
export function nginxTrace(): [string, string][] {
  const text = readFileSync(join(FIXTURES, 'nginx-chash-trace.csv'), 'utf8');
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
