import { constants, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { encodeGrpcMessage, fieldPairs, GRPC_CODES } from './grpc-call.js';
import type { H2Downstream } from './h2-downstream.js';
import { abandonResponse, endWithTrailers, responseEnded } from './h2-writer.js';

/**
 * `headersTimeout` and `requestTimeout` for HTTP/2, with Node's HTTP/1.1 meaning carried over to
 * streams (0 turns either off, as for HTTP/1.1):
 *
 * - `headersTimeout`: a connection must complete its first request head (HEADERS, with any
 *   CONTINUATION) within it once it is an HTTP/2 session (after the preface on h2c, after ALPN on
 *   TLS); otherwise the session is closed (GOAWAY).
 * - `requestTimeout`: a stream's request must have arrived whole (the client's END_STREAM) within
 *   it, counted from its HEADERS, as Node bounds receiving a whole HTTP/1.1 request. On expiry a
 *   stream answered nothing yet gets `408` (and RST_STREAM NO_ERROR for the unread rest); one
 *   whose response started is reset (CANCEL). The upstream attempt is cancelled either way.
 * - A gRPC call's request stream is as long as the call (client-streaming and bidirectional calls
 *   run for hours), so for gRPC `requestTimeout` is an idle bound instead, as Envoy's
 *   `stream_idle_timeout`: the call is ended when nothing moved on the stream in either direction
 *   for that long while its request is still open. It is answered in gRPC's terms: `grpc-status`
 *   4 DEADLINE_EXCEEDED (trailers-only, or as trailers after the response head), then RST_STREAM
 *   NO_ERROR. A call whose client finished sending (unary, server-streaming) is not bounded here.
 */

/** How long a gRPC call ended by the idle bound may take to flush its trailers before it is reset, ms. */
const TRAILERS_GRACE_MS = 1000;

/** Closes `session` unless its first request head arrives within `headersTimeout` ms (0: never). */
export function boundFirstHeaders(session: ServerHttp2Session, headersTimeout: number): void {
  if (headersTimeout <= 0) return;
  const timer = setTimeout(() => {
    if (!session.destroyed) session.destroy();
  }, headersTimeout);
  timer.unref();
  const clear = () => clearTimeout(timer);
  session.once('stream', clear);
  session.once('close', clear);
}

/** Bounds how long the request of `downstream`'s stream may take to arrive (see the module doc). */
export function boundRequest(downstream: H2Downstream, requestTimeout: number, grpc: boolean): void {
  const stream = downstream.stream;
  // A request whose HEADERS frame ended the stream has fully arrived.
  if (requestTimeout <= 0 || stream.endAfterHeaders) return;
  if (grpc) {
    // Node's stream timeout: refreshed by every read and write on the stream.
    stream.setTimeout(requestTimeout, () => {
      if (requestArrived(stream)) stream.setTimeout(0);
      else expire(downstream, true, requestTimeout);
    });
    return;
  }
  const timer = setTimeout(() => {
    if (!requestArrived(stream)) expire(downstream, false, requestTimeout);
  }, requestTimeout);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
}

/** The client has sent END_STREAM (or the stream is gone): nothing more to wait for. */
function requestArrived(stream: ServerHttp2Stream): boolean {
  if (stream.destroyed || stream.closed) return true;
  return stream.state.remoteClose === 1;
}

function expire(downstream: H2Downstream, grpc: boolean, ms: number): void {
  const stream = downstream.stream;
  if (stream.destroyed || stream.closed) return;
  if (grpc) {
    const fields = {
      'grpc-status': String(GRPC_CODES.DEADLINE_EXCEEDED),
      'grpc-message': encodeGrpcMessage(`switchyard: request timeout: the call was idle for ${ms} ms`),
    };
    if (!stream.headersSent) {
      // Trailers-only: the status in the HEADERS frame that ends the stream.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...fields }, { endStream: true });
      stream.destroy();
    } else if (responseEnded(downstream)) {
      stream.destroy();
    } else {
      // The trailers go out once the queued data is out ('wantTrailers'): the reset follows them.
      // A client that reads nothing more is reset anyway.
      stream.once('wantTrailers', () => setImmediate(() => stream.destroy()));
      const cut = setTimeout(() => stream.destroy(), TRAILERS_GRACE_MS);
      cut.unref();
      stream.once('close', () => clearTimeout(cut));
      endWithTrailers(downstream, fieldPairs(fields));
    }
  } else if (stream.headersSent) {
    stream.close(constants.NGHTTP2_CANCEL);
  } else {
    stream.respond({ ':status': 408, 'content-length': '0' }, { endStream: true });
    // RFC 9113 §8.1: a complete response, then RST_STREAM NO_ERROR asks the client to stop sending.
    stream.destroy();
  }
  // Then the exchange learns its client is gone (its upstream attempt is cancelled): the stream is
  // closed already, so nothing it still does reaches the client.
  abandonResponse(stream);
}
