import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Session } from '@switchyard/proxy';

/**
 * A {@link Session} built from plain request data, for code that only reads its fields
 * (key extractors, upstreamPeer choice). `request`/`response` are absent: anything that
 * touches them fails loudly.
 */
export function sessionOf(
  uri: string,
  headers: IncomingHttpHeaders = {},
  clientIp = '127.0.0.1',
  method = 'GET',
): Session {
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  return {
    request: undefined as unknown as IncomingMessage,
    response: undefined as unknown as ServerResponse,
    method,
    uri,
    path,
    headers,
    clientIp,
    requestInfo: { method, path, headers, clientIp },
  };
}
