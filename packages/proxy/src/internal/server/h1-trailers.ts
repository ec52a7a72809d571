import type { ServerResponse } from 'node:http';

/**
 * Upstream trailers on their way to an HTTP/1.1 client. They travel in the trailer section of a
 * chunked body (RFC 9112 §7.1.2), so they are sent when the response to the client is chunked
 * (the upstream gave no `Content-Length`, and the client speaks HTTP/1.1), whether or not the
 * client sent `TE: trailers`: every HTTP/1.1 recipient parses the trailer section of a chunked
 * body and may discard what it does not use (RFC 9110 §6.5.1); `TE: trailers` only promises that
 * it will not. With a `Content-Length` framing (or no body: `HEAD`, 204, 304) there is no trailer
 * section, and trailers are dropped, as they are for an HTTP/1.0 client.
 */

/**
 * Gives `pairs` (flat, already filtered by `trailerPairs`) to `response` to go out after its last
 * chunk when it ends; does nothing when the response has no trailer section to carry them.
 * Returns whether they will be sent.
 */
export function addH1Trailers(response: ServerResponse, pairs: readonly string[]): boolean {
  if (pairs.length === 0 || !carriesTrailers(response)) return false;
  const fields: [string, string][] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) fields.push([pairs[i] as string, pairs[i + 1] as string]);
  // Node sends them between the last chunk and the final CRLF when end() is called.
  response.addTrailers(fields);
  return true;
}

/** Whether `response` is framed with chunked transfer coding and has a body (so a trailer section). */
function carriesTrailers(response: ServerResponse): boolean {
  const r = response as ServerResponse & { chunkedEncoding?: boolean; _hasBody?: boolean };
  return r.headersSent && r.chunkedEncoding === true && r._hasBody !== false;
}
