import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerState } from './server-state.js';

/**
 * How long a connection the drain half-closed keeps being read (its input discarded) before it is
 * destroyed, ms. A client answers the FIN with its own at once; this only bounds one that does not.
 * Reading on matters: closing a socket with unread input makes the kernel send a reset, and the
 * client may lose the response it has not read yet.
 */
const IDLE_LINGER_MS = 1000;

const kHalfClosed = Symbol('switchyard.halfClosed');

type DrainSocket = Socket & { [kHalfClosed]?: true; _httpMessage?: unknown };

/** When and how `close()` drains: both ms. */
export interface DrainTimes {
  readonly deadlineMs: number;
  readonly drainMs: number;
}

/**
 * The open downstream connections of one server (after TLS, for HTTPS), so that shutdown can
 * close the idle ones with a FIN at the right moment instead of destroying them.
 */
export class DownstreamConnections {
  readonly #sockets = new Set<DrainSocket>();
  /** Called whenever a connection closes (the drain waits on it). */
  onChange: (() => void) | undefined;

  /** Tracks `socket` until it closes. */
  add(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.onChange?.();
    });
  }

  /** Open connections. */
  get size(): number {
    return this.#sockets.size;
  }

  /**
   * Half-closes every connection with no response in progress: FIN now, input read and discarded
   * until the client closes its side (at most {@link IDLE_LINGER_MS}), then the socket is released.
   * A connection with a response in progress is left alone: that response says `Connection: close`
   * and Node ends the connection after it. So are open tunnels (`tunnels`): they are cut at the deadline.
   */
  endIdle(tunnels: ReadonlySet<unknown>): void {
    for (const socket of this.#sockets) {
      if (socket._httpMessage == null && !tunnels.has(socket)) halfClose(socket);
    }
  }

  /** Destroys every connection (the deadline passed). */
  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }
}

/** The drain half-closed `socket`: a request that still arrives on it is not answered (the client saw the FIN). */
export function isHalfClosed(socket: Socket | null): boolean {
  return socket !== null && (socket as DrainSocket)[kHalfClosed] === true;
}

function halfClose(socket: DrainSocket): void {
  if (socket[kHalfClosed] === true || socket.destroyed) return;
  socket[kHalfClosed] = true;
  socket.end();
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), IDLE_LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

/**
 * Closes the listening socket without touching connections. `http.Server#close` would also destroy
 * idle keep-alive connections at once, which resets a connection whose next request is already on
 * its way; the drain closes them itself, later and gracefully. Resolves once the listener is
 * closed and every connection is gone.
 */
export function stopListening(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const own = server as unknown as Record<string, unknown>;
    own.closeIdleConnections = noop;
    try {
      // Not running (never listened): the callback gets an error, which means the same here.
      server.close(() => resolve());
    } finally {
      delete own.closeIdleConnections;
    }
  });
}

/**
 * The shutdown sequence after the listener was closed (`stopped` settles when it and every
 * connection are gone): new responses already carry `Connection: close` (`state.closing`).
 * 1. Drain window: until `drainMs` passes, or no connection and no request is left, requests
 *    arriving on open connections are served normally (each with `Connection: close`).
 * 2. Idle connections are half-closed ({@link DownstreamConnections.endIdle}), and so is each one
 *    whose in-flight response ends, until no request is in flight or `deadlineMs` (counted from the
 *    start) passes.
 * 3. Tunnels are cut; at the deadline, what is left is destroyed, upstream pools included.
 */
export async function drain<C>(
  server: Server,
  state: ServerState<C>,
  connections: DownstreamConnections,
  stopped: Promise<void>,
  times: DrainTimes,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), times.deadlineMs);
  });
  const windowMs = Math.min(times.drainMs, times.deadlineMs);
  if (windowMs > 0) {
    let windowTimer: NodeJS.Timeout | undefined;
    const window = new Promise<void>((resolve) => {
      windowTimer = setTimeout(resolve, windowMs);
    });
    await Promise.race([window, until(state, connections, () => connections.size === 0 && state.inflight === 0)]);
    clearTimeout(windowTimer);
  }
  connections.endIdle(state.tunnels);
  const settled = until(state, connections, () => {
    // A response that just ended leaves its connection idle once Node has detached it.
    setImmediate(() => connections.endIdle(state.tunnels));
    return state.inflight === 0;
  });
  const clean = await Promise.race([settled, deadline]);
  state.onSettled = undefined;
  connections.onChange = undefined;
  for (const socket of state.tunnels) socket.destroy();
  state.tunnels.clear();
  if (!clean) connections.destroyAll();
  await state.pools.close(!clean);
  await Promise.race([stopped, deadline]);
  connections.destroyAll();
  server.closeAllConnections();
  clearTimeout(timer);
  await stopped;
}

/** Resolves `true` once `done()` holds, checked now and whenever a request settles or a connection closes. */
function until<C>(state: ServerState<C>, connections: DownstreamConnections, done: () => boolean): Promise<true> {
  return new Promise((resolve) => {
    const check = () => {
      if (done()) resolve(true);
    };
    state.onSettled = check;
    connections.onChange = check;
    check();
  });
}

function noop(): void {}
