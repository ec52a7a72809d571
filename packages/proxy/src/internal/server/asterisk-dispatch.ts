import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { connectPeer, type HttpPeer, LbError } from '@switchyard/core';
import type { Dispatcher } from 'undici';

/**
 * `OPTIONS *` (asterisk-form, RFC 9112 §3.2.4) to `peer`. undici sends only paths that start
 * with `/`, so this rare request goes over a connection of its own, made by core's connector
 * (the same TLS, proxy and timeout settings as pooled traffic), with `node:http` writing the
 * request line. Its events reach `handler` as undici's would: connect, head, body, end or error
 * (a `readTimeout` without response is `LB_ERR_UPSTREAM_TIMEOUT`). The connection closes after it.
 */
export function sendAsterisk(
  peer: HttpPeer,
  headers: readonly string[],
  body: Readable | null,
  timeout: number,
  handler: Dispatcher.DispatchHandler,
): void {
  let ended = false;
  const fail = (err: Error): void => {
    if (ended) return;
    ended = true;
    handler.onError?.(err);
  };
  connectPeer(peer).then((socket) => {
    const req = request({
      method: 'OPTIONS',
      path: '*',
      headers: [...headers, 'connection', 'close'],
      createConnection: () => socket,
      setHost: false,
    });
    handler.onConnect?.((err?: Error) => req.destroy(err ?? new Error('aborted')));
    req.on('error', fail);
    if (timeout > 0) {
      req.setTimeout(timeout, () => {
        req.destroy(
          new LbError('LB_ERR_UPSTREAM_TIMEOUT', `OPTIONS * to ${peer.id} exceeded readTimeout (${timeout} ms)`),
        );
      });
    }
    req.on('response', (res) => {
      res.on('error', fail);
      const resume = (): void => {
        res.resume();
      };
      const raw = res.rawHeaders as unknown as Buffer[];
      if (handler.onHeaders?.(res.statusCode ?? 0, raw, resume, res.statusMessage ?? '') === false) res.pause();
      res.on('data', (chunk: Buffer) => {
        if (handler.onData?.(chunk) === false) res.pause();
      });
      res.on('end', () => {
        if (ended) return;
        ended = true;
        handler.onComplete?.(null);
      });
    });
    if (body === null) req.end();
    else body.pipe(req);
  }, fail);
}
