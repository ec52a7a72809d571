import type { ServerResponse } from 'node:http';
import { headerNameIs } from '@switchyard/core';
import type { Logger } from 'pino';
import { fieldText, forwardResponseHeaders } from './forward-headers.js';

/**
 * What the proxy refuses in an upstream response beyond what undici's strict parser (llhttp)
 * already refuses — both Content-Length and Transfer-Encoding, differing or repeated
 * Content-Lengths, an invalid status line, CR/LF/NUL in a field all fail there, before any byte
 * goes downstream. Two framings pass that parser and still cannot be relayed faithfully:
 * - a transfer coding other than `chunked`: undici removes only the chunking, so the client would
 *   get the remaining coding's bytes (gzip, say) with nothing saying so;
 * - no framing at all on a connection the upstream keeps open: the body would run until the
 *   upstream closes, and the client would wait for a response that never ends. RFC 9112 §9.6
 *   asks a server that closes after the response to say `Connection: close`. Checked only on
 *   peers that speak HTTP/1.1 alone (`alpn: 'h1'`): an HTTP/2 stream is framed without either
 *   field, and undici does not say which protocol a response came over.
 */

/**
 * Why the final response head (`status`, raw fields) to a `method` request cannot be relayed, or
 * undefined. `http1` says the response came over HTTP/1.x for certain.
 */
export function upstreamFramingProblem(
  status: number,
  raw: readonly (Buffer | string)[],
  method: string,
  http1: boolean,
): string | undefined {
  // No body follows these, whatever the fields say (RFC 9112 §6.3).
  if (method === 'HEAD' || status === 204 || status === 304) return undefined;
  let length = false;
  let codings: string[] | undefined;
  let close = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const field = raw[i] as Buffer | string;
    // Only names as long as one of the three are read as text: most fields are passed over unread.
    const size = field.length;
    if (size !== 14 && size !== 17 && size !== 10) continue;
    const name = fieldText(field);
    if (headerNameIs(name, 'content-length')) length = true;
    else if (headerNameIs(name, 'transfer-encoding')) {
      codings ??= [];
      for (const coding of fieldText(raw[i + 1] as Buffer | string).split(',')) {
        codings.push(coding.trim().toLowerCase());
      }
    } else if (headerNameIs(name, 'connection')) {
      close ||= /(^|,)\s*close\s*(,|$)/i.test(fieldText(raw[i + 1] as Buffer | string));
    }
  }
  if (codings !== undefined) {
    return codings.length === 1 && codings[0] === 'chunked'
      ? undefined
      : `Transfer-Encoding ${codings.join(', ')}: only chunked can be relayed`;
  }
  if (http1 && !length && !close) return 'neither Content-Length nor Transfer-Encoding on a keep-alive connection';
  return undefined;
}

/**
 * Why undici discarded an upstream connection, when the upstream's bytes were not valid HTTP/1.1,
 * or undefined (a normal close). undici's parser errors carry no code, only their name; a response
 * head it cannot place (bytes after a complete response, a `100` nobody asked for) is its
 * `bad response`.
 */
export function brokenResponseReason(err: unknown): string | undefined {
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | null;
  if (typeof e?.message !== 'string') return undefined;
  if (e.name === 'HTTPParserError' || e.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return e.message;
  if (e.code === 'UND_ERR_SOCKET' && e.message === 'bad response') {
    return 'bytes outside any response (more body than Content-Length, or a 100 Continue nobody asked for)';
  }
  return undefined;
}

/** Logs at warn that `backend`'s response was refused (502 to the client, its connection discarded), and why. */
export function logRefusedResponse(logger: Logger, backend: string | undefined, reason: string): void {
  logger.warn({ backend, reason }, 'upstream response refused: not forwarded, connection discarded');
}

/**
 * Relays a `103 Early Hints` from the upstream (RFC 8297), as `response.writeEarlyHints` does: only
 * to an HTTP/1.1 client (1xx must not reach an HTTP/1.0 one), before the final head, with the
 * hop-by-hop fields dropped. Hints are advisory: one Node refuses (a malformed `Link`) is skipped.
 */
export function relayEarlyHints(response: ServerResponse, raw: readonly (Buffer | string)[]): void {
  if (response.headersSent || response.req.httpVersion !== '1.1') return;
  const fields = forwardResponseHeaders(raw, false);
  const hints: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = (fields[i] as string).toLowerCase();
    const value = fields[i + 1] as string;
    const seen = hints[name];
    if (seen === undefined) hints[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else hints[name] = [seen, value];
  }
  // Node writes hints other than Link without checking them; undici's parser already refused
  // CR, LF and NUL in fields, and a value that is an array would be joined wrongly: keep to strings.
  for (const [name, value] of Object.entries(hints)) {
    if (name !== 'link' && Array.isArray(value)) hints[name] = value.join(', ');
  }
  try {
    response.writeEarlyHints(hints);
  } catch {
    // Not a valid Link value for Node: the hint is dropped, the final response is unaffected.
  }
}
