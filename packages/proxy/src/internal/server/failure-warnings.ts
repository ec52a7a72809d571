import type { Logger } from 'pino';
import { failureCause } from './failure-cause.js';

/** Rate limits of {@link FailureWarnings}. */
export const FAILURE_WARNING_DEFAULTS = Object.freeze({
  /** One warning per backend per this many ms. */
  intervalMs: 60_000,
  /** Backends remembered; past this, the oldest entry is forgotten (so a warning may come early). */
  maxBackends: 4096,
});

/**
 * Logs why upstream attempts fail, at warn, at most once per backend per `intervalMs` (the first
 * failure of each window, with how many were left unlogged before it), whether or not health
 * checks run: an operator sees a certificate or connect problem without turning them on.
 */
export class FailureWarnings {
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #intervalMs: number;
  /** Per backend: when it last warned and the failures since then. Insertion order = age. */
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(logger: Logger, now: () => number = Date.now, intervalMs = FAILURE_WARNING_DEFAULTS.intervalMs) {
    this.#logger = logger;
    this.#now = now;
    this.#intervalMs = intervalMs;
  }

  /** An attempt to `backend` failed with `err` (classified as `kind`). */
  failed(backend: string, kind: string, err: unknown): void {
    const now = this.#now();
    const last = this.#last.get(backend);
    if (last !== undefined && now - last.at < this.#intervalMs) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this.#last.delete(backend);
    if (this.#last.size >= FAILURE_WARNING_DEFAULTS.maxBackends) {
      const oldest = this.#last.keys().next().value;
      if (oldest !== undefined) this.#last.delete(oldest);
    }
    this.#last.set(backend, { at: now, suppressed: 0 });
    const code = (err as { code?: unknown } | null)?.code;
    this.#logger.warn(
      { backend, kind, code: typeof code === 'string' ? code : undefined, cause: failureCause(err), suppressed },
      `upstream ${backend} failed: ${failureCause(err) ?? kind}`,
    );
  }
}
