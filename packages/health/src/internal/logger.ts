import { invalidOption } from '@switchyard/core';
import { type Logger, pino } from 'pino';

let disabled: Logger | undefined;

// The pino methods the health components call; a value lacking one would fail with a
// TypeError at the first log line, long after the factory returned.
const LOGGER_METHODS = ['child', 'debug', 'info', 'warn', 'error'] as const;

/**
 * Throws `LB_ERR_INVALID_OPTION` naming `what` unless `value` is undefined or looks like a
 * pino logger (an object with child/debug/info/warn/error functions). Called by every
 * factory before it keeps the logger, so a bad one fails at construction.
 */
export function checkLogger(what: string, value: unknown): void {
  if (value === undefined) return;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    LOGGER_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
  if (!ok) invalidOption(what, `a pino logger (an object with ${LOGGER_METHODS.join('/')} functions)`, value);
}

/** The logger a component uses: a child of `logger` tagged with the component, or a shared disabled one. */
export function componentLogger(logger: Logger | undefined, component: string): Logger {
  if (logger !== undefined) return logger.child({ component });
  disabled ??= pino({ enabled: false });
  return disabled;
}
