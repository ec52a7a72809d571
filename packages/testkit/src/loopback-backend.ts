import type { Socket } from 'node:net';

/**
 * What every backend in the testkit offers, whatever it is built on: where it listens, what it
 * counts, and how to take it down and bring it back on the same port.
 */
export interface LoopbackBackend {
  /** Reported in the `X-Backend` header of its answers. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `host:port` (`[v6]:port`), as `Backend.id` and `HttpPeer.id`. */
  readonly id: string;
  /** Requests received other than health checks (and readiness probes). */
  traffic(): number;
  /** Connections accepted so far, across restarts (including ones reset on accept). */
  readonly connections: number;
  /** Sockets open right now. */
  readonly sockets: ReadonlySet<Socket>;
  /** Stops listening and destroys every connection: the port then refuses. Idempotent. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

/** Stops every backend, ignoring ones already stopped. */
export async function stopAll(backends: readonly LoopbackBackend[]): Promise<void> {
  await Promise.all(backends.map((b) => b.stop()));
}
