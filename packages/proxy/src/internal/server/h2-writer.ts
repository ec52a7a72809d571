import { constants, type Http2ServerResponse } from 'node:http2';
import type { ResponseOwner, ResponseWriter } from './response-writer.js';

const kOwner = Symbol('switchyard.h2ResponseOwner');

type Owned = Http2ServerResponse & { [kOwner]?: ResponseOwner };

// Shared listeners: `this` is the response, the owner hangs off it (no closure per stream).
function onStreamClose(this: Owned): void {
  this[kOwner]?.downstreamClosed();
}
function onStreamDrain(this: Owned): void {
  this[kOwner]?.resumeUpstream();
}

/**
 * Tells the request writing `response` that its client is gone, at once (its upstream attempt is
 * cancelled, the request finishes), before the stream is answered or reset by someone else, so the
 * exchange writes nothing more to it. A no-op for a response whose request already finished.
 */
export function abandonResponse(response: Http2ServerResponse): void {
  const owned = response as Owned;
  const owner = owned[kOwner];
  delete owned[kOwner];
  owner?.downstreamClosed();
}

/**
 * The HTTP/2 {@link ResponseWriter}: one stream's response through `node:http2`'s compatibility
 * response. Writes go straight to the stream (HTTP/2 frames every write itself, and streams of
 * one connection are multiplexed, so there is nothing to batch per turn); a full stream window
 * pauses the upstream until the stream drains. Trailers given to {@link end} go out as a
 * trailing HEADERS frame. A stream the client resets (or a connection that closes) before the
 * response ended is reported as a downstream close, which aborts the upstream attempt.
 */
export class H2Writer implements ResponseWriter {
  readonly #response: Http2ServerResponse;
  readonly #owner: ResponseOwner;
  #drainWatched = false;

  constructor(response: Http2ServerResponse, owner: ResponseOwner) {
    this.#response = response;
    this.#owner = owner;
    (response as Owned)[kOwner] = owner;
    response.on('close', onStreamClose);
  }

  head(status: number, headers: string[]): void {
    // Throws for a field HTTP/2 cannot carry (the relay reports a broken upstream response).
    this.#response.writeHead(status, headers as unknown as Record<string, string>);
  }

  chunk(data: Buffer): boolean {
    const ok = this.#response.write(data);
    if (!ok && !this.#drainWatched) {
      this.#drainWatched = true;
      this.#response.on('drain', onStreamDrain);
    }
    return ok;
  }

  end(trailers?: readonly string[]): void {
    const res = this.#response;
    if (trailers !== undefined && trailers.length > 0) res.addTrailers(trailerObject(trailers));
    res.end();
    this.#owner.responseEnded();
  }

  cut(): void {
    // A reset without an error code (what `destroy()` sends) would read as a complete response.
    this.#response.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}

/** Flat trailer pairs as the object `addTrailers` takes; a repeated name keeps every value. */
function trailerObject(pairs: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = (pairs[i] as string).toLowerCase();
    const value = pairs[i + 1] as string;
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [seen, value];
  }
  return out;
}
