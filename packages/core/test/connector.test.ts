import { createServer as createNetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { connectPeer, createConnector, HttpPeer, type HttpPeerInit, isLbError, type LbError } from '@switchyard/core';
import { close, generateTestPki, listen } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The one connector, tested against real loopback servers: proxy pools and health checks both use it.

const pki = generateTestPki();

/** A TCP server that accepts and stays silent, recording each connection's source address. */
const silent = createNetServer((socket) => {
  sources.push(socket.remoteAddress);
  held.push(socket);
});
const sources: (string | undefined)[] = [];
const held: Socket[] = [];
/** A TLS server offering h2 and http/1.1, recording the SNI and ALPN of each handshake. */
const secure = createTlsServer({ ...pki.server, ALPNProtocols: ['h2', 'http/1.1'] }, (socket: TLSSocket) => {
  handshakes.push({ servername: socket.servername, alpn: socket.alpnProtocol });
  socket.end();
});
const handshakes: { servername: string | false | null | undefined; alpn: string | false | null }[] = [];
let silentPort = 0;
let securePort = 0;
beforeAll(async () => {
  silentPort = await listen(silent);
  securePort = await listen(secure);
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await Promise.all([close(silent), close(secure)]);
});

async function failure(promise: Promise<unknown>): Promise<LbError> {
  try {
    await promise;
  } catch (err) {
    if (isLbError(err)) return err;
    throw err;
  }
  throw new Error('expected the connect to fail');
}

const tlsPeer = (sni: string, init: HttpPeerInit = {}) =>
  new HttpPeer(`127.0.0.1:${securePort}`, true, sni, { ...init, options: { ca: pki.ca.cert, ...init.options } });

describe('connectPeer', () => {
  it('connects over TCP from bindTo, and re-reads options changed with setOptions', async () => {
    const peer = new HttpPeer(`127.0.0.1:${silentPort}`, false, '', { options: { bindTo: '127.0.0.2' } });
    (await connectPeer(peer)).destroy();
    peer.setOptions({ bindTo: '127.0.0.3' });
    (await connectPeer(peer)).destroy();
    peer.options.bindTo = '127.0.0.4';
    (await connectPeer(peer)).destroy();
    await waitFor(() => sources.length >= 3);
    expect(sources.slice(-3)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  });

  it('rebuilds the TLS settings when an option they come from is assigned', async () => {
    const peer = tlsPeer('upstream.test', { options: { ca: pki.otherCa.cert, useSystemCerts: false } });
    const connect = createConnector(peer);
    const viaConnector = () =>
      new Promise<Socket>((resolve, reject) =>
        connect({}, (err, s) => (err === null && s !== null ? resolve(s) : reject(err))),
      );
    expect((await failure(connectPeer(peer))).code).toBe('LB_ERR_TLS_HANDSHAKE');
    expect((await failure(viaConnector())).code).toBe('LB_ERR_TLS_HANDSHAKE');
    peer.options.ca = pki.ca.cert;
    (await connectPeer(peer)).destroy();
    (await viaConnector()).destroy();
  });

  it('completes TLS with the SNI and the ALPN of the peer; an empty SNI sends none', async () => {
    const before = handshakes.length;
    const h2 = (await connectPeer(tlsPeer('upstream.test', { options: { alpn: 'h2h1' } }))) as TLSSocket;
    expect(h2.alpnProtocol).toBe('h2');
    await closedByServer(h2);
    const h1 = (await connectPeer(tlsPeer(''))) as TLSSocket;
    expect(h1.alpnProtocol).toBe('http/1.1');
    await closedByServer(h1);
    expect(handshakes.slice(before)).toEqual([
      { servername: 'upstream.test', alpn: 'h2' },
      { servername: false, alpn: 'http/1.1' },
    ]);
  });

  it('fails the handshake on an untrusted chain or a wrong name, passes on alternativeCn', async () => {
    const untrusted = await failure(
      connectPeer(tlsPeer('upstream.test', { options: { ca: pki.otherCa.cert, useSystemCerts: false } })),
    );
    expect(untrusted.code).toBe('LB_ERR_TLS_HANDSHAKE');
    const wrong = await failure(connectPeer(tlsPeer('wrong.test')));
    expect(wrong.code).toBe('LB_ERR_TLS_HANDSHAKE');
    expect((wrong.cause as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    (await connectPeer(tlsPeer('wrong.test', { options: { alternativeCn: 'localhost' } }))).destroy();
    (await connectPeer(tlsPeer('wrong.test', { options: { verifyCert: false } }))).destroy();
  });

  it('names the limit that fired: totalConnectionTimeout, or the caller’s timeoutMs', async () => {
    // The silent server accepts TCP but never answers the ClientHello.
    const hung = (options: NonNullable<HttpPeerInit['options']>) =>
      new HttpPeer(`127.0.0.1:${silentPort}`, true, '', { options });
    const total = await failure(connectPeer(hung({ totalConnectionTimeout: 100 })));
    expect([total.code, total.message]).toEqual([
      'LB_ERR_CONNECT_TIMEOUT',
      `connecting to 127.0.0.1:${silentPort} exceeded totalConnectionTimeout (100 ms)`,
    ]);
    const capped = await failure(connectPeer(hung({}), { timeoutMs: 100 }));
    expect(capped.message).toBe(`connecting to 127.0.0.1:${silentPort} exceeded the caller's limit (100 ms)`);
  });

  it('rejects with LB_ERR_CONNECT_FAILED on a refused port, and when aborted', async () => {
    const spare = createNetServer();
    const port = await listen(spare);
    await close(spare);
    const refused = await failure(connectPeer(new HttpPeer(`127.0.0.1:${port}`, false)));
    expect([refused.code, (refused.cause as { code?: string }).code]).toEqual([
      'LB_ERR_CONNECT_FAILED',
      'ECONNREFUSED',
    ]);
    const controller = new AbortController();
    const pending = connectPeer(new HttpPeer(`127.0.0.1:${silentPort}`, true), { signal: controller.signal });
    controller.abort(new Error('stop'));
    const aborted = await failure(pending);
    expect([aborted.code, aborted.message]).toEqual([
      'LB_ERR_CONNECT_FAILED',
      `connecting to 127.0.0.1:${silentPort} was aborted`,
    ]);
  });
});

describe('createConnector', () => {
  it('has undici’s connect signature and hands back the connected socket', async () => {
    const connect = createConnector(tlsPeer('upstream.test'));
    const socket = await new Promise<Socket>((resolve, reject) =>
      connect({}, (err, s) => (err === null && s !== null ? resolve(s) : reject(err))),
    );
    expect((socket as TLSSocket).authorized).toBe(true);
    socket.destroy();
  });
});

/** Resolves once the server has ended `socket` (so it has recorded the handshake first). */
function closedByServer(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.resume();
  });
}

/** Polls `done` every 10 ms, at most 200 times (2 s). */
async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(done()).toBe(true);
}
