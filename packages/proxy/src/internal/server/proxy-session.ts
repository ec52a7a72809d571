import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { RequestInfo } from '@switchyard/core';
import type { Session } from '../../proxy-app.js';
import { normalizeIp } from './forward-headers.js';
import { h1HeadersOf } from './h2-request-rules.js';

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
  readonly request: IncomingMessage | Http2ServerRequest;
  readonly response: ServerResponse | Http2ServerResponse;
  readonly method: string;
  /** Origin-form (or `*`): an absolute-form target is turned into origin-form by {@link ProxySession.retarget}. */
  uri: string;
  readonly clientIp: string;
  /** The client spoke HTTP/2 (a stream of a session). */
  readonly h2: boolean;
  #path: string | undefined;
  #rawHeaders: string[] | undefined;
  #headers: IncomingHttpHeaders | undefined;

  constructor(request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse) {
    this.request = request;
    this.response = response;
    this.method = request.method ?? 'GET';
    this.uri = request.url ?? '/';
    // Not `httpVersionMajor`: Node's HTTP/1.1 parser accepts a request line saying HTTP/2.0.
    this.h2 = (request as Partial<Http2ServerRequest>).stream !== undefined;
    const socket = this.h2 ? (request as Http2ServerRequest).stream.session?.socket : request.socket;
    this.clientIp = normalizeIp(socket?.remoteAddress);
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
    if (!this.h2) return this.request.rawHeaders;
    this.#rawHeaders ??= h1HeadersOf(this.request.rawHeaders);
    return this.#rawHeaders;
  }

  get headers(): IncomingHttpHeaders {
    if (!this.h2) return this.request.headers as IncomingHttpHeaders;
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
