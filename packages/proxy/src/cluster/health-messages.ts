// The messages of the shared health view between a `switchyard serve --workers N` primary and
// its workers, over node:cluster's IPC channel. Every message carries `channel`, so other
// messages on the same channel (metrics, for one) pass by untouched.

/** The `channel` field of every shared-health message. */
export const HEALTH_CHANNEL = 'switchyard.health';

/** One backend's active-health state as the primary's monitor holds it. */
export interface SharedBackendState {
  readonly id: string;
  readonly healthy: boolean;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
  /** The primary's `Date.now()` at the last transition; absent until the first one. */
  readonly lastChangeAt?: number;
  /** The failing check's reason, when unhealthy. */
  readonly reason?: string;
}

/** One upstream's part of the full view. */
export interface SharedUpstreamView {
  /** Active-health states; empty when the upstream has no health checks. */
  readonly backends: readonly SharedBackendState[];
  /** Ejections in force, with the milliseconds each has left. */
  readonly ejected: readonly { readonly id: string; readonly ms: number }[];
}

/** Primary → worker. */
export type ToWorker =
  /** The whole view, by upstream name: the answer to `hello`, and sent to all after a reload. */
  | {
      readonly channel: typeof HEALTH_CHANNEL;
      readonly type: 'view';
      readonly upstreams: Record<string, SharedUpstreamView>;
    }
  /** One health transition; `at` is the primary's `Date.now()` when it happened. */
  | {
      readonly channel: typeof HEALTH_CHANNEL;
      readonly type: 'health';
      readonly upstream: string;
      readonly state: SharedBackendState;
      readonly at: number;
    }
  /** Another worker's ejection, to apply for `ms`. */
  | {
      readonly channel: typeof HEALTH_CHANNEL;
      readonly type: 'eject';
      readonly upstream: string;
      readonly id: string;
      readonly ms: number;
    }
  /** An ejection ends (an active check passed, or the host-wide cap refused it). */
  | {
      readonly channel: typeof HEALTH_CHANNEL;
      readonly type: 'reinstate';
      readonly upstream: string;
      readonly id: string;
    }
  /** The answer to `check-now` number `seq`, sent after the transitions it caused. */
  | { readonly channel: typeof HEALTH_CHANNEL; readonly type: 'checked'; readonly seq: number };

/** Worker → primary. */
export type ToPrimary =
  /** A worker starting up asks for the full view. */
  | { readonly channel: typeof HEALTH_CHANNEL; readonly type: 'hello' }
  /** This worker's outlier detector ejected `id` for `ms`. */
  | {
      readonly channel: typeof HEALTH_CHANNEL;
      readonly type: 'eject';
      readonly upstream: string;
      readonly id: string;
      readonly ms: number;
    }
  /** `checkNow()` in a worker: check the upstream's backends now, then answer `checked`. */
  | {
      readonly channel: typeof HEALTH_CHANNEL;
      readonly type: 'check-now';
      readonly upstream: string;
      readonly seq: number;
    }
  /** Backends whose traffic succeeded since the last report (for `skipOnTraffic`). */
  | {
      readonly channel: typeof HEALTH_CHANNEL;
      readonly type: 'traffic';
      readonly upstream: string;
      readonly ids: readonly string[];
    };

/** True when `message` is a shared-health message (of either direction). */
export function isHealthMessage(
  message: unknown,
): message is { readonly channel: typeof HEALTH_CHANNEL; readonly type: string } {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { channel?: unknown }).channel === HEALTH_CHANNEL &&
    typeof (message as { type?: unknown }).type === 'string'
  );
}
