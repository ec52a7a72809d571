import { validateHeaderName, validateHeaderValue } from 'node:http';
import {
  Http2ServerRequest,
  Http2ServerResponse,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Readable } from 'node:stream';

/**
 * One downstream HTTP/2 request as the proxy serves it: the core `ServerHttp2Stream` with the
 * head it arrived with. The proxy reads and answers the stream directly; `node:http2`'s
 * compatibility request and response (what an app's phase sees as `session.request` and
 * `session.response`) are built only when something asks for them. Once they exist they own the
 * stream's reading (the request's body comes through them) and its response (the proxy writes
 * through them too), so their state (`headersSent`, `statusCode`, `writableEnded`) stays true.
 */
export class H2Downstream {
  readonly stream: ServerHttp2Stream;
  /** The head as Node's headers object (pseudo-header fields included). */
  readonly headers: IncomingHttpHeaders;
  /** The head as flat raw pairs, pseudo-header fields first, names lower-case. */
  readonly rawHeaders: string[];
  #request: Http2ServerRequest | undefined;
  #response: Http2ServerResponse | undefined;
  /** The status the proxy itself sent, for a compatibility response built after it. */
  #status = 0;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]) {
    this.stream = stream;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
  }

  /** The compatibility request, built on first read (with its response). */
  get request(): Http2ServerRequest {
    if (this.#request === undefined) this.#build();
    return this.#request as Http2ServerRequest;
  }

  /** The compatibility response, built on first read (with its request). */
  get response(): Http2ServerResponse {
    if (this.#response === undefined) this.#build();
    return this.#response as Http2ServerResponse;
  }

  /** The compatibility response if a phase built it: from then on every write goes through it. */
  get builtResponse(): Http2ServerResponse | undefined {
    return this.#response;
  }

  /** The request body to send upstream: the compatibility request once built (it reads the stream), else the stream. */
  get body(): Readable & { rawTrailers?: unknown } {
    if (this.#request !== undefined) return this.#request;
    const stream = this.stream as ServerHttp2Stream & { rawTrailers?: unknown };
    // Kept where the upstream request reads a body's trailers (as a compatibility request has them).
    if (stream.listenerCount('trailers') === 0) stream.on('trailers', keepTrailers);
    return stream;
  }

  /**
   * The request body for undici (an HTTP/1.1 peer): undici destroys a stream body once it is
   * sent, which would reset the HTTP/2 stream before its response, so it gets the stream as an
   * async iterable that leaves the stream open (the compatibility request once built, which a
   * destroy does not reach).
   */
  get undiciBody(): AsyncIterable<Buffer> {
    return this.#request ?? this.stream.iterator({ destroyOnReturn: false });
  }

  /** Some of the request body was read (or the stream is gone): the request cannot be sent again. */
  get bodyTouched(): boolean {
    const s = this.stream;
    return s.readableDidRead || s.destroyed || (this.#request?.readableDidRead ?? false);
  }

  /** The response head went out. */
  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  /** The status of the response sent (by the proxy or through the compatibility response); 0 before any. */
  get status(): number {
    if (this.#response !== undefined) return this.#response.statusCode;
    return this.#status;
  }

  /**
   * Sends the response head: `status` and the flat header pairs. Names are lower-cased, a
   * `Connection` field is dropped (HTTP/2 has none), and an invalid name or value throws, as
   * the compatibility response's `writeHead` would. The stream waits for trailers after its body.
   */
  respond(status: number, pairs: readonly string[]): void {
    const res = this.#response;
    if (res !== undefined) {
      res.writeHead(status, pairs as unknown as OutgoingHttpHeaders);
      return;
    }
    const stream = this.stream;
    // As the compatibility response does: nothing is sent on a stream already closed.
    if (stream.destroyed || stream.closed) return;
    const head = h2ResponseHead(status, pairs);
    this.#status = status;
    stream.respond(head, { waitForTrailers: true });
  }

  /**
   * A complete response of the proxy's own (an error page): `status`, the header pairs, `body`.
   * Whatever the client still sends is not read.
   */
  answer(status: number, pairs: readonly string[], body: string): void {
    const res = this.#response;
    if (res !== undefined) {
      res.writeHead(status, pairs as unknown as OutgoingHttpHeaders);
      res.end(body);
      return;
    }
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    this.#status = status;
    stream.respond(h2ResponseHead(status, pairs));
    stream.end(body);
  }

  #build(): void {
    const stream = this.stream;
    const trailerListeners = stream.listenerCount('wantTrailers');
    const request = new Http2ServerRequest(stream, this.headers, {}, this.rawHeaders);
    const response = new Http2ServerResponse(stream);
    if (this.#status !== 0) {
      // Built after the proxy answered (a `logging` phase): the response reports what was sent,
      // and the proxy's writer, not this response, sends the stream's trailers.
      response.statusCode = this.#status;
      for (const listener of stream.listeners('wantTrailers').slice(trailerListeners)) {
        stream.removeListener('wantTrailers', listener as (...args: unknown[]) => void);
      }
    }
    this.#request = request;
    this.#response = response;
    // The stream's body already ended unread: the request must end too.
    if (stream.readableEnded) request.push(null);
  }
}

function keepTrailers(this: { rawTrailers?: unknown }, _fields: unknown, _flags: unknown, raw: unknown): void {
  this.rawTrailers = raw;
}

/** Flat response header pairs as the headers object `respond` takes, with `:status`. */
export function h2ResponseHead(status: number, pairs: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': status };
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = (pairs[i] as string).trim().toLowerCase();
    const value = pairs[i + 1] as string;
    validateHeaderName(name);
    validateHeaderValue(name, value);
    if (name === 'connection' && value !== 'trailers') continue;
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [String(seen), value];
  }
  return out;
}
