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
 * (or exited, or {@link STOP_ACCEPTING_WAIT_MS} passed). No worker is asked before every worker
 * listens: cluster closes the shared listener, and drops the connections it accepted but has not
 * handed over yet, as soon as no worker listens, and a worker still starting up would open it
 * again later. A worker's confirmation
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
    const asks: (() => void)[] = [];
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
      });
      asks.push(ask);
    }
    const pending = workers.filter((w) => !listeningWorkers.has(w.id));
    let left = pending.length;
    const askAll = () => {
      for (const ask of asks) ask();
    };
    if (left === 0) askAll();
    for (const worker of pending) {
      const listened = () => {
        left--;
        if (left === 0) askAll();
      };
      worker.once('listening', listened);
      worker.once('exit', listened);
      cleanups.push(() => {
        worker.off('listening', listened);
        worker.off('exit', listened);
      });
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
