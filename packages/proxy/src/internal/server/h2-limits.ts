import { constants, type ServerHttp2Session, type ServerHttp2Stream, type ServerOptions } from 'node:http2';
import type { Socket } from 'node:net';

/**
 * What one downstream HTTP/2 connection may cost. Node's `node:http2` defaults leave concurrent
 * streams unlimited and tolerate 1,000 invalid frames; these are set explicitly, each with the
 * attack it bounds. Exceeding a session limit ends the connection with GOAWAY (nghttp2 sends
 * ENHANCE_YOUR_CALM for floods, PROTOCOL_ERROR for malformed input).
 */
export const H2_LIMITS = Object.freeze({
  /**
   * `SETTINGS_MAX_CONCURRENT_STREAMS` announced to clients (Node's default: unlimited). A client
   * opening more is refused stream by stream (REFUSED_STREAM), and each refusal counts toward
   * `maxSessionRejectedStreams`. 128, as Envoy's and nginx's order of magnitude (100 and 128).
   */
  maxConcurrentStreams: 128,
  /** Streams refused (over the concurrency limit) before the connection is closed. Node's default. */
  maxSessionRejectedStreams: 100,
  /** Invalid frames (bad padding, frames on closed streams, …) before the connection is closed; Node allows 1,000. */
  maxSessionInvalidFrames: 100,
  /** Pings sent by the proxy and not yet acknowledged. Node's default. */
  maxOutstandingPings: 10,
  /** Entries in one SETTINGS frame. Node's default. */
  maxSettings: 32,
  /**
   * Memory nghttp2 may hold for one session (header tables, queued frames such as the ACKs a
   * SETTINGS or PING flood provokes), in MB, before new streams are refused. Node's default.
   */
  maxSessionMemory: 10,
  /**
   * Streams a client may reset (RST_STREAM) at once, per session, before the connection is closed
   * with GOAWAY ENHANCE_YOUR_CALM; the allowance then grows back by `resetsPerSecond`. The
   * rapid-reset attack (CVE-2023-44487) opens and cancels streams to make the server start work
   * it never finishes. gRPC clients cancel calls, so the burst is well above an honest client's.
   * A token bucket, as nghttp2's own reset limit (a burst of 1,000, then 33 a second) that this one
   * comes before: it trips however slowly a loaded process gets through the frames.
   */
  resetBurst: 200,
  resetsPerSecond: 100,
  /**
   * SETTINGS frames a client may send at once per session (each is owed an ACK, and re-applies
   * settings), then per second. Clients send one or two per connection.
   */
  settingsBurst: 100,
  settingsPerSecond: 10,
  /**
   * PING frames a client may send at once per session (each is owed an ACK), then per second. gRPC
   * clients ping for keepalive (seconds apart) and to estimate bandwidth (a few a second at most).
   */
  pingBurst: 100,
  pingsPerSecond: 20,
});

/** The `node:http2` server options for a proxy's downstream sessions, with the header limits given. */
export function h2ServerOptions(limits: {
  readonly maxHeaderSize: number;
  readonly maxHeadersCount: number;
}): ServerOptions {
  const L = H2_LIMITS;
  return {
    // Pseudo-header fields count as pairs here; the relay refuses more than maxHeadersCount regular ones.
    maxHeaderListPairs: limits.maxHeadersCount + 5,
    maxSessionInvalidFrames: L.maxSessionInvalidFrames,
    maxSessionRejectedStreams: L.maxSessionRejectedStreams,
    maxOutstandingPings: L.maxOutstandingPings,
    maxSettings: L.maxSettings,
    maxSessionMemory: L.maxSessionMemory,
    settings: {
      // Announced, so a header block (HPACK-decoded) over it is refused without being buffered.
      maxHeaderListSize: limits.maxHeaderSize,
      maxConcurrentStreams: L.maxConcurrentStreams,
      enablePush: false,
    },
  };
}

/** Per field, what HTTP/2 adds to name and value when it sizes a header list (RFC 9113 §6.5.2). */
const FIELD_OVERHEAD = 32;

/**
 * Whether a request's header list (raw pairs, pseudo-header fields included) is larger than
 * `maxHeaderSize` as HTTP/2 counts it (name + value + 32 per field). The limit is announced in
 * SETTINGS_MAX_HEADER_LIST_SIZE, but Node hands over larger lists all the same: the listener
 * answers such a request 431 and forwards nothing.
 */
export function headListTooLarge(rawHeaders: readonly string[], maxHeaderSize: number): boolean {
  let size = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    size += (rawHeaders[i] as string).length + (rawHeaders[i + 1] as string).length + FIELD_OVERHEAD;
  }
  return size > maxHeaderSize;
}

/** Answers a request whose header list is too large: 431, and the stream is done. */
export function refuseLargeHead(stream: ServerHttp2Stream): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': 431 }, { endStream: true });
}

/** What a client sends that this proxy rations: stream resets, SETTINGS and PING frames. */
type Rationed = 'resets' | 'settings' | 'pings';

/** Per kind: the bucket's size and how many tokens it gains a second. */
const BUCKETS: Readonly<Record<Rationed, { readonly burst: number; readonly perSecond: number }>> = Object.freeze({
  resets: { burst: H2_LIMITS.resetBurst, perSecond: H2_LIMITS.resetsPerSecond },
  settings: { burst: H2_LIMITS.settingsBurst, perSecond: H2_LIMITS.settingsPerSecond },
  pings: { burst: H2_LIMITS.pingBurst, perSecond: H2_LIMITS.pingsPerSecond },
});

/** One session's token buckets: tokens left per kind, refilled from `at` on; and its connection. */
interface Ration {
  readonly socket: Socket | undefined;
  at: number;
  resets: number;
  settings: number;
  pings: number;
  tripped: boolean;
}

const kRation = Symbol('switchyard.h2Ration');
type Guarded = ServerHttp2Session & { [kRation]?: Ration };

/** Takes one `kind` token from `session`'s bucket; with none left the connection is closed. */
function spend(session: Guarded | undefined, kind: Rationed): void {
  const ration = session?.[kRation];
  if (session === undefined || ration === undefined || ration.tripped || session.destroyed) return;
  const now = performance.now();
  const elapsedS = (now - ration.at) / 1000;
  ration.at = now;
  for (const k of ['resets', 'settings', 'pings'] as const) {
    ration[k] = Math.min(BUCKETS[k].burst, ration[k] + elapsedS * BUCKETS[k].perSecond);
  }
  ration[kind] -= 1;
  if (ration[kind] < 0) {
    ration.tripped = true;
    // Out of the frame callback that counted it: nghttp2 must not be torn down while it is reading.
    setImmediate(calm, session, kind);
  }
}

/** How long a connection told to calm down may take to close by itself before it is cut, ms. */
const CALM_GRACE_MS = 1000;

/**
 * GOAWAY ENHANCE_YOUR_CALM (RFC 9113 §7: the peer "is exhibiting a behavior that might be
 * generating excessive load"), then the connection closes. The code is sent only beside an error
 * (`destroy(undefined, code)` sends NO_ERROR); the 'error' event this raises is the listener's.
 * Node closes the socket once the GOAWAY is written; one still open after {@link CALM_GRACE_MS}
 * (a client that does not read, so the GOAWAY cannot be written) is destroyed.
 */
function calm(session: Guarded, kind: Rationed): void {
  if (session.destroyed) return;
  const socket = session[kRation]?.socket;
  const { burst, perSecond } = BUCKETS[kind];
  const err = new Error(`${kind} beyond a burst of ${burst} and ${perSecond} a second`);
  session.destroy(err, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  if (socket === undefined || socket.destroyed) return;
  const cut = setTimeout(() => socket.destroy(), CALM_GRACE_MS);
  cut.unref();
  socket.once('close', () => clearTimeout(cut));
}

// Shared listeners (no closure per session or stream): `this` is the emitter.
function onStreamAborted(this: ServerHttp2Stream): void {
  spend(this.session as Guarded | undefined, 'resets');
}
function onStream(stream: ServerHttp2Stream): void {
  // 'aborted' fires when the client resets a stream before the response ended.
  stream.once('aborted', onStreamAborted);
}
function onRemoteSettings(this: Guarded): void {
  spend(this, 'settings');
}
function onPing(this: Guarded): void {
  spend(this, 'pings');
}

/**
 * Rations what the client of `session` may send — stream resets, SETTINGS frames, PING frames —
 * with a token bucket per kind ({@link H2_LIMITS}: a burst, then so many a second), and closes the
 * connection (`socket`, the one under the session) with GOAWAY ENHANCE_YOUR_CALM as soon as one
 * bucket runs dry.
 */
export function guardSession(session: ServerHttp2Session, socket: Socket | undefined): void {
  (session as Guarded)[kRation] = {
    socket,
    at: performance.now(),
    resets: H2_LIMITS.resetBurst,
    settings: H2_LIMITS.settingsBurst,
    pings: H2_LIMITS.pingBurst,
    tripped: false,
  };
  session.on('stream', onStream);
  session.on('remoteSettings', onRemoteSettings);
  session.on('ping', onPing);
}
