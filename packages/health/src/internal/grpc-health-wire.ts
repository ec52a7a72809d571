// The two messages of grpc.health.v1 and gRPC's length-prefixed message framing, by hand:
// HealthCheckRequest { string service = 1; } and HealthCheckResponse { ServingStatus status = 1; }.
// Protobuf wire format: a key is varint(field << 3 | wireType); wire type 0 is a varint,
// 1 eight bytes, 2 a varint length then that many bytes, 5 four bytes.

/** The serving states of `grpc.health.v1.HealthCheckResponse.ServingStatus`, by number. */
export const SERVING_STATUS_NAMES: readonly string[] = Object.freeze([
  'UNKNOWN',
  'SERVING',
  'NOT_SERVING',
  'SERVICE_UNKNOWN',
]);

/** `SERVING` in `HealthCheckResponse.status`. */
export const SERVING = 1;

/** gRPC's message prefix: one compressed-flag byte and a 4-byte big-endian length. */
const PREFIX_BYTES = 5;

/** The most response bytes a check reads: a health response is 2 bytes plus framing. */
export const MAX_RESPONSE_BYTES = 4096;

/** The names of the gRPC status codes (grpc/doc/statuscodes.md), by number. */
const GRPC_CODE_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** `14 (UNAVAILABLE)`, or just the number for a code outside the list. */
export function grpcCodeName(code: number): string {
  const name = GRPC_CODE_NAMES[code];
  return name === undefined ? String(code) : `${code} (${name})`;
}

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** One framed, uncompressed `HealthCheckRequest` naming `service` (empty: the whole server). */
export function encodeHealthRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  // proto3 leaves a field at its default (the empty string) out of the message.
  const message =
    name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, ...varint(name.length)]), name]);
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** Reads a varint at `at`; `undefined` when it runs past the end or beyond 32 bits of value. */
function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  // A 32-bit value takes at most 5 groups of 7 bits; enum values are int32 on the wire (up to 10 bytes
  // when negative), so up to 10 groups are read and the high ones are ignored.
  for (let i = 0; i < 10; i++) {
    const byte = bytes[at + i];
    if (byte === undefined) return undefined;
    if (i < 5) value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, next: at + i + 1 };
  }
  return undefined;
}

/**
 * The `status` of a framed `HealthCheckResponse` (the whole response body), or a string saying
 * what was wrong with it. Unknown fields are skipped; an absent status is 0 (UNKNOWN), as proto3 says.
 */
export function decodeHealthResponse(body: Buffer): number | string {
  if (body.length < PREFIX_BYTES) return `a truncated gRPC message (${body.length} bytes)`;
  if (body[0] !== 0) return 'a compressed gRPC message (none was accepted)';
  const length = body.readUInt32BE(1);
  if (body.length !== PREFIX_BYTES + length) {
    return `a gRPC message of ${body.length - PREFIX_BYTES} bytes where its prefix says ${length}`;
  }
  const message = body.subarray(PREFIX_BYTES);
  let status = 0;
  let at = 0;
  // Each pass consumes at least one byte, so the loop ends within message.length passes.
  while (at < message.length) {
    const key = readVarint(message, at);
    if (key === undefined) return 'a malformed HealthCheckResponse (bad field key)';
    const field = Math.floor(key.value / 8);
    const wireType = key.value % 8;
    at = key.next;
    if (wireType === 0) {
      const v = readVarint(message, at);
      if (v === undefined) return 'a malformed HealthCheckResponse (bad varint)';
      if (field === 1) status = v.value;
      at = v.next;
    } else if (wireType === 2) {
      const len = readVarint(message, at);
      if (len === undefined || len.next + len.value > message.length) {
        return 'a malformed HealthCheckResponse (bad length)';
      }
      at = len.next + len.value;
    } else if (wireType === 1 || wireType === 5) {
      at += wireType === 1 ? 8 : 4;
      if (at > message.length) return 'a malformed HealthCheckResponse (truncated field)';
    } else {
      return `a malformed HealthCheckResponse (wire type ${wireType})`;
    }
  }
  return status;
}

/** The name of a serving status: `NOT_SERVING`, or `status 7` for one outside the enum. */
export function servingStatusName(status: number): string {
  return SERVING_STATUS_NAMES[status] ?? `status ${status}`;
}
