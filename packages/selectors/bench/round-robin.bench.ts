import { roundRobin } from '@switchyard/selectors';
import { bench, describe } from 'vitest';
import { RR_BATCH as BATCH, backends } from './keys.js';

const small = roundRobin(backends(10).map((b, i) => ({ ...b, weight: 1 + (i % 4) })));
const large = roundRobin(backends(1000));
const largeUnscheduled = roundRobin(backends(1000).map((b, i) => ({ ...b, weight: 100 + i })));
const pingora = roundRobin(backends(10), { mode: 'pingora' });

let sink = 0;
function run(select: () => unknown): void {
  for (let i = 0; i < BATCH; i++) if (select() !== undefined) sink++;
}

describe(`roundRobin first picks (${BATCH} picks per op)`, () => {
  bench('smooth, 10 backends (weights 1–4)', () => run(() => small.select('').next().value));
  bench('smooth, 1000 backends (weight 1)', () => run(() => large.select('').next().value));
  bench('smooth, 1000 backends, total weight 599,500 (O(n) per pick)', () =>
    run(() => largeUnscheduled.select('').next().value),
  );
  bench('pingora, 10 backends', () => run(() => pingora.select('').next().value));
});

export { sink };

// With one backend out, a balancer either walks past it (the fallbacks continue the smooth
// schedule) or rebuilds the selector over the ready set on every health change.
function outOfOne(n: number): { walk: () => unknown; rebuild: () => unknown; rebuiltPick: () => unknown } {
  const set = backends(n);
  const out = set[0]!.id;
  const full = roundRobin(set);
  const ready = set.slice(1);
  const rebuilt = roundRobin(ready);
  return {
    walk: () => {
      for (const b of full.select('')) if (b.id !== out) return b;
      return undefined;
    },
    rebuild: () => roundRobin(ready),
    rebuiltPick: () => rebuilt.select('').next().value,
  };
}
const out10 = outOfOne(10);
const out1000 = outOfOne(1000);

describe(`smooth roundRobin with one backend out (${BATCH} per op)`, () => {
  bench('10 backends: picks walking past it', () => run(out10.walk));
  bench('10 backends: picks from a selector rebuilt over the ready set', () => run(out10.rebuiltPick));
  bench('10 backends: rebuilds over the ready set', () => run(out10.rebuild));
  bench('1000 backends: picks walking past it', () => run(out1000.walk));
  bench('1000 backends: picks from a selector rebuilt over the ready set', () => run(out1000.rebuiltPick));
  bench('1000 backends: rebuilds over the ready set', () => run(out1000.rebuild));
});
