import cluster, { type Worker } from 'node:cluster';
import type { ProxyServer } from '../proxy-app.js';

/** The IPC message a `serve --workers` primary sends to have a worker close its listener, and the reply. */
const STOP_ACCEPTING = 'switchyard:stop-accepting';
const STOPPED_ACCEPTING = 'switchyard:stopped-accepting';

/**
 * How long the primary waits for every worker to confirm it stopped accepting, ms. A worker still
 * starting up has no listener to close and does not answer; it is signalled after this.
 */
const STOP_ACCEPTING_WAIT_MS = 2000;

/**
 * In the primary: asks every worker to close its listener and resolves once all have confirmed
 * (or exited, or {@link STOP_ACCEPTING_WAIT_MS} passed). A worker's confirmation travels on the
 * same IPC channel after cluster's own "server closed" message, so when the last one arrives the
 * shared listening socket is closed: a connection attempt is refused, never accepted and dropped.
 */
export function stopWorkersAccepting(): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
  if (workers.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const waiting = new Set(workers.map((w) => w.id));
    const timer = setTimeout(finish, STOP_ACCEPTING_WAIT_MS);
    const cleanups: (() => void)[] = [];
    function finish(): void {
      clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
      resolve();
    }
    for (const worker of workers) {
      const settle = () => {
        waiting.delete(worker.id);
        if (waiting.size === 0) finish();
      };
      const onMessage = (message: unknown) => {
        if ((message as { cmd?: unknown } | null)?.cmd === STOPPED_ACCEPTING) settle();
      };
      worker.on('message', onMessage);
      worker.once('exit', settle);
      cleanups.push(() => {
        worker.off('message', onMessage);
        worker.off('exit', settle);
      });
      try {
        worker.send({ cmd: STOP_ACCEPTING });
      } catch {
        settle();
      }
    }
  });
}

/** In a worker: closes `proxy`'s listener when the primary asks, and confirms. */
export function whenPrimaryAsksToStopAccepting(proxy: ProxyServer): void {
  process.on('message', (message: unknown) => {
    if ((message as { cmd?: unknown } | null)?.cmd !== STOP_ACCEPTING) return;
    proxy.stopAccepting();
    process.send?.({ cmd: STOPPED_ACCEPTING });
  });
}
