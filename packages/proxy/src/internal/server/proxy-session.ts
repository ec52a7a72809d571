import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { RequestInfo } from '@switchyard/core';
import type { Session } from '../../proxy-app.js';
import { normalizeIp } from './forward-headers.js';

/**
 * The {@link Session} an app's phases receive: the downstream request's data and nothing of the
 * machinery that forwards it. `path` and `headers` are computed on first read (Node builds
 * `request.headers` lazily, and most requests never need it). It is its own `requestInfo`:
 * it has every field of core's `RequestInfo`, so selectors read it without a copy.
 */
export class ProxySession implements Session, RequestInfo {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly method: string;
  /** Origin-form (or `*`): an absolute-form target is turned into origin-form by {@link ProxySession.retarget}. */
  uri: string;
  readonly clientIp: string;
  #path: string | undefined;

  constructor(request: IncomingMessage, response: ServerResponse) {
    this.request = request;
    this.response = response;
    this.method = request.method ?? 'GET';
    this.uri = request.url ?? '/';
    this.clientIp = normalizeIp(request.socket.remoteAddress);
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

  get headers(): IncomingHttpHeaders {
    return this.request.headers;
  }

  get requestInfo(): RequestInfo {
    return this;
  }
}
