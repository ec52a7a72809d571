/**
 * Longest delay Node's timers honour, in ms (2^31 - 1, about 24.8 days). A longer one is
 * not an error to `setTimeout`: it warns and fires after 1 ms instead, so durations that
 * reach a timer are bounded by this at validation time. node:dns's `Resolver` rejects a
 * `timeout` or `tries` above it with a RangeError.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
