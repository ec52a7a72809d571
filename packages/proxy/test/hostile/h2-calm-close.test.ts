import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { generateTestPki, type TestBackend, waitFor } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { peer, peersApp } from '../helpers/server-client.js';
import { serverFixtures } from '../helpers/server-fixtures.js';
import { h2Close, h2Connect, h2Request } from '../http2/helpers/h2-client.js';
import { hpackBlock } from '../http2/helpers/raw-h2.js';
import { FRAME, frame, H2_ERROR, pingFlood } from './h2-attacks.js';

// A connection whose budget runs dry is told GOAWAY ENHANCE_YOUR_CALM and closed by the proxy
// itself, over h2c (where the listener read the first bytes to find the preface) as over TLS, also
// while one of its streams is waiting on a backend: tearing that stream down must not trip over the
// session having let go of its socket (which used to throw out of the upstream's error callback and
// leave the connection open).

const { upstream, proxy } = serverFixtures(1000);
const pki = generateTestPki();
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** The bound on "closed at once": the proxy's grace for a connection that does not close (1 s) plus slack for a loaded machine. */
const CLOSED_WITHIN_MS = 5000;

interface Calmed {
  readonly goawayCode: number | undefined;
  /** From the flood's first byte to the client socket's 'close'; undefined if it stayed open. */
  readonly closedAfterMs: number | undefined;
}

/** Opens a stream (GET /slow), waits until `upstream` has it, then sends `pings` PING frames and watches the connection. */
function floodWithStreamOpen(port: number, tls: boolean, backend: TestBackend, pings: number): Promise<Calmed> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tls
      ? tlsConnect({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], rejectUnauthorized: false })
      : connect(port, '127.0.0.1');
    let goawayCode: number | undefined;
    let buffered = Buffer.alloc(0);
    let floodAt = 0;
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ goawayCode, closedAfterMs: undefined });
    }, CLOSED_WITHIN_MS + 5000);
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const type = buffered.readUInt8(3);
        if (type === FRAME.SETTINGS && (buffered.readUInt8(4) & 1) === 0) socket.write(frame(FRAME.SETTINGS, 1, 0));
        if (type === FRAME.GOAWAY) goawayCode ??= buffered.readUInt32BE(13);
        buffered = buffered.subarray(9 + length);
      }
    });
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ goawayCode, closedAfterMs: floodAt === 0 ? undefined : performance.now() - floodAt });
    });
    socket.once(tls ? 'secureConnect' : 'connect', async () => {
      const get = hpackBlock([
        [':method', 'GET'],
        [':scheme', tls ? 'https' : 'http'],
        [':path', '/slow'],
        [':authority', 'calm.test'],
      ]);
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0), frame(FRAME.HEADERS, 0x5, 1, get)]));
      try {
        await waitFor('the stream at the backend', () => backend.requests.some((r) => r.url === '/slow'), 5000);
      } catch (err) {
        socket.destroy();
        reject(err);
        return;
      }
      floodAt = performance.now();
      socket.write(Buffer.concat(pingFlood(pings)));
    });
  });
}

describe('a connection over its budget is closed by the proxy', { timeout: 30_000 }, () => {
  for (const tls of [false, true]) {
    it(`${tls ? 'h2 over TLS' : 'h2c'}: a PING flood with a stream waiting on the backend — GOAWAY ENHANCE_YOUR_CALM, the socket closed, the proxy still serves`, async () => {
      const u = await upstream({ delayMs: 3000 });
      const { port } = await proxy(
        peersApp([peer(u.id)]),
        tls
          ? { tls: { cert: pki.server.cert, key: pki.server.key }, accessLog: false }
          : { h2c: true, accessLog: false },
      );
      // 300 PINGs: past the budget (100 at once), short of nghttp2's own flood limit.
      const calmed = await floodWithStreamOpen(port, tls, u, 300);
      expect(calmed.goawayCode).toBe(H2_ERROR.ENHANCE_YOUR_CALM);
      expect(calmed.closedAfterMs).toBeDefined();
      expect(calmed.closedAfterMs).toBeLessThan(CLOSED_WITHIN_MS);
      const s = await h2Connect(
        tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
        tls ? pki.ca.cert : undefined,
      );
      try {
        u.delayMs = 0;
        expect((await h2Request(s, { ':path': '/after' })).status).toBe(200);
      } finally {
        await h2Close(s);
      }
    });
  }
});
