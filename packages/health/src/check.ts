import type { Backend } from '@switchyard/core';

/**
 * The outcome of one health check. `reason` is the human explanation shown in logs
 * and status pages: "connection refused", "timeout after 1000 ms", "TLS certificate
 * verification failed: …", "status 503", "validator said: …".
 */
export interface CheckResult {
  /** True when the backend passed. */
  readonly ok: boolean;
  /** Why it failed (always set when `ok` is false); absent on success. */
  readonly reason?: string;
  /** Wall time the check took, in milliseconds. */
  readonly durationMs: number;
  /** The HTTP status, for HTTP checks that got a response. */
  readonly status?: number;
}

/**
 * One way of probing a backend. `check` never rejects for a failing backend: it
 * resolves with `ok: false` and a reason. It honours `signal` (resolving with a failed
 * result once aborted). `close` releases every connection the check holds so the
 * process can exit; a closed check may still be used and then opens new connections.
 */
export interface HealthCheck {
  check(backend: Backend, signal?: AbortSignal): Promise<CheckResult>;
  /** Releases the resources held for one backend (called when it leaves the monitor). */
  release?(backend: Backend): Promise<void>;
  close?(): Promise<void>;
}
