/** The per-backend counters of the health state machine. */
export interface ThresholdState {
  readonly healthy: boolean;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
}

/**
 * Pingora's `observe` (health_check.rs): a result opposite to the current state counts
 * towards the threshold for that direction and flips the state when it is reached; a
 * result agreeing with the state resets the count. Pingora keeps one counter of opposite
 * results; the two streak counters here give the same flips (the opposite streak is
 * exactly the number of opposite results since the last agreeing one) and also serve
 * the snapshot.
 */
export function observe(
  state: ThresholdState,
  ok: boolean,
  healthyThreshold: number,
  unhealthyThreshold: number,
): { readonly next: ThresholdState; readonly flipped: boolean } {
  const consecutiveSuccesses = ok ? state.consecutiveSuccesses + 1 : 0;
  const consecutiveFailures = ok ? 0 : state.consecutiveFailures + 1;
  let healthy = state.healthy;
  if (ok && !healthy && consecutiveSuccesses >= healthyThreshold) healthy = true;
  else if (!ok && healthy && consecutiveFailures >= unhealthyThreshold) healthy = false;
  return { next: { healthy, consecutiveSuccesses, consecutiveFailures }, flipped: healthy !== state.healthy };
}
