import { connect } from 'node:net';

/**
 * A bare HTTP/2 client that writes frames by hand, for request heads `node:http2`'s client
 * refuses to send (connection-specific fields, bad pseudo-header fields). Headers are encoded
 * as HPACK literals without indexing and without Huffman coding (RFC 7541 §6.2.2).
 */

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;

/** How the server answered the one stream a {@link sendRawH2} call opened. */
export interface RawH2Outcome {
  /** RST_STREAM error code on stream 1, if the server reset it. */
  readonly rstCode: number | undefined;
  /** GOAWAY error code, if the server closed the connection. */
  readonly goawayCode: number | undefined;
  /** The server answered stream 1 with a HEADERS frame. */
  readonly answered: boolean;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, n: number, first: number): number[] {
  const max = (1 << n) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0)), bytes]);
}

/** The header block of `pairs`, in order, each a literal field without indexing (new name). */
export function hpackBlock(pairs: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of pairs) parts.push(Buffer.from([0]), hpackString(name), hpackString(value));
  return Buffer.concat(parts);
}

/**
 * Connects to `port`, sends the preface, an empty SETTINGS and one HEADERS frame (stream 1,
 * END_STREAM) carrying `pairs`, and reports how the server answered within `timeoutMs`.
 */
export function sendRawH2(
  port: number,
  pairs: readonly (readonly [string, string])[],
  timeoutMs = 5000,
): Promise<RawH2Outcome> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let rstCode: number | undefined;
    let goawayCode: number | undefined;
    let answered = false;
    let buffered = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ rstCode, goawayCode, answered });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('error', (err) => {
      if (rstCode !== undefined || goawayCode !== undefined || answered) done();
      else reject(err);
    });
    socket.on('close', done);
    socket.on('connect', () => {
      socket.write(
        Buffer.concat([
          PREFACE,
          frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0)),
          frame(FRAME_HEADERS, 0x5, 1, hpackBlock(pairs)),
        ]),
      );
    });
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      // Frames are parsed as they complete; at most one pass per frame in the buffer.
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const type = buffered.readUInt8(3);
        const flags = buffered.readUInt8(4);
        const stream = buffered.readUInt32BE(5) & 0x7fffffff;
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        if (type === FRAME_SETTINGS && (flags & 1) === 0) socket.write(frame(FRAME_SETTINGS, 1, 0, Buffer.alloc(0)));
        if (type === FRAME_RST_STREAM && stream === 1) rstCode = payload.readUInt32BE(0);
        if (type === FRAME_GOAWAY) goawayCode = payload.readUInt32BE(4);
        if (type === FRAME_HEADERS && stream === 1) answered = true;
      }
      if (rstCode !== undefined || goawayCode !== undefined || answered) done();
    });
  });
}
