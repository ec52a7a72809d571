import fc from 'fast-check';
import { check, DEFAULT_SEED, type LawReport, runLaw } from './run.js';

/** A priority-share function under test: each tier's whole-percent share of traffic. */
export type PriorityShares = (
  tiers: readonly { readonly ready: number; readonly total: number }[],
) => readonly number[];

/** Options of {@link checkPriorityShares}. */
export interface PriorityLawOptions {
  /** fast-check seed. @defaultValue DEFAULT_SEED */
  readonly seed?: number;
  /** Property runs per law. @defaultValue 200 */
  readonly numRuns?: number;
  /** The overprovisioning factor the function was built with. @defaultValue 1.4 */
  readonly factor?: number;
}

const arbTiers = fc.array(
  fc
    .integer({ min: 0, max: 20 })
    .chain((total) => fc.record({ total: fc.constant(total), ready: fc.integer({ min: 0, max: total }) })),
  { minLength: 1, maxLength: 5 },
);

/**
 * The laws of priority failover with overprovisioning (Envoy's priority levels), for a
 * custom balancer's tier-share function:
 * - `sums-to-100`: the shares are whole percents adding up to 100;
 * - `whole-tier-takes-all`: a tier whose ready fraction × factor reaches 1 takes everything the
 *   tiers before it left (all of it for tier 0);
 * - `degraded-spills`: when tier 0's ready fraction × factor is below 1, it leaves some traffic
 *   to the later tiers if any of them has a ready backend (no all-or-nothing failover);
 * - `ready-only`: a tier with no ready backend gets nothing, unless no tier has one (then tier 0 takes all);
 * - `monotone`: one more ready backend in a tier never lowers that tier's share.
 */
export function checkPriorityShares(shares: PriorityShares, options: PriorityLawOptions = {}): LawReport {
  const seed = options.seed ?? DEFAULT_SEED;
  const numRuns = options.numRuns ?? 200;
  const factor = options.factor ?? 1.4;
  const law = (name: string, body: (tiers: { ready: number; total: number }[]) => void): void =>
    runLaw('checkPriorityShares', name, fc.property(arbTiers, body), seed, numRuns);
  const show = (tiers: readonly { ready: number; total: number }[], got: readonly number[]): string =>
    `tiers ${tiers.map((t) => `${t.ready}/${t.total}`).join(' ')} gave ${got.join('/')}`;

  law('sums-to-100', (tiers) => {
    const got = shares(tiers);
    check(got.length === tiers.length, () => `${show(tiers, got)}: one share per tier expected`);
    check(
      got.every((x) => Number.isInteger(x) && x >= 0) && got.reduce((a, b) => a + b, 0) === 100,
      () => `${show(tiers, got)}: whole percents adding up to 100 expected`,
    );
  });
  law('whole-tier-takes-all', (tiers) => {
    const got = shares(tiers);
    const whole = tiers.findIndex((t) => t.total > 0 && t.ready * factor >= t.total);
    if (whole === -1) return;
    const before = got.slice(0, whole).reduce((a, b) => a + b, 0);
    check(got[whole] === 100 - before, () => `${show(tiers, got)}: tier ${whole} is whole and should take the rest`);
  });
  law('degraded-spills', (tiers) => {
    const got = shares(tiers);
    const first = tiers[0]!;
    const degraded = first.total > 0 && first.ready * factor < first.total;
    // A later tier counts once its availability is at least 1% (⌊factor% × ready / total⌋ ≥ 1).
    const laterAvailable = tiers.slice(1).some((t) => t.total > 0 && factor * 100 * t.ready >= t.total);
    if (degraded && laterAvailable) {
      check(got[0]! < 100, () => `${show(tiers, got)}: tier 0 is degraded but left nothing to later tiers`);
    }
  });
  law('ready-only', (tiers) => {
    const got = shares(tiers);
    const none = tiers.every((t) => t.ready === 0);
    tiers.forEach((t, i) => {
      if (t.ready === 0 && !(none && i === 0))
        check(got[i] === 0, () => `${show(tiers, got)}: tier ${i} has none ready`);
    });
  });
  law('monotone', (tiers) => {
    tiers.forEach((t, i) => {
      if (t.ready >= t.total) return;
      const more = tiers.map((x, j) => (j === i ? { ...x, ready: x.ready + 1 } : x));
      const a = shares(tiers)[i]!;
      const b = shares(more)[i]!;
      check(
        b >= a,
        () => `${show(tiers, shares(tiers))} but one more ready in tier ${i} gave ${shares(more).join('/')}`,
      );
    });
  });
  return { seed, numRuns, laws: ['sums-to-100', 'whole-tier-takes-all', 'degraded-spills', 'ready-only', 'monotone'] };
}
