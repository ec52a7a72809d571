import { type ClientHttp2Session, connect as http2Connect } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type Connector, LbError } from '@switchyard/core';
import type { H2UpstreamRequest } from './h2-upstream-stream.js';

/** Streams per upstream HTTP/2 session at most, whatever the upstream allows (Node's default server limit). */
export const H2_MAX_STREAMS_PER_SESSION = 100;
/** Per-stream receive window we announce (undici's HTTP/2 default): fewer round trips for large bodies. */
const STREAM_WINDOW = 256 * 1024;
/** Connection receive window: room for several streams' windows at once. */
const SESSION_WINDOW = 1024 * 1024;
/**
 * How long the upstream's first SETTINGS may take once connected, when the peer sets no
 * `connectionTimeout`. A server sends SETTINGS as soon as it has read the preface; a peer that
 * stays silent (not speaking HTTP/2) would otherwise hold every request waiting for it.
 */
export const H2_SETTINGS_TIMEOUT_MS = 10_000;

/** What a session tells its pool. */
export interface H2SessionEvents {
  /** The session agreed its settings: it takes streams now. */
  ready(s: H2UpstreamSession): void;
  /** A stream slot came free, the upstream's stream limit changed, or a GOAWAY stopped new streams. */
  changed(s: H2UpstreamSession): void;
  /** Connecting failed with the connector's `LbError` (or no HTTP/2 session came up on the socket). */
  failed(s: H2UpstreamSession, err: LbError): void;
  /** The session is closed. */
  closed(s: H2UpstreamSession): void;
}

/** How a pool's sessions connect and when they close. */
export interface H2SessionOptions {
  readonly connector: Connector;
  /** `http://host:port` or `https://host:port`. */
  readonly origin: string;
  /** `:scheme` and `:authority` used when the request has no `Host`. */
  readonly scheme: string;
  readonly authority: string;
  readonly tls: boolean;
  /** Close an idle session after this many ms; 0 closes it as soon as its streams are done; undefined never. */
  readonly idleMs: number | undefined;
  /** Longest wait for the upstream's first SETTINGS once connected, ms. */
  readonly settingsMs: number;
}

/**
 * One upstream HTTP/2 connection: connected through the peer's connector (TLS must agree on
 * ALPN `h2`), ready once the upstream's SETTINGS arrived, carrying at most
 * min({@link H2_MAX_STREAMS_PER_SESSION}, the upstream's SETTINGS_MAX_CONCURRENT_STREAMS) streams.
 * After a GOAWAY (or {@link closeWhenIdle}) it takes no new streams from the pool's dispatch.
 */
export class H2UpstreamSession {
  readonly #o: H2SessionOptions;
  readonly #events: H2SessionEvents;
  #session: ClientHttp2Session | undefined;
  #socket: Socket | undefined;
  #state: 'connecting' | 'ready' | 'closed' = 'connecting';
  #goaway = false;
  #closeWhenIdle: boolean;
  #limit = H2_MAX_STREAMS_PER_SESSION;
  #idle: NodeJS.Timeout | undefined;
  /** Streams open on this HTTP/2 connection. */
  active = 0;
  /** A request sent only on this connection (a resend on a brand-new connection). */
  reserved: H2UpstreamRequest | undefined;

  constructor(o: H2SessionOptions, events: H2SessionEvents) {
    this.#o = o;
    this.#events = events;
    this.#closeWhenIdle = o.idleMs === 0;
    o.connector({}, (err, socket) => this.#connected(err, socket));
  }

  /** Still connecting. */
  get connecting(): boolean {
    return this.#state === 'connecting';
  }

  /** Connecting or ready, and open to new streams (no GOAWAY, not closing). */
  get accepting(): boolean {
    return this.#state !== 'closed' && !this.#goaway;
  }

  /** Streams it can open now (0 while connecting, after a GOAWAY, or once closed). */
  get free(): number {
    return this.#state === 'ready' && !this.#goaway ? Math.max(0, this.#limit - this.active) : 0;
  }

  /** Opens `req`'s stream on this connection (the caller checked {@link free}). */
  open(req: H2UpstreamRequest): void {
    const session = this.#session as ClientHttp2Session;
    this.active++;
    if (this.#idle !== undefined) {
      clearTimeout(this.#idle);
      this.#idle = undefined;
    }
    let closed = false;
    req.attach(session, this.#o.scheme, this.#o.authority, () => {
      if (closed) return;
      closed = true;
      this.active--;
      this.#streamDone();
    });
  }

  /** Closes once idle: now if no stream is open, else when its last stream is done. */
  closeWhenIdle(): void {
    this.#closeWhenIdle = true;
    if (this.active === 0 && this.reserved === undefined) this.#close();
  }

  /** Closes the session at once (a connect under way is abandoned); its streams fail as dropped. */
  destroy(): void {
    if (this.#session !== undefined) {
      this.#finish();
      return;
    }
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#events.closed(this);
  }

  #connected(err: Error | null, socket: Socket | null | undefined): void {
    if (this.#state === 'closed') {
      // Destroyed while connecting: the pool no longer counts on it.
      socket?.destroy();
      return;
    }
    if (err !== null || socket === null || socket === undefined) {
      this.#fail(err as LbError);
      return;
    }
    if (this.#o.tls && (socket as TLSSocket).alpnProtocol !== 'h2') {
      socket.destroy();
      this.#fail(new LbError('LB_ERR_TLS_HANDSHAKE', `upstream ${this.#o.authority} did not agree on ALPN h2`));
      return;
    }
    this.#socket = socket;
    const session = http2Connect(this.#o.origin, {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW },
    });
    this.#session = session;
    session.on('error', () => {
      // Reported to each stream as it closes; the session closes after it.
    });
    const settingsTimer = setTimeout(() => {
      session.destroy();
      socket.destroy();
    }, this.#o.settingsMs);
    settingsTimer.unref();
    session.once('remoteSettings', () => {
      clearTimeout(settingsTimer);
      if (this.#state !== 'connecting') return;
      session.setLocalWindowSize(SESSION_WINDOW);
      this.#state = 'ready';
      this.#readLimit(session);
      this.#events.ready(this);
      if (this.active === 0 && this.reserved === undefined) this.#streamDone();
    });
    session.on('remoteSettings', () => {
      if (this.#state !== 'ready') return;
      this.#readLimit(session);
      this.#events.changed(this);
    });
    session.once('goaway', () => {
      this.#goaway = true;
      if (this.active === 0 && this.reserved === undefined) this.#finish();
      else this.#events.changed(this);
    });
    session.once('close', () => {
      clearTimeout(settingsTimer);
      if (this.#state === 'connecting') {
        socket.destroy();
        this.#state = 'closed';
        this.#fail(new LbError('LB_ERR_CONNECT_FAILED', `no HTTP/2 session with upstream ${this.#o.authority}`));
        return;
      }
      this.#finish();
    });
  }

  #readLimit(session: ClientHttp2Session): void {
    const max = session.remoteSettings.maxConcurrentStreams;
    this.#limit = Math.min(H2_MAX_STREAMS_PER_SESSION, max ?? H2_MAX_STREAMS_PER_SESSION);
  }

  #fail(err: LbError): void {
    this.#state = 'closed';
    this.#events.failed(this, err);
  }

  #streamDone(): void {
    if (this.active === 0 && this.reserved === undefined) {
      if (this.#closeWhenIdle || this.#goaway) {
        this.#finish();
        return;
      }
      const ms = this.#o.idleMs;
      if (ms !== undefined && ms > 0 && this.#idle === undefined) {
        this.#idle = setTimeout(() => this.#finish(), ms);
        this.#idle.unref();
      }
    }
    this.#events.changed(this);
  }

  /** No new streams; closed at once when idle, else by {@link #streamDone} after the last one. */
  #close(): void {
    this.#goaway = true;
    if (this.active === 0 && this.reserved === undefined && this.#state === 'ready') this.#finish();
  }

  /**
   * Closes an idle session for good: destroyed (which sends GOAWAY) with its socket, since Node
   * keeps a session that got or sent a GOAWAY open until the upstream closes the connection.
   */
  #finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#idle !== undefined) clearTimeout(this.#idle);
    this.#session?.destroy();
    this.#socket?.destroy();
    this.#events.closed(this);
  }
}
