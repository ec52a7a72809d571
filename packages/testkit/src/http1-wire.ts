// A strict HTTP/1.1 request reader for the fault backend: it refuses what an ambiguous-message
// attack relies on (bare LF, obs-fold, duplicate or conflicting framing), so a test can prove the
// proxy never forwards such a message.

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Largest head a strict reader accepts. */
const MAX_HEAD = 64 * 1024;

/** How a request's body is delimited. */
interface Framing {
  readonly kind: 'none' | 'length' | 'chunked';
  readonly length: number;
}

/** The body framing the header fields declare, or why a strict reader would refuse them. */
function framingOf(headers: readonly (readonly [string, string])[]): Framing | string {
  const lengths = headers.filter(([n]) => n.toLowerCase() === 'content-length').map(([, v]) => v);
  const encodings = headers.filter(([n]) => n.toLowerCase() === 'transfer-encoding').map(([, v]) => v);
  if (lengths.length > 0 && encodings.length > 0) return 'both Content-Length and Transfer-Encoding';
  if (encodings.length > 0) {
    const codings = encodings
      .join(',')
      .split(',')
      .map((c) => c.trim().toLowerCase());
    if (codings.length !== 1 || codings[0] !== 'chunked') return `Transfer-Encoding ${encodings.join(', ')}`;
    return { kind: 'chunked', length: 0 };
  }
  if (lengths.length > 1) return `${lengths.length} Content-Length fields`;
  const only = lengths[0];
  if (only === undefined) return { kind: 'none', length: 0 };
  if (!/^[0-9]{1,15}$/.test(only)) return `Content-Length ${JSON.stringify(only)}`;
  return { kind: 'length', length: Number(only) };
}

/** Parses one chunked body from `buf` at `start`; returns the body and the end offset, `undefined` if incomplete, or a reason. */
function readChunked(buf: Buffer, start: number): { body: Buffer; end: number } | string | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (let i = 0; i < 100_000; i++) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) return buf.length - at > 1024 ? 'chunk-size line too long' : undefined;
    const sizeText = buf.subarray(at, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return `chunk size ${JSON.stringify(sizeText)}`;
    const size = Number.parseInt(sizeText, 16);
    at = lineEnd + 2;
    if (size === 0) {
      // Trailer section: lines until an empty one.
      for (let j = 0; j < 100; j++) {
        const end = buf.indexOf('\r\n', at);
        if (end < 0) return undefined;
        if (end === at) return { body: Buffer.concat(parts), end: end + 2 };
        at = end + 2;
      }
      return 'too many trailer lines';
    }
    if (buf.length < at + size + 2) return undefined;
    parts.push(buf.subarray(at, at + size));
    if (buf[at + size] !== 13 || buf[at + size + 1] !== 10) return 'chunk data not followed by CRLF';
    at += size + 2;
  }
  return 'too many chunks';
}

/** Parses a request head (request line and fields, ending in the blank line), or says why a strict reader would refuse it. */
function parseHead(
  raw: string,
): { method: string; target: string; version: string; headers: [string, string][] } | string {
  if (/[^\r]\n/.test(raw) || raw.startsWith('\n')) return 'bare LF in head';
  const lines = raw.slice(0, -4).split('\r\n');
  const [method, target, version, extra] = (lines[0] ?? '').split(' ');
  if (extra !== undefined || method === undefined || !TOKEN.test(method) || !target || version !== 'HTTP/1.1') {
    return `request line ${JSON.stringify(lines[0])}`;
  }
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) return 'obs-fold';
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    if (!TOKEN.test(name)) return `header line ${JSON.stringify(line)}`;
    const value = line.slice(colon + 1).trim();
    if (/[\0\r\n]/.test(value)) return `header value of ${name}`;
    headers.push([name, value]);
  }
  return { method, target, version, headers };
}

/** One request read off the wire. */
export interface WireRequest {
  /** The head exactly as received, up to and including the blank line. */
  readonly rawHead: string;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Header fields in order, names as received. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  /** Offset in the buffer just past this request. */
  readonly end: number;
}

/**
 * Reads the first request in `buf`: the request, `undefined` while it is incomplete, or the reason a
 * strict reader refuses it.
 */
export function readRequest(buf: Buffer): WireRequest | string | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return buf.length > MAX_HEAD ? 'head larger than 64 KiB' : undefined;
  const rawHead = buf.subarray(0, headEnd + 4).toString('latin1');
  const head = parseHead(rawHead);
  if (typeof head === 'string') return head;
  const framing = framingOf(head.headers);
  if (typeof framing === 'string') return framing;
  if (framing.kind === 'chunked') {
    const chunked = readChunked(buf, headEnd + 4);
    if (chunked === undefined || typeof chunked === 'string') return chunked;
    return { rawHead, ...head, body: Buffer.from(chunked.body), end: chunked.end };
  }
  const end = headEnd + 4 + framing.length;
  if (buf.length < end) return undefined;
  return { rawHead, ...head, body: Buffer.from(buf.subarray(headEnd + 4, end)), end };
}
