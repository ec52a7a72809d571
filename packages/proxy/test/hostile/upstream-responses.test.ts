import { HttpPeer } from '@switchyard/core';
import { createProxyServer, type ProxyServer } from '@switchyard/proxy';
import { type FaultBackend, type RawAnswer, startFaultBackend, waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { headerValues, rawExchange } from '../helpers/raw-client.js';
import { captureLogger } from '../helpers/server-client.js';

// Hostile upstream responses, written byte for byte by a raw TCP backend. None may reach the
// client as a response of its own making: the client gets a 502, the upstream connection is
// discarded (the next request arrives on a new connection) and the log says why.

const OK: RawAnswer = { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' };

interface Rig {
  readonly backend: FaultBackend;
  readonly proxy: ProxyServer;
  readonly port: number;
  readonly lines: string[];
}

let rig: Rig | undefined;

afterEach(async () => {
  await rig?.proxy.close({ deadlineMs: 500 });
  await rig?.backend.stop();
  rig = undefined;
});

async function start(first: RawAnswer): Promise<Rig> {
  let answered = 0;
  const backend = await startFaultBackend({
    name: 'hostile',
    mode: 'raw',
    rawResponse: () => (answered++ === 0 ? first : OK),
  });
  const { logger, lines } = captureLogger();
  const proxy = createProxyServer(
    { upstreamPeer: () => new HttpPeer(backend.id, false, '', { options: { readTimeout: 3000 } }) },
    { logger, maxAttempts: 1 },
  );
  const { port } = await proxy.listen(0);
  rig = { backend, proxy, port, lines };
  return rig;
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: proxy.test\r\n\r\n`;

/** The reason logged for a refused response, or undefined. */
function refusal(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const parsed = JSON.parse(line) as { msg?: string; reason?: string };
    if (parsed.msg?.startsWith('upstream response refused') === true) return parsed.reason;
  }
  return undefined;
}

const HOSTILE: readonly (readonly [name: string, bytes: string, reason: RegExp])[] = [
  [
    'both Content-Length and Transfer-Encoding',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    /Content-Length|Transfer-Encoding/i,
  ],
  [
    'Transfer-Encoding before Content-Length',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    /Content-Length|Transfer-Encoding/i,
  ],
  [
    'two different Content-Lengths',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    /Content-Length/i,
  ],
  ['a Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!', /Content-Length|invalid/i],
  ['a four-digit status', 'HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nhello', /status/i],
  ['a status line that is not HTTP', 'HTTX/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', /HTTP/],
  ['CR inside a header value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 5\r\n\r\nhello', /header value/],
  [
    'bare LF inside a header value',
    'HTTP/1.1 200 OK\r\nX-A: a\nb: c\r\nContent-Length: 5\r\n\r\nhello',
    /header value/,
  ],
  ['NUL inside a header value', 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 5\r\n\r\nhello', /header value/],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 5\r\n\r\nhello', /whitespace/],
  [
    'no framing on a keep-alive connection',
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello',
    /neither Content-Length nor Transfer-Encoding/,
  ],
  ['a transfer coding other than chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello', /gzip/],
  [
    'a coding before chunked',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    /gzip/,
  ],
];

describe('hostile upstream responses are not forwarded', { timeout: 20_000 }, () => {
  for (const [name, bytes, reason] of HOSTILE) {
    it(`${name} → 502, the connection discarded, a reason logged`, async () => {
      const { backend, port, lines } = await start({ bytes });
      const first = await rawExchange(port, GET('/hostile'));
      expect(first.invalid, first.raw.toString('latin1')).toBeUndefined();
      expect(first.responses.map((r) => r.status)).toEqual([502]);
      expect(first.responses[0]?.body.toString()).toMatch(/upstream error/);
      expect(first.raw.toString('latin1')).not.toMatch(/hello/);
      await waitFor('the reason in the log', () => refusal(lines) !== undefined, 3000);
      expect(refusal(lines)).toMatch(reason);

      const next = await rawExchange(port, GET('/next'));
      expect(next.responses.map((r) => [r.status, r.body.toString()])).toEqual([[200, 'ok']]);
      const [a, b] = backend.requests;
      expect(a?.target).toBe('/hostile');
      expect(b?.target).toBe('/next');
      // Never reused: the next request came on a new upstream connection.
      expect(b?.connection).not.toBe(a?.connection);
    });
  }

  it('more body than Content-Length: exactly the declared bytes go out, the connection is discarded, a reason logged', async () => {
    // The response is complete at its declared length before the excess arrives, so it is
    // forwarded as declared (as nginx and HAProxy do); the excess is never sent to anyone.
    const { backend, port, lines } = await start({ bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA' });
    const first = await rawExchange(port, GET('/hostile'));
    expect(first.responses.map((r) => [r.status, r.body.toString()])).toEqual([[200, 'hello']]);
    expect(first.raw.toString('latin1')).not.toMatch(/EXTRA/);
    await waitFor('the reason in the log', () => refusal(lines) !== undefined, 3000);
    expect(refusal(lines)).toMatch(/more body than Content-Length/);
    const next = await rawExchange(port, GET('/next'));
    expect(next.responses.map((r) => [r.status, r.body.toString()])).toEqual([[200, 'ok']]);
    expect(backend.requests[1]?.connection).not.toBe(backend.requests[0]?.connection);
  });

  it('a framed keep-alive response is reused (the checks above are not vacuous)', async () => {
    const { backend, port, lines } = await start(OK);
    for (const path of ['/a', '/b']) {
      const reply = await rawExchange(port, GET(path));
      expect(reply.responses.map((r) => r.status)).toEqual([200]);
    }
    expect(backend.requests.map((r) => r.connection)).toEqual([1, 1]);
    expect(refusal(lines)).toBeUndefined();
  });

  it('close-delimited with Connection: close is relayed whole', async () => {
    const { port } = await start({
      bytes: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello until close',
      close: true,
    });
    const reply = await rawExchange(port, GET('/'));
    expect(reply.responses.map((r) => [r.status, r.body.toString()])).toEqual([[200, 'hello until close']]);
  });
});

describe('informational responses', { timeout: 20_000 }, () => {
  it('103 Early Hints reaches an HTTP/1.1 client before the final response, hop-by-hop fields dropped', async () => {
    const { port } = await start({
      bytes:
        'HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload; as=style\r\nConnection: x-hop\r\nX-Hop: 1\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    });
    const reply = await rawExchange(port, GET('/'), { responses: 2 });
    expect(reply.invalid, reply.raw.toString('latin1')).toBeUndefined();
    expect(reply.responses.map((r) => r.status)).toEqual([103, 200]);
    const hints = reply.responses[0];
    expect(headerValues(hints?.headers ?? [], 'link')).toEqual(['</app.css>; rel=preload; as=style']);
    expect(headerValues(hints?.headers ?? [], 'connection')).toEqual([]);
    expect(reply.responses[1]?.body.toString()).toBe('hello');
  });

  it('103 is not sent to an HTTP/1.0 client', async () => {
    const { port } = await start({
      bytes:
        'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    });
    const reply = await rawExchange(port, 'GET / HTTP/1.0\r\nHost: proxy.test\r\n\r\n');
    expect(reply.raw.toString('latin1')).not.toMatch(/103/);
    expect(reply.raw.toString('latin1')).toMatch(/^HTTP\/1.1 200 OK/);
  });

  it('Expect: 100-continue gets exactly one 100, then the final response; without Expect, no 100', async () => {
    const { port, backend } = await start(OK);
    const expecting = await rawExchange(
      port,
      ['POST /up HTTP/1.1\r\nHost: proxy.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n', 'hello'],
      { responses: 2 },
    );
    expect(expecting.responses.map((r) => r.status)).toEqual([100, 200]);
    expect(backend.requests[0]?.body.toString()).toBe('hello');
    const plain = await rawExchange(port, 'POST /up HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: 5\r\n\r\nhello');
    expect(plain.responses.map((r) => r.status)).toEqual([200]);
    expect(plain.raw.toString('latin1')).not.toMatch(/100 Continue/);
  });
});
