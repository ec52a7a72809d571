import { constants } from 'node:http2';

/**
 * The errors an HTTP/2 upstream stream ends with, coded so that the retry decision
 * (`failureKind` in retry-decision.ts) classifies them as it does undici's:
 * - a stream the upstream refused before processing it (`RST_STREAM REFUSED_STREAM`, or a
 *   stream above a GOAWAY's last stream id, which nghttp2 closes the same way) is `refused`:
 *   nothing of it was processed, so it may be sent again whatever its method;
 * - a stream whose session died under it (socket reset or closed, GOAWAY with an error code)
 *   is `dropped`, like an HTTP/1.1 connection reset;
 * - `readTimeout` before the response head or between body chunks is a headers or body timeout.
 */

/** Code of a stream the upstream refused unprocessed (RFC 9113 §8.7: safe to send again). */
export const H2_REFUSED_CODE = 'H2_REFUSED_STREAM';
/** Code of a stream whose session died under it (one of the codes `failureKind` calls dropped). */
export const H2_DROPPED_CODE = 'ECONNRESET';
/** Code of a stream the upstream reset with an error code other than REFUSED_STREAM. */
export const H2_RESET_CODE = 'ERR_HTTP2_STREAM_ERROR';

/** An `Error` carrying `code`, and `cause` when given. */
export function codedError(code: string, message: string, cause?: unknown): Error & { code: string } {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as Error & { code: string };
  err.code = code;
  return err;
}

/** The `readTimeout` expired before the response head (`head`) or between two body chunks. */
export function timeoutError(head: boolean, ms: number): Error {
  return head
    ? codedError('UND_ERR_HEADERS_TIMEOUT', `no response head from the upstream within ${ms} ms`)
    : codedError('UND_ERR_BODY_TIMEOUT', `no response body data from the upstream within ${ms} ms`);
}

/**
 * The error of a stream that closed before its response was complete. `rstCode`: the stream's
 * RST_STREAM code; `err`: what Node reported on the stream (if anything); `sessionGone`: its session
 * was destroyed or lost its socket.
 */
export function streamCloseError(rstCode: number | undefined, err: unknown, sessionGone: boolean): Error {
  if (rstCode === constants.NGHTTP2_REFUSED_STREAM) {
    return codedError(H2_REFUSED_CODE, 'the upstream refused the stream before processing it', err);
  }
  const code = (err as { code?: unknown } | null | undefined)?.code;
  // A stream error names the RST_STREAM the upstream sent; anything else came from the session.
  if (code === 'ERR_HTTP2_STREAM_ERROR') {
    return codedError(H2_RESET_CODE, `the upstream reset the stream (code ${rstCode ?? 'unknown'})`, err);
  }
  if (err !== undefined && err !== null) {
    return codedError(H2_DROPPED_CODE, 'the upstream HTTP/2 session failed under the stream', err);
  }
  if (sessionGone) return codedError(H2_DROPPED_CODE, 'the upstream HTTP/2 session closed under the stream');
  return codedError(H2_RESET_CODE, `the upstream closed the stream before the response ended (code ${rstCode})`);
}
