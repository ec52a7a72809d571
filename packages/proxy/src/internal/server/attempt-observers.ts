import type { HttpPeer } from '@switchyard/core';
import type { UpstreamObserver, UpstreamOutcome } from '../../proxy-app.js';
import type { ServerState } from './server-state.js';

/** Tells every observer an attempt to `peer` starts. An observer's bug must not break the request it observes. */
export function notifyStart(state: ServerState<unknown>, peer: HttpPeer): void {
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
export function notifyFinish(state: ServerState<unknown>, peer: HttpPeer, outcome: UpstreamOutcome, ms: number): void {
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
