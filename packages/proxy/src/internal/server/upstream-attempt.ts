import type { HttpPeer } from '@switchyard/core';
import type { UpstreamObserver, UpstreamOutcome } from '../../proxy-app.js';
import type { PoolEntry } from './pool-cache.js';
import type { ServerState } from './server-state.js';

/**
 * Around each upstream attempt: the pool entry's in-flight count and last use, and the server's
 * observers (outlier detection and load tracking feed on them). An observer's bug must not
 * break the request it observes.
 */

/** Tells every observer an attempt to `peer` starts. */
function notifyStart(state: ServerState<unknown>, peer: HttpPeer): void {
  const observers = state.observers;
  for (let i = 0; i < observers.length; i++) {
    const observer = observers[i] as UpstreamObserver;
    if (observer.onStart === undefined) continue;
    try {
      observer.onStart(peer);
    } catch (err) {
      state.logger.error({ err }, 'upstream observer threw');
    }
  }
}

/** Tells every observer how the attempt to `peer` ended, how long it took (ms) and, unanswered, why. */
function notifyFinish(
  state: ServerState<unknown>,
  peer: HttpPeer,
  outcome: UpstreamOutcome,
  ms: number,
  error: string | undefined,
): void {
  const observers = state.observers;
  for (let i = 0; i < observers.length; i++) {
    const observer = observers[i] as UpstreamObserver;
    if (observer.onFinish === undefined) continue;
    try {
      observer.onFinish(peer, outcome, ms, error);
    } catch (err) {
      state.logger.error({ err }, 'upstream observer threw');
    }
  }
}

/** The attempt to `peer` started at `startedAt` got its final response head with `status`. */
export function attemptAnswered(state: ServerState<unknown>, peer: HttpPeer, status: number, startedAt: number): void {
  const observers = state.observers;
  if (observers.length === 0) return;
  const ms = performance.now() - startedAt;
  for (let i = 0; i < observers.length; i++) {
    const observer = observers[i] as UpstreamObserver;
    if (observer.onHeaders === undefined) continue;
    try {
      observer.onHeaders(peer, status, ms);
    } catch (err) {
      state.logger.error({ err }, 'upstream observer threw');
    }
  }
}

/** An attempt to `peer` through `entry` starts: counted on the pool entry, observers told. Returns its start time. */
export function attemptStarted(state: ServerState<unknown>, peer: HttpPeer, entry: PoolEntry): number {
  entry.inflight++;
  const now = performance.now();
  entry.lastUsed = now;
  if (state.observers.length > 0) notifyStart(state, peer);
  return now;
}

/** The attempt started at `startedAt` ended with `outcome`; `error`: the code of an unanswered attempt's failure. */
export function attemptEnded(
  state: ServerState<unknown>,
  peer: HttpPeer,
  entry: PoolEntry,
  outcome: UpstreamOutcome,
  startedAt: number,
  error?: string,
): void {
  entry.inflight--;
  if (state.observers.length > 0) notifyFinish(state, peer, outcome, performance.now() - startedAt, error);
}
