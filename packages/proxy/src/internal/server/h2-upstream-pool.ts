import type { Readable } from 'node:stream';
import { createConnector, type HttpPeer, type LbError } from '@switchyard/core';
import { codedError, H2_DROPPED_CODE } from './h2-upstream-errors.js';
import {
  H2_MAX_STREAMS_PER_SESSION,
  H2_SETTINGS_TIMEOUT_MS,
  type H2SessionEvents,
  H2UpstreamSession,
} from './h2-upstream-session.js';
import { H2UpstreamRequest, type UpstreamHandler } from './h2-upstream-stream.js';

/**
 * The HTTP/2 connections to one upstream peer (`alpn: 'h2'`: prior knowledge on plain text,
 * ALPN `h2` over TLS), shared by every request to it, bodies included:
 * - a request takes a stream on the first session with a free slot (so streams pack onto as
 *   few sessions as their limits allow);
 * - when every session is full, a new one is opened while there are fewer than `connections`,
 *   and the request waits in a FIFO queue until a slot comes free. The queue holds only
 *   requests already accepted downstream, so it is bounded by the downstream limits;
 * - a `fresh` request (a resend after a dropped stream) gets a brand-new session of its own,
 *   which then serves the pool like the others;
 * - a connect failure fails the request that waited for that session, and every queued request
 *   when no other session is up or coming up, with the connector's `LbError`.
 */
export class H2UpstreamPool {
  readonly #events: H2SessionEvents;
  readonly #sessions: H2UpstreamSession[] = [];
  readonly #connections: number;
  readonly #origin: string;
  readonly #scheme: string;
  readonly #authority: string;
  readonly #tls: boolean;
  readonly #idleMs: number | undefined;
  readonly #settingsMs: number;
  readonly #connector: ReturnType<typeof createConnector>;
  /** FIFO of requests waiting for a stream; `#head` is the first live index. */
  #queue: (H2UpstreamRequest | undefined)[] = [];
  #head = 0;
  #closing = false;
  #allClosed: (() => void) | undefined;

  constructor(peer: HttpPeer, connections: number, authority: string) {
    this.#connections = Math.max(1, connections);
    this.#tls = peer.tls;
    this.#scheme = peer.tls ? 'https' : 'http';
    this.#authority = authority;
    this.#origin = `${this.#scheme}://${authority}`;
    this.#idleMs = peer.options.idleTimeout;
    this.#settingsMs = peer.options.connectionTimeout ?? H2_SETTINGS_TIMEOUT_MS;
    this.#connector = createConnector(peer);
    this.#events = {
      ready: () => this.#drain(),
      changed: () => this.#drain(),
      failed: (s, err) => this.#failed(s, err),
      closed: (s) => this.#remove(s),
    };
  }

  /** Sessions open or connecting. */
  get sessions(): number {
    return this.#sessions.length;
  }

  /**
   * Sends one request; its events go to `handler` (whose `onConnect` is called at once).
   * `timeout`: the readTimeout in ms (0 = none). `fresh`: on a new session of its own.
   */
  dispatch(
    method: string,
    path: string,
    headers: readonly string[],
    body: Readable | null,
    handler: UpstreamHandler,
    fresh: boolean,
    timeout: number,
  ): void {
    const req = new H2UpstreamRequest({ method, path, headers, body, timeout }, handler, (r) => this.#unqueue(r));
    req.start();
    if (req.done) return;
    if (this.#closing) {
      req.fail(codedError(H2_DROPPED_CODE, 'the upstream pool is closing'));
      return;
    }
    if (fresh) {
      const s = this.#open();
      s.reserved = req;
      return;
    }
    const s = this.#pick();
    if (s !== undefined) {
      s.open(req);
      return;
    }
    this.#queue.push(req);
    this.#grow();
  }

  /** Graceful: no new requests; queued ones still go out; each session closes when its streams are done. */
  close(): Promise<void> {
    this.#closing = true;
    const done = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
    });
    for (const s of this.#sessions.slice()) s.closeWhenIdle();
    this.#settle();
    return done;
  }

  /** At once: queued requests fail, open streams fail as dropped. */
  destroy(): Promise<void> {
    this.#closing = true;
    const done = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
    });
    this.#failQueued(codedError('UND_ERR_DESTROYED', 'the upstream pool was destroyed'));
    for (const s of this.#sessions.slice()) s.destroy();
    this.#settle();
    return done;
  }

  #open(): H2UpstreamSession {
    const s = new H2UpstreamSession(
      {
        connector: this.#connector,
        origin: this.#origin,
        scheme: this.#scheme,
        authority: this.#authority,
        tls: this.#tls,
        idleMs: this.#idleMs,
        settingsMs: this.#settingsMs,
      },
      this.#events,
    );
    this.#sessions.push(s);
    if (this.#closing) s.closeWhenIdle();
    return s;
  }

  /** The first session with a free stream slot. */
  #pick(): H2UpstreamSession | undefined {
    const sessions = this.#sessions;
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[i] as H2UpstreamSession;
      if (s.free > 0) return s;
    }
    return undefined;
  }

  /**
   * Opens sessions while the requests on and waiting for the pool's open sessions exceed
   * {@link H2_MAX_STREAMS_PER_SESSION} per session, up to `connections`. An upstream that
   * allows fewer streams per connection holds the rest in the queue: it limits concurrency per
   * connection, and more connections would only get around that.
   */
  #grow(): void {
    let sessions = 0;
    let load = this.#queue.length - this.#head;
    for (const s of this.#sessions) {
      if (!s.accepting) continue;
      sessions++;
      load += s.active;
    }
    // Bounded: each pass adds a session, and there are at most `connections`.
    while (load > sessions * H2_MAX_STREAMS_PER_SESSION && this.#sessions.length < this.#connections) {
      this.#open();
      sessions++;
    }
  }

  /** Hands queued requests (after a session's reserved one) to free slots, then `grow`s if still waiting. */
  #drain(grow = true): void {
    for (const s of this.#sessions) {
      const reserved = s.reserved;
      if (reserved !== undefined && s.free > 0) {
        s.reserved = undefined;
        if (!reserved.done) s.open(reserved);
      }
    }
    const queue = this.#queue;
    // Bounded by the queue's length: each pass removes one entry.
    while (this.#head < queue.length) {
      const req = queue[this.#head];
      if (req === undefined || req.done) {
        queue[this.#head++] = undefined;
        continue;
      }
      const s = this.#pick();
      if (s === undefined) break;
      queue[this.#head++] = undefined;
      s.open(req);
    }
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (grow && !this.#closing) {
      this.#grow();
    }
    this.#settle();
  }

  #unqueue(req: H2UpstreamRequest): void {
    const i = this.#queue.indexOf(req, this.#head);
    if (i >= 0) this.#queue[i] = undefined;
    for (const s of this.#sessions) if (s.reserved === req) s.reserved = undefined;
  }

  #failed(s: H2UpstreamSession, err: LbError): void {
    // Not #remove: that would open a new session for the queue, and against a peer that refuses
    // connections, keep doing so.
    const i = this.#sessions.indexOf(s);
    if (i >= 0) this.#sessions.splice(i, 1);
    const reserved = s.reserved;
    s.reserved = undefined;
    reserved?.fail(err);
    // Queued requests wait for another session if one is up or coming; else they get this failure.
    if (this.#sessions.length === 0) this.#failQueued(err);
    else this.#drain(false);
    this.#settle();
  }

  #failQueued(err: Error): void {
    const queue = this.#queue;
    const head = this.#head;
    // A failed request may be dispatched again at once (to this pool, too): it queues afresh.
    this.#queue = [];
    this.#head = 0;
    // Bounded by the queue's length at the time of the failure.
    for (let i = head; i < queue.length; i++) queue[i]?.fail(err);
  }

  #remove(s: H2UpstreamSession): void {
    const i = this.#sessions.indexOf(s);
    if (i >= 0) this.#sessions.splice(i, 1);
    if (this.#head < this.#queue.length) {
      if (!this.#closing) this.#drain();
      else if (this.#sessions.length === 0) this.#failQueued(codedError(H2_DROPPED_CODE, 'the upstream pool closed'));
    }
    this.#settle();
  }

  /** Resolves a pending close once every session is gone. */
  #settle(): void {
    if (this.#allClosed === undefined || this.#sessions.length > 0) return;
    const resolve = this.#allClosed;
    this.#allClosed = undefined;
    resolve();
  }
}
