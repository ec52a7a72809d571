import { type Logger, pino } from 'pino';

let disabled: Logger | undefined;

/** The logger a component uses: a child of `logger` tagged with the component, or a shared disabled one. */
export function componentLogger(logger: Logger | undefined, component: string): Logger {
  if (logger !== undefined) return logger.child({ component });
  disabled ??= pino({ enabled: false });
  return disabled;
}
