import { connect } from 'node:net';
import { type FaultBackend, startFaultBackend, stopAll } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const started: FaultBackend[] = [];
afterEach(() => stopAll(started.splice(0)));

async function backend(options: Partial<Parameters<typeof startFaultBackend>[0]> = {}): Promise<FaultBackend> {
  const b = await startFaultBackend({ name: 'f1', ...options });
  started.push(b);
  return b;
}

interface Exchange {
  /** Everything received until the backend closed (or the wait ended). */
  readonly text: string;
  /** Milliseconds from the first byte to each later data event. */
  readonly arrivals: number[];
  readonly error: string | undefined;
}

/** Writes `raw` on a fresh connection and collects what comes back until close or `waitMs`. */
function exchange(b: FaultBackend, raw: string, waitMs = 1000): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(b.port, b.host);
    let text = '';
    let first: number | undefined;
    const arrivals: number[] = [];
    let error: string | undefined;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, arrivals, error });
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (d: Buffer) => {
      first ??= performance.now();
      arrivals.push(performance.now() - first);
      text += d.toString('latin1');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code;
    });
    socket.on('close', done);
    socket.write(raw);
  });
}

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;

describe('startFaultBackend', () => {
  it("'ok' answers with X-Backend and records the head exactly as received, keep-alive and pipelined", async () => {
    const b = await backend();
    const got = await exchange(b, GET('/a', 'X-Odd:  v \r\n') + GET('/b', 'Connection: close\r\n'));
    expect(got.text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(got.text).toContain('X-Backend: f1');
    expect(b.requests.map((r) => [r.target, r.indexOnConnection])).toEqual([
      ['/a', 0],
      ['/b', 1],
    ]);
    expect(b.requests[0]?.rawHead).toBe(GET('/a', 'X-Odd:  v \r\n'));
    expect(b.requests[0]?.headers).toContainEqual(['X-Odd', 'v']);
    expect(b.anomalies).toEqual([]);
    expect(b.traffic()).toBe(2);
  });

  it('reads chunked request bodies, and refuses (recording an anomaly) what a strict reader would', async () => {
    const b = await backend();
    await exchange(
      b,
      'POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    expect(b.requests[0]?.body.toString()).toBe('abc');
    const refused = await exchange(
      b,
      'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    expect(refused.text).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(b.anomalies.map((a) => a.reason)).toEqual(['both Content-Length and Transfer-Encoding']);
    await exchange(b, 'GET / HTTP/1.1\nHost: t\r\n\r\n');
    expect(b.anomalies.at(-1)?.reason).toBe('bare LF in head');
  });

  it("'reset' resets every connection on accept; '503' answers 503 but the health path 200", async () => {
    const b = await backend({ mode: 'reset' });
    const reset = await exchange(b, GET('/'));
    expect(reset.error).toBe('ECONNRESET');
    expect(b.connections).toBe(1);
    b.mode = '503';
    expect((await exchange(b, GET('/', 'Connection: close\r\n'))).text).toMatch(/^HTTP\/1\.1 503 /);
    expect((await exchange(b, GET('/healthz', 'Connection: close\r\n'))).text).toMatch(/^HTTP\/1\.1 200 /);
    expect(b.traffic()).toBe(1);
  });

  it("'hang' holds the request unanswered; 'close-on-reuse' drops a connection's second request", async () => {
    const b = await backend({ mode: 'hang' });
    expect((await exchange(b, GET('/'), 200)).text).toBe('');
    b.mode = 'close-on-reuse';
    const reused = await exchange(b, GET('/1') + GET('/2'));
    expect(reused.text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(1);
    expect(b.requests.map((r) => r.target)).toEqual(['/', '/1', '/2']);
  });

  it("'slow-body' sends the second half of the body delayMs after the first", async () => {
    const b = await backend({ mode: 'slow-body', delayMs: 150 });
    const got = await exchange(b, GET('/slow', 'Connection: close\r\n'));
    const length = Number(/Content-Length: (\d+)/.exec(got.text)?.[1]);
    expect(Buffer.byteLength(got.text.slice(got.text.indexOf('\r\n\r\n') + 4))).toBe(length);
    expect(got.arrivals.at(-1)).toBeGreaterThanOrEqual(140);
  });

  it("'truncated-body' closes before the declared length; 'bad-framing' declares both framings", async () => {
    const b = await backend({ mode: 'truncated-body' });
    const truncated = await exchange(b, GET('/t'));
    const declared = Number(/Content-Length: (\d+)/.exec(truncated.text)?.[1]);
    const sent = Buffer.byteLength(truncated.text.slice(truncated.text.indexOf('\r\n\r\n') + 4));
    expect(declared - sent).toBe(16);
    b.mode = 'bad-framing';
    const ambiguous = await exchange(b, GET('/f'));
    expect(ambiguous.text).toMatch(/Content-Length: \d+\r\n/);
    expect(ambiguous.text).toContain('Transfer-Encoding: chunked\r\n');
  });

  it('stop() refuses connections until restart() listens on the same port again', async () => {
    const b = await backend();
    const port = b.port;
    await b.stop();
    expect((await exchange(b, GET('/'))).error).toBe('ECONNREFUSED');
    await b.restart();
    expect(b.port).toBe(port);
    expect((await exchange(b, GET('/', 'Connection: close\r\n'))).text).toMatch(/^HTTP\/1\.1 200 /);
  });
});
