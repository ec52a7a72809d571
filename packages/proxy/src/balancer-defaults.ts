import { checkInteger } from '@switchyard/core';

/**
 * Defaults of `createBalancer`. `maxIterations`: selector pulls per pick, 256 as in Pingora's
 * examples (enough for ketama rings with many repeats). The config's `maxIterations` default is this.
 */
export const BALANCER_DEFAULTS: Readonly<{ maxIterations: number }> = Object.freeze({ maxIterations: 256 });

/** Throws `LbError` `LB_ERR_INVALID_OPTION` unless `value` is a valid `maxIterations` (an integer ≥ 1). */
export function checkMaxIterations(value: unknown): void {
  checkInteger('createBalancer maxIterations', value, 1);
}
