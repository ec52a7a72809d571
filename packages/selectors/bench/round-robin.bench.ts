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
