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

/** Tells every observer how the attempt to `peer` ended and how long it took, ms. */
function notifyFinish(state: ServerState<unknown>, peer: HttpPeer, outcome: UpstreamOutcome, ms: number): void {
  const observers = state.observers;
  for (let i = 0; i < observers.length; i++) {
    const observer = observers[i] as UpstreamObserver;
    if (observer.onFinish === undefined) continue;
    try {
      observer.onFinish(peer, outcome, ms);
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

/** The attempt started at `startedAt` ended with `outcome`. */
export function attemptEnded(
  state: ServerState<unknown>,
  peer: HttpPeer,
  entry: PoolEntry,
  outcome: UpstreamOutcome,
  startedAt: number,
): void {
  entry.inflight--;
  if (state.observers.length > 0) notifyFinish(state, peer, outcome, performance.now() - startedAt);
}
