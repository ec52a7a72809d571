import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Readable } from 'node:stream';
import type { RequestInfo } from '@switchyard/core';
import type { Session } from '../../proxy-app.js';
import { normalizeIp } from './forward-headers.js';
import type { H2Downstream } from './h2-downstream.js';
import { h1HeadersOf } from './h2-request-rules.js';
import { sessionSocket } from './h2-session-socket.js';

/**
 * The {@link Session} an app's phases receive: the downstream request's data and nothing of the
 * machinery that forwards it. `path` and `headers` are computed on first read (Node builds
 * `request.headers` lazily, and most requests never need it). It is its own `requestInfo`:
 * it has every field of core's `RequestInfo`, so selectors read it without a copy.
 *
 * An HTTP/2 stream gets the same view as an HTTP/1.1 request: `rawHeaders` and `headers` are
 * the HTTP/1.1 fields (no pseudo-header fields, `:authority` as `host`), so selectors and
 * filters see one shape whatever the client spoke.
 */
export class ProxySession implements Session, RequestInfo {
  readonly method: string;
  /** Origin-form (or `*`): an absolute-form target is turned into origin-form by {@link ProxySession.retarget}. */
  uri: string;
  readonly clientIp: string;
  /** The client spoke HTTP/2 (a stream of a session). */
  readonly h2: boolean;
  /** The HTTP/2 stream, for an HTTP/2 request. */
  readonly downstream: H2Downstream | undefined;
  readonly #h1Request: IncomingMessage | undefined;
  readonly #h1Response: ServerResponse | undefined;
  #path: string | undefined;
  #rawHeaders: string[] | undefined;
  #headers: IncomingHttpHeaders | undefined;

  /** An HTTP/1.1 request (`request` and `response` given), or an HTTP/2 stream (`downstream` given). */
  constructor(request: IncomingMessage | undefined, response: ServerResponse | undefined, downstream?: H2Downstream) {
    this.#h1Request = request;
    this.#h1Response = response;
    this.downstream = downstream;
    if (downstream !== undefined) {
      this.h2 = true;
      const headers = downstream.headers;
      this.method = headers[':method'] ?? 'GET';
      this.uri = headers[':path'] ?? '/';
      this.clientIp = normalizeIp(sessionSocket(downstream.stream.session)?.remoteAddress);
    } else {
      const req = request as IncomingMessage;
      this.h2 = false;
      this.method = req.method ?? 'GET';
      this.uri = req.url ?? '/';
      this.clientIp = normalizeIp(req.socket?.remoteAddress);
    }
  }

  /**
   * The downstream request. On HTTP/2, node:http2's compatibility request, built on first read
   * (see {@link Session.request}).
   */
  get request(): IncomingMessage | Http2ServerRequest {
    return this.#h1Request ?? (this.downstream as H2Downstream).request;
  }

  /** The downstream response; on HTTP/2 built on first read (see {@link Session.response}). */
  get response(): ServerResponse | Http2ServerResponse {
    return this.#h1Response ?? (this.downstream as H2Downstream).response;
  }

  /** The HTTP/1.1 request and response; throw for an HTTP/2 stream (the proxy never builds those for itself). */
  get h1Request(): IncomingMessage {
    if (this.#h1Request === undefined) throw new Error('not an HTTP/1.1 request');
    return this.#h1Request;
  }

  get h1Response(): ServerResponse {
    if (this.#h1Response === undefined) throw new Error('not an HTTP/1.1 request');
    return this.#h1Response;
  }

  /** `1.1`, `1.0`, or `2.0` for an HTTP/2 stream. */
  get httpVersion(): string {
    return this.#h1Request?.httpVersion ?? '2.0';
  }

  /** The request head as received: HTTP/1.1 raw pairs, or HTTP/2's with its pseudo-header fields. */
  get receivedRawHeaders(): string[] {
    return this.#h1Request?.rawHeaders ?? (this.downstream as H2Downstream).rawHeaders;
  }

  /**
   * The request body to send upstream: for undici (`undici`), or for a reader that leaves the
   * body stream open when done (the HTTP/2 upstream client, a pipe).
   */
  bodyFor(undici: boolean): Readable | AsyncIterable<Buffer> {
    const ds = this.downstream;
    if (ds === undefined) return this.#h1Request as IncomingMessage;
    return undici ? ds.undiciBody : ds.body;
  }

  /** Something of the request went out or was read (its response head, its body): it cannot be sent again. */
  get requestStarted(): boolean {
    const ds = this.downstream;
    if (ds !== undefined) return ds.headersSent || ds.bodyTouched;
    const req = this.#h1Request as IncomingMessage;
    return (this.#h1Response as ServerResponse).headersSent || req.readableDidRead || req.destroyed;
  }

  /** Replaces the request-target with its origin-form (`/x` for `http://host/x`), before any phase reads it. */
  retarget(uri: string): void {
    this.uri = uri;
    this.#path = undefined;
  }

  get path(): string {
    if (this.#path === undefined) {
      const q = this.uri.indexOf('?');
      this.#path = q < 0 ? this.uri : this.uri.slice(0, q);
    }
    return this.#path;
  }

  /** The request's header fields as flat HTTP/1.1 raw pairs. */
  get rawHeaders(): string[] {
    const ds = this.downstream;
    if (ds === undefined) return (this.#h1Request as IncomingMessage).rawHeaders;
    this.#rawHeaders ??= h1HeadersOf(ds.rawHeaders);
    return this.#rawHeaders;
  }

  get headers(): IncomingHttpHeaders {
    if (!this.h2) return (this.#h1Request as IncomingMessage).headers;
    if (this.#headers === undefined) {
      const headers: IncomingHttpHeaders = {};
      const raw = this.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = raw[i] as string;
        const value = raw[i + 1] as string;
        const seen = headers[name];
        if (seen === undefined) headers[name] = value;
        else if (Array.isArray(seen)) seen.push(value);
        else headers[name] = name === 'set-cookie' ? [seen, value] : `${seen}, ${value}`;
      }
      this.#headers = headers;
    }
    return this.#headers;
  }

  get requestInfo(): RequestInfo {
    return this;
  }
}
