import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';

/**
 * The connection under a downstream HTTP/2 session. `session.socket` is a proxy that throws
 * (`ERR_HTTP2_SOCKET_UNBOUND`) as soon as the session has let go of its socket, which happens
 * while streams are still being torn down: whatever outlives the session (a stream's relay, the
 * access log, the close of a flooded connection) holds the real socket, bound here when the
 * listener hands the connection over.
 */

const kSocket = Symbol('switchyard.h2Socket');

type Bound = Http2Session & { [kSocket]?: Socket };

/** Records `socket` (TCP, or TLS after ALPN `h2`) as the connection under `session`. */
export function bindSessionSocket(session: Http2Session, socket: Socket): void {
  (session as Bound)[kSocket] = socket;
}

/**
 * The connection under `session`: the socket bound by {@link bindSessionSocket}, else (a session
 * this listener did not make) the session's own socket proxy while it still has one.
 */
export function sessionSocket(session: Http2Session | undefined): Socket | undefined {
  if (session === undefined) return undefined;
  const bound = (session as Bound)[kSocket];
  if (bound !== undefined) return bound;
  return session.destroyed ? undefined : (session.socket as Socket);
}
