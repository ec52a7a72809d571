import { constants, type ServerHttp2Stream } from 'node:http2';
import type { H2Downstream } from './h2-downstream.js';
import { pairsToHeaders } from './h2-upstream-headers.js';
import type { ResponseOwner, ResponseWriter } from './response-writer.js';

const kOwner = Symbol('switchyard.h2ResponseOwner');

const kTrailers = Symbol('switchyard.h2ResponseTrailers');

type Owned = ServerHttp2Stream & { [kOwner]?: ResponseOwner; [kTrailers]?: readonly string[] };

// Shared listeners: `this` is the stream, the owner hangs off it (no closure per stream).
function onStreamClose(this: Owned): void {
  this[kOwner]?.downstreamClosed();
}
function onStreamDrain(this: Owned): void {
  this[kOwner]?.resumeUpstream();
}
/** The body went out: the trailers given to `end` follow it (none: an empty DATA frame ends the stream). */
function onWantTrailers(this: Owned): void {
  const pairs = this[kTrailers];
  try {
    this.sendTrailers(pairs === undefined || pairs.length === 0 ? {} : pairsToHeaders(pairs));
  } catch {
    // A field HTTP/2 cannot carry: the response cannot end as it should.
    this.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}

/**
 * Ends the response of `downstream`, whose head went out, with the trailer pairs given (through
 * the compatibility response if a phase built it). A no-op once the response ended.
 */
export function endWithTrailers(downstream: H2Downstream, pairs: readonly string[]): void {
  const res = downstream.builtResponse;
  if (res !== undefined) {
    if (res.writableEnded) return;
    if (pairs.length > 0) res.addTrailers(pairsToHeaders(pairs));
    res.end();
    return;
  }
  const stream = downstream.stream as Owned;
  if (stream.writableEnded) return;
  stream[kTrailers] = pairs;
  stream.end();
}

/** The response of `downstream` has ended (all of it handed to the stream). */
export function responseEnded(downstream: H2Downstream): boolean {
  return (downstream.builtResponse ?? downstream.stream).writableEnded;
}

/**
 * Tells the request answering `stream` that its client is gone, at once (its upstream attempt is
 * cancelled, the request finishes), before the stream is answered or reset by someone else, so the
 * exchange writes nothing more to it. A no-op for a response whose request already finished.
 */
export function abandonResponse(stream: ServerHttp2Stream): void {
  const owned = stream as Owned;
  const owner = owned[kOwner];
  delete owned[kOwner];
  owner?.downstreamClosed();
}

/**
 * The HTTP/2 {@link ResponseWriter}: one stream's response through the core stream API
 * (`respond`, `write`, `end`, `sendTrailers`), or through the compatibility response when an
 * app's phase built it (see {@link H2Downstream}). Writes go straight to the stream (HTTP/2
 * frames every write itself, and streams of one connection are multiplexed, so there is nothing
 * to batch per turn); a full stream window pauses the upstream until the stream drains. Trailers
 * given to {@link end} go out as a trailing HEADERS frame. A stream the client resets (or a
 * connection that closes) before the response ended is reported as a downstream close, which
 * aborts the upstream attempt.
 */
export class H2Writer implements ResponseWriter {
  readonly #downstream: H2Downstream;
  readonly #owner: ResponseOwner;
  #drainWatched = false;

  constructor(downstream: H2Downstream, owner: ResponseOwner) {
    this.#downstream = downstream;
    this.#owner = owner;
    const stream = downstream.stream as Owned;
    stream[kOwner] = owner;
    stream.on('close', onStreamClose);
  }

  head(status: number, headers: string[]): void {
    const ds = this.#downstream;
    // Throws for a field HTTP/2 cannot carry (the relay reports a broken upstream response).
    ds.respond(status, headers);
    // 'wantTrailers' is emitted once per stream: `on` spares the wrapper `once` makes.
    if (ds.builtResponse === undefined) ds.stream.on('wantTrailers', onWantTrailers);
  }

  chunk(data: Buffer): boolean {
    const ds = this.#downstream;
    const res = ds.builtResponse;
    const ok = res !== undefined ? res.write(data) : ds.stream.write(data);
    if (!ok && !this.#drainWatched) {
      this.#drainWatched = true;
      ds.stream.on('drain', onStreamDrain);
    }
    return ok;
  }

  end(trailers?: readonly string[]): void {
    const ds = this.#downstream;
    // A HEAD request, 204 or 304 ended the stream with its head already: nothing more is sent.
    endWithTrailers(ds, trailers ?? []);
    this.#owner.responseEnded();
  }

  cut(): void {
    // A reset without an error code (what `destroy()` sends) would read as a complete response.
    this.#downstream.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}
