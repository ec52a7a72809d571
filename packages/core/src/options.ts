import { invalidOption } from './errors.js';

/**
 * Merges `overrides` over `defaults` (an `undefined` override keeps the default),
 * runs `validate` on the result and returns it frozen. Unknown keys are rejected so
 * a typo does not silently fall back to a default.
 */
export function resolveOptions<T extends object>(
  component: string,
  defaults: Readonly<T>,
  overrides: Partial<T> | undefined,
  validate?: (options: Readonly<T>) => void,
): Readonly<T> {
  if (overrides !== undefined && (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides))) {
    invalidOption(`${component} options`, 'an object', overrides);
  }
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (!Object.hasOwn(defaults, key)) {
      invalidOption(`${component} options`, `one of ${Object.keys(defaults).join(', ')}`, key);
    }
    if (value !== undefined) merged[key] = value;
  }
  const resolved = merged as T;
  validate?.(resolved);
  return Object.freeze(resolved);
}

/** Throws unless `value` is a finite number ≥ 0 (a duration or size in ms/bytes). */
export function checkNonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    invalidOption(name, 'a finite number >= 0', value);
  }
}

/** Throws unless `value` is an integer ≥ `min`. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalidOption(name, `an integer from ${min} to ${max}`, value);
  }
}
