import type { Backend } from '@switchyard/core';
import type { CheckResult, HealthCheck } from '@switchyard/health';

/**
 * A HealthCheck whose verdict per backend a test sets (`up` / `down`), optionally slow.
 * It is not a mock of a network peer: the monitor only sees the HealthCheck contract.
 * Records how many checks ran, and the most in flight at once overall and per backend.
 */
export class ScriptedCheck implements HealthCheck {
  readonly down = new Set<string>();
  delayMs = 0;
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  maxPerBackend = 0;
  closed = 0;
  readonly released: string[] = [];
  readonly perBackend = new Map<string, number>();
  readonly callsPerBackend = new Map<string, number>();

  async check(backend: Backend, signal?: AbortSignal): Promise<CheckResult> {
    this.calls++;
    this.callsPerBackend.set(backend.id, (this.callsPerBackend.get(backend.id) ?? 0) + 1);
    this.inFlight++;
    const mine = (this.perBackend.get(backend.id) ?? 0) + 1;
    this.perBackend.set(backend.id, mine);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.maxPerBackend = Math.max(this.maxPerBackend, mine);
    try {
      if (this.delayMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.delayMs);
          signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (signal?.aborted) return { ok: false, reason: 'check aborted', durationMs: 0 };
      return this.down.has(backend.id)
        ? { ok: false, reason: 'scripted down', durationMs: 0 }
        : { ok: true, durationMs: 0 };
    } finally {
      this.inFlight--;
      this.perBackend.set(backend.id, (this.perBackend.get(backend.id) ?? 1) - 1);
    }
  }

  async release(backend: Backend): Promise<void> {
    this.released.push(backend.id);
  }

  async close(): Promise<void> {
    this.closed++;
  }
}

/** A pino destination that keeps every line as parsed JSON. */
export function captureLogs(): { lines: Array<Record<string, unknown>>; write(line: string): void } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
}
