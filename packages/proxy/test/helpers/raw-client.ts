import { connect, type Socket } from 'node:net';

/** One HTTP/1.1 response read off the wire. */
export interface RawResponse {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

/** The outcome of reading responses: what parsed, and why the rest did not. */
export interface ParsedResponses {
  readonly responses: readonly RawResponse[];
  /** Set when the bytes are not a sequence of valid HTTP/1.1 responses (trailing partial data included). */
  readonly invalid?: string;
}

/** What a raw exchange produced. */
export interface RawExchange extends ParsedResponses {
  readonly raw: Buffer;
  /** The proxy closed the connection (FIN or RST) before `timeoutMs`. */
  readonly closed: boolean;
  /** A socket error such as ECONNRESET, if any. */
  readonly error?: string;
  readonly elapsedMs: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Case-insensitive header lookup: every value of `name`. */
export function headerValues(headers: readonly (readonly [string, string])[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/**
 * Parses `raw` strictly as a sequence of HTTP/1.1 responses. `closed` says whether the peer
 * closed the connection (a body delimited by close is then complete). `headRequest` marks
 * responses without a body.
 */
export function parseResponses(raw: Buffer, closed: boolean, headRequest = false): ParsedResponses {
  const responses: RawResponse[] = [];
  let at = 0;
  for (let guard = 0; guard < 1000 && at < raw.length; guard++) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd < 0)
      return {
        responses,
        invalid: `incomplete head: ${JSON.stringify(raw.subarray(at, at + 200).toString('latin1'))}`,
      };
    const head = raw.subarray(at, headEnd).toString('latin1');
    if (/[^\r]\n/.test(head)) return { responses, invalid: 'bare LF in response head' };
    const [statusLine = '', ...lines] = head.split('\r\n');
    const match = /^(HTTP\/1\.[01]) ([1-5][0-9]{2}) ([\t -~\x80-\xff]*)$/.exec(statusLine);
    if (match === null) return { responses, invalid: `status line ${JSON.stringify(statusLine)}` };
    const headers: [string, string][] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = colon < 0 ? '' : line.slice(0, colon);
      if (!TOKEN.test(name)) return { responses, invalid: `header line ${JSON.stringify(line)}` };
      headers.push([name, line.slice(colon + 1).trim()]);
    }
    const status = Number(match[2]);
    const lengths = headerValues(headers, 'content-length');
    const encodings = headerValues(headers, 'transfer-encoding');
    if (lengths.length > 0 && encodings.length > 0) return { responses, invalid: 'response with CL and TE' };
    if (new Set(lengths).size > 1) return { responses, invalid: 'response with differing Content-Length' };
    let bodyStart = headEnd + 4;
    let body: Buffer;
    if (headRequest || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = Buffer.alloc(0);
    } else if (encodings.length > 0) {
      const parts: Buffer[] = [];
      let done = false;
      for (let i = 0; i < 100_000 && !done; i++) {
        const lineEnd = raw.indexOf('\r\n', bodyStart);
        if (lineEnd < 0) return { responses, invalid: 'incomplete chunked body' };
        const size = Number.parseInt(raw.subarray(bodyStart, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
        if (!Number.isFinite(size)) return { responses, invalid: 'bad chunk size in response' };
        bodyStart = lineEnd + 2;
        if (size === 0) {
          const end = raw.indexOf('\r\n\r\n', bodyStart - 2);
          if (end < 0) return { responses, invalid: 'incomplete chunked trailer' };
          bodyStart = end + 4;
          done = true;
        } else {
          parts.push(raw.subarray(bodyStart, bodyStart + size));
          bodyStart += size + 2;
        }
      }
      body = Buffer.concat(parts);
    } else if (lengths.length > 0) {
      const length = Number(lengths[0]);
      if (!Number.isSafeInteger(length) || length < 0) return { responses, invalid: 'bad Content-Length in response' };
      if (raw.length < bodyStart + length) return { responses, invalid: 'truncated response body' };
      body = raw.subarray(bodyStart, bodyStart + length);
      bodyStart += length;
    } else {
      if (!closed) return { responses, invalid: 'response without framing on an open connection' };
      body = raw.subarray(bodyStart);
      bodyStart = raw.length;
    }
    responses.push({ version: match[1] ?? '', status, reason: match[3] ?? '', headers, body });
    at = bodyStart;
  }
  return { responses };
}

export interface RawOptions {
  readonly host?: string;
  /** Give up waiting for the peer after this long, ms. @defaultValue 3000 */
  readonly timeoutMs?: number;
  /** Stop reading once this many complete responses arrived. @defaultValue 1 */
  readonly responses?: number;
  readonly headRequest?: boolean;
  /** Half-close (FIN) after writing, so the peer knows no more bytes follow. @defaultValue false */
  readonly end?: boolean;
}

/**
 * Opens a TCP connection to `port`, writes `payload` (or each piece, in order, when given an
 * array) and reads until the peer closes, `responses` complete responses arrived, or
 * `timeoutMs` passed.
 */
export function rawExchange(
  port: number,
  payload: string | Buffer | readonly (string | Buffer)[],
  options: RawOptions = {},
): Promise<RawExchange> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const wanted = options.responses ?? 1;
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let finished = false;
    const socket: Socket = connect({ port, host: options.host ?? '127.0.0.1', noDelay: true });
    const finish = (closed: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const parsed = parseResponses(raw, closed, options.headRequest ?? false);
      resolve({ ...parsed, raw, closed, ...(error === undefined ? {} : { error }), elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const parsed = parseResponses(Buffer.concat(chunks), false, options.headRequest ?? false);
      if (parsed.invalid === undefined && parsed.responses.length >= wanted) finish(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      const pieces = Array.isArray(payload) ? payload : [payload];
      for (const piece of pieces) socket.write(piece);
      if (options.end === true) socket.end();
    });
  });
}

/**
 * Opens `count` connections that send nothing, `batch` at a time. Resolves once all are open
 * (or failed); returns them with the number that failed to connect.
 */
export async function openIdleConnections(
  port: number,
  count: number,
  options: { host?: string; batch?: number; timeoutMs?: number } = {},
): Promise<{ sockets: Socket[]; failed: number; closedEarly: () => number }> {
  const batch = options.batch ?? 500;
  const sockets: Socket[] = [];
  let failed = 0;
  let closed = 0;
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    const opened = await Promise.all(
      Array.from(
        { length: size },
        () =>
          new Promise<Socket | undefined>((resolve) => {
            const socket = connect({ port, host: options.host ?? '127.0.0.1' });
            const timer = setTimeout(() => {
              socket.destroy();
              resolve(undefined);
            }, options.timeoutMs ?? 5000);
            socket.once('connect', () => {
              clearTimeout(timer);
              resolve(socket);
            });
            socket.once('error', () => {
              clearTimeout(timer);
              resolve(undefined);
            });
          }),
      ),
    );
    for (const socket of opened) {
      if (socket === undefined) failed++;
      else {
        socket.on('error', () => {});
        socket.on('close', () => closed++);
        // Read (and drop) whatever comes, so the peer's FIN is noticed and 'close' fires.
        socket.resume();
        sockets.push(socket);
      }
    }
  }
  return { sockets, failed, closedEarly: () => closed };
}

/** A minimal valid GET head. */
export function getHead(path = '/', extra: readonly string[] = [], host = 'proxy.test'): string {
  return [`GET ${path} HTTP/1.1`, `Host: ${host}`, ...extra, '', ''].join('\r\n');
}
