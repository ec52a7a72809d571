import { expect } from 'vitest';

/** Runs `fn`, expects an `LB_ERR_INVALID_OPTION` whose message matches `fragment`, and returns the error. */
export function expectInvalid(fn: () => unknown, fragment: RegExp): Error {
  try {
    fn();
  } catch (err) {
    expect((err as { code?: string }).code).toBe('LB_ERR_INVALID_OPTION');
    expect((err as Error).message).toMatch(fragment);
    return err as Error;
  }
  throw new Error('expected LB_ERR_INVALID_OPTION');
}
