import cluster, { type Worker } from 'node:cluster';
import type { ProxyServer } from '../proxy-app.js';

/** The IPC message a `serve --workers` primary sends to have a worker close its listener, and the reply. */
const STOP_ACCEPTING = 'switchyard:stop-accepting';
const STOPPED_ACCEPTING = 'switchyard:stopped-accepting';

/**
 * How long the primary waits for every worker to confirm it stopped accepting, ms. Only a worker
 * that hangs uses it up; then the workers are signalled anyway.
 */
const STOP_ACCEPTING_WAIT_MS = 10_000;

/** Workers whose server is listening (cluster's `listening` event), by id. */
const listeningWorkers = new Set<number>();

/** In the primary, before forking: remembers which workers have started listening. */
export function trackListeningWorkers(): void {
  cluster.on('listening', (worker) => listeningWorkers.add(worker.id));
  cluster.on('exit', (worker) => listeningWorkers.delete(worker.id));
}

/**
 * In the primary: asks every worker to close its listener and resolves once all have confirmed
 * (or exited, or {@link STOP_ACCEPTING_WAIT_MS} passed). A worker still starting up is asked once
 * it listens, so none opens its listener after the others closed theirs. A worker's confirmation
 * travels on the same IPC channel after cluster's own "server closed" message, so when the last
 * one arrives the shared listening socket is closed: a connection attempt is refused, never
 * accepted and then dropped.
 */
export function stopWorkersAccepting(): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
  if (workers.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const waiting = new Set(workers.map((w) => w.id));
    const cleanups: (() => void)[] = [];
    const timer = setTimeout(finish, STOP_ACCEPTING_WAIT_MS);
    function finish(): void {
      clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
      resolve();
    }
    for (const worker of workers) {
      const settle = () => {
        if (!waiting.delete(worker.id)) return;
        if (waiting.size === 0) finish();
      };
      const onMessage = (message: unknown) => {
        if ((message as { cmd?: unknown } | null)?.cmd === STOPPED_ACCEPTING) settle();
      };
      const ask = () => {
        try {
          worker.send({ cmd: STOP_ACCEPTING });
        } catch {
          settle();
        }
      };
      worker.on('message', onMessage);
      worker.once('exit', settle);
      cleanups.push(() => {
        worker.off('message', onMessage);
        worker.off('exit', settle);
        worker.off('listening', ask);
      });
      if (listeningWorkers.has(worker.id)) ask();
      else worker.once('listening', ask);
    }
  });
}

/**
 * In a worker, installed before it starts serving: closes the listener when the primary asks, and
 * confirms. Asked before `serving()` was called, it closes the listener as soon as there is one.
 */
export function whenPrimaryAsksToStopAccepting(): { serving(proxy: ProxyServer): void } {
  let proxy: ProxyServer | undefined;
  let asked = false;
  const stop = (p: ProxyServer) => {
    p.stopAccepting();
    process.send?.({ cmd: STOPPED_ACCEPTING });
  };
  process.on('message', (message: unknown) => {
    if ((message as { cmd?: unknown } | null)?.cmd !== STOP_ACCEPTING || asked) return;
    asked = true;
    if (proxy !== undefined) stop(proxy);
  });
  return {
    serving(p) {
      proxy = p;
      if (asked) stop(p);
    },
  };
}
