import { type ClientHttp2Session, constants, type IncomingHttpHeaders } from 'node:http2';
import {
  decodeHealthResponse,
  encodeHealthRequest,
  grpcCodeName,
  MAX_RESPONSE_BYTES,
  SERVING,
  servingStatusName,
} from './grpc-health-wire.js';

const CHECK_PATH = '/grpc.health.v1.Health/Check';

/** What one `Health/Check` call came to: a pass, or a failure with the reason. */
export type HealthAnswer =
  | { readonly ok: true; readonly httpStatus: number }
  | { readonly ok: false; readonly reason: string; readonly httpStatus?: number };

/** What a call needs besides the session. */
export interface HealthCall {
  readonly scheme: 'http' | 'https';
  readonly authority: string;
  readonly service: string;
  /** Sent as `grpc-timeout` (milliseconds). */
  readonly timeoutMs: number;
  /** Cancels the stream (RST_STREAM CANCEL) and rejects with the signal's reason. */
  readonly signal: AbortSignal;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** grpc-message is percent-encoded (gRPC over HTTP/2); a bad escape leaves it as received. */
function decodeMessage(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Sends one unary `grpc.health.v1.Health/Check` on `session` and judges the answer. Resolves with
 * a failed answer for anything the backend said (HTTP status, grpc-status, serving status, a
 * malformed body); rejects on a stream or session error, or when `signal` aborts.
 */
export function callHealth(session: ClientHttp2Session, call: HealthCall): Promise<HealthAnswer> {
  return new Promise<HealthAnswer>((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':scheme': call.scheme,
      ':authority': call.authority,
      ':path': CHECK_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${call.timeoutMs}m`,
      'user-agent': 'switchyard-health',
    });
    let head: IncomingHttpHeaders | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (done: () => void): void => {
      if (settled) return;
      settled = true;
      call.signal.removeEventListener('abort', onAbort);
      done();
    };
    const onAbort = (): void => {
      settle(() => reject(call.signal.reason));
      stream.close(constants.NGHTTP2_CANCEL);
    };
    if (call.signal.aborted) {
      onAbort();
      return;
    }
    call.signal.addEventListener('abort', onAbort, { once: true });
    stream.on('response', (headers) => {
      head = headers;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        settle(() => resolve({ ok: false, reason: `an answer over ${MAX_RESPONSE_BYTES} bytes` }));
        stream.close(constants.NGHTTP2_CANCEL);
        return;
      }
      chunks.push(chunk);
    });
    stream.on('error', (err) => settle(() => reject(err)));
    stream.on('close', () => {
      if (head === undefined) {
        const code = stream.rstCode ?? 0;
        settle(() => reject(new Error(`the backend closed the stream without an answer (HTTP/2 error ${code})`)));
        return;
      }
      const answer = judge(head, trailers, Buffer.concat(chunks));
      settle(() => resolve(answer));
    });
    stream.end(encodeHealthRequest(call.service));
  });
}

/** The verdict on a complete answer: HTTP status, then grpc-status, then the message. */
export function judge(
  head: IncomingHttpHeaders,
  trailers: IncomingHttpHeaders | undefined,
  body: Buffer,
): HealthAnswer {
  const httpStatus = Number(head[':status']);
  if (httpStatus !== 200) return { ok: false, reason: `HTTP status ${httpStatus}`, httpStatus };
  // A trailers-only answer (an error, usually) carries grpc-status in its one HEADERS frame.
  const source = trailers ?? head;
  const grpcStatus = first(source['grpc-status']);
  if (grpcStatus === undefined) return { ok: false, reason: 'no grpc-status in the answer', httpStatus };
  if (grpcStatus !== '0') {
    const message = decodeMessage(first(source['grpc-message']));
    const code = /^\d+$/.test(grpcStatus) ? grpcCodeName(Number(grpcStatus)) : grpcStatus;
    return { ok: false, reason: `grpc-status ${code}${message === '' ? '' : `: ${message}`}`, httpStatus };
  }
  const status = decodeHealthResponse(body);
  if (typeof status === 'string') return { ok: false, reason: `the backend sent ${status}`, httpStatus };
  if (status !== SERVING) return { ok: false, reason: `status ${servingStatusName(status)}`, httpStatus };
  return { ok: true, httpStatus };
}
