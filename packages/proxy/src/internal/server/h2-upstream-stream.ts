import { type ClientHttp2Session, type ClientHttp2Stream, constants, type IncomingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import { codedError, streamCloseError, timeoutError } from './h2-upstream-errors.js';
import { h2RequestHeaders, pairsToHeaders, rawFieldStrings } from './h2-upstream-headers.js';
import { trailerPairs } from './trailers.js';

/**
 * The handler an HTTP/2 upstream request drives: undici's legacy dispatch handler, which the
 * proxy's `Exchange` implements. Calls come in undici's order — `onConnect` first, then at most
 * one of `onComplete` / `onError` last, nothing after it.
 */
export interface UpstreamHandler {
  onConnect?(abort: (err?: Error) => void): void;
  /**
   * `raw`: the head's fields as flat pairs without pseudo-header fields. This client reports
   * strings (undici reports Buffers, and the proxy's handler reads either).
   */
  onHeaders?(status: number, raw: (Buffer | string)[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[] | null): void;
  onError?(err: Error): void;
}

/** What one upstream request sends. */
export interface H2RequestSpec {
  readonly method: string;
  readonly path: string;
  /** Flat `[name, value, …]` pairs; `Host` becomes `:authority`. */
  readonly headers: readonly string[];
  /** The downstream request to stream upstream, or null for none. */
  readonly body: Readable | null;
  /** `readTimeout` in ms: for the response head, then between body chunks; 0 is none. */
  readonly timeout: number;
}

/** A downstream request body that may have trailers once it ended (IncomingMessage, Http2ServerRequest). */
type TrailerSource = Readable & { rawTrailers?: unknown; trailers?: unknown };

const kRequest = Symbol('switchyard.h2UpstreamRequest');

/** An upstream stream with the request it carries: its listeners are shared, not made per stream. */
type Carrier = ClientHttp2Stream & { [kRequest]: H2UpstreamRequest };

// Shared stream listeners: `this` is the stream, which carries its request.
function streamFailed(this: Carrier, err: unknown): void {
  this[kRequest].streamFailed(err);
}
// Node passes the raw field list (pseudo-headers first) after the headers object and flags.
function headReceived(this: Carrier, fields: IncomingHttpHeaders, _flags: number, raw: string[]): void {
  this[kRequest].streamHead(Number(fields[':status']), raw);
}
function dataReceived(this: Carrier, chunk: Buffer): void {
  this[kRequest].streamData(chunk);
}
function trailersReceived(this: Carrier, _fields: IncomingHttpHeaders, _flags: number, raw: string[]): void {
  this[kRequest].streamTrailers(raw);
}
function streamEnded(this: Carrier): void {
  this[kRequest].streamEnded(this);
}
function streamClosed(this: Carrier): void {
  this[kRequest].streamClosed(this);
}

/**
 * One request on one HTTP/2 stream: the request body is written with backpressure (paused while
 * the stream's write buffer is full) and its trailers follow it; the response drives the handler,
 * and the stream pauses while the handler's `onData` says so. `abort` (given to `onConnect`)
 * resets the stream with CANCEL. Until {@link attach} the request waits in its pool's queue.
 */
export class H2UpstreamRequest {
  readonly #spec: H2RequestSpec;
  readonly #handler: UpstreamHandler;
  readonly #onAbortQueued: (req: H2UpstreamRequest) => void;
  #stream: ClientHttp2Stream | undefined;
  #done = false;
  #head = false;
  #paused = false;
  #timer: NodeJS.Timeout | undefined;
  #trailers: string[] | null = null;
  #detachBody: (() => void) | undefined;
  #streamError: unknown;
  #session: ClientHttp2Session | undefined;
  #onClose: (() => void) | undefined;

  /** `onAbortQueued`: called when the request is aborted before it got a stream (to leave the queue). */
  constructor(spec: H2RequestSpec, handler: UpstreamHandler, onAbortQueued: (req: H2UpstreamRequest) => void) {
    this.#spec = spec;
    this.#handler = handler;
    this.#onAbortQueued = onAbortQueued;
  }

  /** The request ended (completed, failed or aborted): it must not be attached. */
  get done(): boolean {
    return this.#done;
  }

  /** Gives the handler its `abort`; the handler may abort at once. */
  start(): void {
    this.#handler.onConnect?.((err) => this.#abort(err));
  }

  /**
   * Opens the request's stream on `session` (`scheme` and `authority` fill the pseudo-headers
   * `Host` does not); `onClose` is called once when the stream is closed.
   */
  attach(session: ClientHttp2Session, scheme: string, authority: string, onClose: () => void): void {
    const { method, path, headers, body } = this.#spec;
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(h2RequestHeaders(method, path, headers, scheme, authority), {
        endStream: body === null,
        waitForTrailers: body !== null,
      });
    } catch (err) {
      // An invalid field from an app filter, or a session closing in the same turn.
      onClose();
      this.fail(codedError('ERR_HTTP2_INVALID_REQUEST', 'the request cannot be sent over HTTP/2', err));
      return;
    }
    this.#stream = stream;
    this.#session = session;
    this.#onClose = onClose;
    (stream as Carrier)[kRequest] = this;
    stream.on('error', streamFailed);
    stream.on('response', headReceived);
    stream.on('headers', headReceived);
    stream.on('data', dataReceived);
    stream.on('trailers', trailersReceived);
    stream.on('end', streamEnded);
    stream.once('close', streamClosed);
    if (body !== null) this.#pipeBody(body, stream);
    this.#arm();
  }

  /** The stream reported an error (its close follows and reports the failure). */
  streamFailed(err: unknown): void {
    this.#streamError = err;
  }

  /** The stream's trailers arrived (raw list, pseudo-header fields first). */
  streamTrailers(raw: string[]): void {
    this.#trailers = rawFieldStrings(raw);
  }

  /** The stream's readable side ended. */
  streamEnded(stream: ClientHttp2Stream): void {
    this.#onEnd(stream, this.#streamError !== undefined);
  }

  /** The stream closed. */
  streamClosed(stream: ClientHttp2Stream): void {
    this.#onClose?.();
    this.#detachBody?.();
    if (!this.#done) this.fail(streamCloseError(stream.rstCode, this.#streamError, this.#session?.destroyed ?? true));
  }

  /** Ends the request with `err` (reported to the handler once) and resets its stream if open. */
  fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#disarm();
    const stream = this.#stream;
    if (stream !== undefined && !stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    this.#detachBody?.();
    this.#handler.onError?.(err);
  }

  #abort(err: Error | undefined): void {
    if (this.#done) return;
    if (this.#stream === undefined) this.#onAbortQueued(this);
    this.fail(err ?? codedError('UND_ERR_ABORTED', 'request aborted'));
  }

  /** A response head (informational or final) arrived. */
  streamHead(status: number, raw: string[]): void {
    if (this.#done) return;
    const informational = status < 200;
    if (!informational) this.#head = true;
    const go = this.#handler.onHeaders?.(status, rawFieldStrings(raw), this.#resume, '');
    if (this.#done || informational) return;
    if (go === false) this.#pause();
    else this.#arm();
  }

  /** A response body chunk arrived. */
  streamData(chunk: Buffer): void {
    if (this.#done) return;
    const go = this.#handler.onData?.(chunk);
    if (this.#done) return;
    if (go === false) this.#pause();
    else this.#timer?.refresh();
  }

  #onEnd(stream: ClientHttp2Stream, broken: boolean): void {
    // Node ends the readable side of a reset stream too (a session that died under it ends its
    // streams with CANCEL): only an end with no error code is the upstream's END_STREAM.
    const rst = stream.rstCode;
    if (this.#done || broken || (rst !== undefined && rst !== constants.NGHTTP2_NO_ERROR)) return;
    this.#done = true;
    this.#disarm();
    this.#handler.onComplete?.(this.#trailers);
  }

  #pause(): void {
    this.#paused = true;
    this.#disarm();
    this.#stream?.pause();
  }

  readonly #resume = (): void => {
    if (this.#done || !this.#paused) return;
    this.#paused = false;
    this.#arm();
    this.#stream?.resume();
  };

  /** Starts (or restarts) the readTimeout: the wait for the head, or for the next body chunk. */
  #arm(): void {
    const ms = this.#spec.timeout;
    if (ms <= 0 || this.#done) return;
    if (this.#timer !== undefined) {
      this.#timer.refresh();
      return;
    }
    this.#timer = setTimeout(() => this.fail(timeoutError(!this.#head, ms)), ms);
    this.#timer.unref();
  }

  /** A paused response is not the upstream's delay: no timeout runs while the handler holds it. */
  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Streams `body` into `stream`: pauses it while the stream refuses more, resumes on drain, and
   * when it ended sends its trailers (filtered as response trailers are; none ends the stream
   * with an empty DATA frame). A body that breaks off fails the request.
   */
  #pipeBody(body: TrailerSource, stream: ClientHttp2Stream): void {
    let ended = false;
    const onData = (chunk: Buffer): void => {
      if (!stream.write(chunk)) body.pause();
    };
    const onDrain = (): void => {
      body.resume();
    };
    const onEnd = (): void => {
      ended = true;
      // Every listener left is a no-op from now on: the stream's close need not remove them.
      this.#detachBody = undefined;
      stream.end();
    };
    const onBroken = (err?: unknown): void => {
      if (ended) return;
      this.fail(codedError('UND_ERR_ABORTED', 'the request body broke off before its end', err));
    };
    const onClose = (): void => onBroken();
    stream.on('drain', onDrain);
    // Emitted once per stream.
    stream.on('wantTrailers', () => {
      const pairs = trailerPairs(body.rawTrailers ?? body.trailers);
      try {
        stream.sendTrailers(pairsToHeaders(pairs));
      } catch (err) {
        // The stream closed in the same turn: its close reports the failure, if any.
        if (!stream.destroyed) this.fail(codedError('ERR_HTTP2_INVALID_REQUEST', 'trailers not sent', err));
      }
    });
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onBroken);
    body.once('close', onClose);
    this.#detachBody = () => {
      this.#detachBody = undefined;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onBroken);
      body.off('close', onClose);
      stream.off('drain', onDrain);
    };
    if (body.readableEnded) onEnd();
  }
}
