/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `predicate` every `everyMs` until it holds; resolves to the elapsed ms, or rejects naming
 * `what` once `timeoutMs` has passed. The number of polls is bounded by `timeoutMs / everyMs`.
 */
export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
  everyMs = 5,
): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < Math.ceil(timeoutMs / everyMs) + 1; i++) {
    if (await predicate()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) break;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
