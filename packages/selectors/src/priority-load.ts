import { checkInteger, invalidOption } from '@switchyard/core';

/** One priority tier's size: how many of its backends are ready now, out of how many. */
export interface TierHealth {
  readonly ready: number;
  readonly total: number;
}

/** Envoy's default overprovisioning factor: a tier counts as whole until fewer than 1/1.4 ≈ 72% of it is ready. */
export const DEFAULT_OVERPROVISIONING_FACTOR = 1.4;

/**
 * Envoy's priority load: the whole-percent share of traffic each tier takes, from tier 0 down,
 * given how many of each tier's backends are ready.
 *
 * Each tier's availability is `min(100, ⌊factor% × ready / total⌋)` (0 for an empty tier), so
 * with factor 1.4 a tier with 72% ready still takes everything. Tiers take their availability
 * in order until 100 is given out; when the availabilities add up to less than 100, each is
 * first scaled by `100 / their sum` (the shares are normalised), and the percent lost to
 * rounding goes to the first tier with any availability. When no tier has a ready backend,
 * tier 0 takes all, as in Envoy with its panic threshold off (Switchyard never sends traffic to a
 * backend that is not ready, so Envoy's panic mode, which would, has no counterpart here). The shares always
 * add up to 100 for at least one tier, and are `[]` for none.
 *
 * Example, tier 0 of 10 backends over a healthy tier 1: 0, 3, 5 and 10 down give
 * 100/0, 98/2, 70/30 and 0/100.
 *
 * @param factor - the overprovisioning factor, ≥ 1, whole percent (1.4 is Envoy's 140). @defaultValue 1.4
 */
export function priorityLoad(tiers: readonly TierHealth[], factor = DEFAULT_OVERPROVISIONING_FACTOR): number[] {
  if (!Array.isArray(tiers)) invalidOption('priorityLoad tiers', 'an array of { ready, total }', tiers);
  const percent = Math.round(factor * 100);
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1 || Math.abs(percent - factor * 100) > 1e-9) {
    invalidOption('priorityLoad overprovisioning factor', 'a number >= 1 with at most two decimals (e.g. 1.4)', factor);
  }
  const availability = tiers.map((t, i) => {
    checkInteger(`priorityLoad tiers[${i}].total`, t?.total, 0);
    checkInteger(`priorityLoad tiers[${i}].ready`, t.ready, 0, t.total);
    return t.total === 0 ? 0 : Math.min(100, Math.floor((percent * t.ready) / t.total));
  });
  if (tiers.length === 0) return [];
  const normalised = Math.min(
    100,
    availability.reduce((a, b) => a + b, 0),
  );
  const loads = new Array<number>(tiers.length).fill(0);
  if (normalised === 0) {
    loads[0] = 100;
    return loads;
  }
  let left = 100;
  let first = -1;
  for (let i = 0; i < availability.length; i++) {
    const share = Math.min(left, Math.floor((availability[i]! * 100) / normalised));
    loads[i] = share;
    left -= share;
    if (first === -1 && availability[i]! > 0) first = i;
  }
  loads[first]! += left;
  return loads;
}

/**
 * The tier a request goes to, given {@link priorityLoad}'s shares and a number `r` in
 * [0, 100) (a random draw or a key's hash mod 100): the first tier whose cumulative share
 * exceeds `r`. Throws `LB_ERR_INVALID_OPTION` when the shares add up to `r` or less.
 */
export function pickPriority(loads: readonly number[], r: number): number {
  if (!(r >= 0 && r < 100)) invalidOption('pickPriority r', 'a number in [0, 100)', r);
  let cumulative = 0;
  for (let i = 0; i < loads.length; i++) {
    cumulative += loads[i]!;
    if (r < cumulative) return i;
  }
  return invalidOption('pickPriority loads', 'whole-percent shares adding up to 100', loads);
}
