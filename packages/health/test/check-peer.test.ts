import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createNetServer, type Socket } from 'node:net';
import { backend, HttpPeer, type HttpPeerInit, isLbError } from '@switchyard/core';
import { type HealthCheck, httpCheck, tcpCheck } from '@switchyard/health';
import { close, generateTestPki, listen } from '@switchyard/testkit';
import { createProxy } from 'proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadPort } from './helpers/backends.js';
import { type RecordingServer, startRecordingServer } from './helpers/recording-server.js';

// Checks take a peer template (Pingora's peer_template): each backend is reached with the
// template's TLS, SNI, proxy, client certificate and options, through the connector traffic uses.

const pki = generateTestPki();
/** A template's address is replaced by each backend's. */
const ANY = '0.0.0.0:1';

function template(tls: boolean, sni = '', init: HttpPeerInit = {}): HttpPeer {
  return new HttpPeer(ANY, tls, sni, init);
}

async function run(check: HealthCheck, server: RecordingServer) {
  try {
    return await check.check(server.backend);
  } finally {
    await check.close?.();
  }
}

describe('a check presents the peer’s client certificate', () => {
  let mtls: RecordingServer;
  beforeAll(async () => {
    mtls = await startRecordingServer({ ...pki.server, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true });
  });
  afterAll(() => mtls.close());

  it('passes against an mTLS backend with clientCertKey, which sees the certificate; fails without it', async () => {
    const withCert = template(true, 'upstream.test', { clientCertKey: pki.client, options: { ca: pki.ca.cert } });
    expect(await run(httpCheck({ peer: withCert }), mtls)).toMatchObject({ ok: true, status: 200 });
    expect(mtls.seen.at(-1)).toMatchObject({ servername: 'upstream.test', clientCn: 'switchyard-client' });

    const count = mtls.seen.length;
    const without = template(true, 'upstream.test', { options: { ca: pki.ca.cert } });
    const refused = await run(httpCheck({ peer: without }), mtls);
    expect(refused.ok).toBe(false);
    // The backend refused the handshake: no connection was established without a certificate.
    expect(mtls.seen.length).toBe(count);
  });
});

describe('a check goes through the peer’s CONNECT proxy', () => {
  const connects: string[] = [];
  const proxyServer = createProxy(createHttpServer());
  proxyServer.on('connect', (req: IncomingMessage) => connects.push(req.url ?? ''));
  proxyServer.authenticate = (req) =>
    req.headers['proxy-authorization'] === `Basic ${Buffer.from('checker:s3cret').toString('base64')}`;
  let proxyPort = 0;
  let plain: RecordingServer;
  let secure: RecordingServer;
  beforeAll(async () => {
    proxyPort = await listen(proxyServer);
    plain = await startRecordingServer();
    secure = await startRecordingServer(pki.server);
  });
  afterAll(async () => {
    await Promise.all([close(proxyServer), plain.close(), secure.close()]);
  });

  it('tcpCheck and httpCheck, plain and TLS, each reach the backend through one CONNECT', async () => {
    const proxy = { uri: `http://checker:s3cret@127.0.0.1:${proxyPort}` };
    const viaProxy = template(false, '', { proxy });
    const tlsViaProxy = template(true, 'upstream.test', { proxy, options: { ca: pki.ca.cert } });
    expect(await run(tcpCheck({ peer: viaProxy }), plain)).toMatchObject({ ok: true });
    expect(await run(httpCheck({ peer: viaProxy }), plain)).toMatchObject({ ok: true, status: 200 });
    expect(await run(httpCheck({ peer: tlsViaProxy }), secure)).toMatchObject({ ok: true, status: 200 });
    expect(connects).toEqual([plain.backend.id, plain.backend.id, secure.backend.id]);
    // Through the proxy, the backend sees the proxy's connection, not the checker's.
    expect(secure.seen.at(-1)?.servername).toBe('upstream.test');
  });

  it('fails when the proxy refuses the tunnel or is down, saying which', async () => {
    const noCredentials = template(false, '', { proxy: { uri: `http://127.0.0.1:${proxyPort}` } });
    const refused = await run(tcpCheck({ peer: noCredentials }), plain);
    expect(refused).toMatchObject({ ok: false });
    expect(refused.reason).toMatch(new RegExp(`proxy 127\\.0\\.0\\.1:${proxyPort} answered CONNECT .* with 407`));
    const down = (await deadPort()).port;
    const dead = template(false, '', { proxy: { uri: `http://127.0.0.1:${down}` } });
    expect(await run(httpCheck({ peer: dead }), plain)).toMatchObject({ ok: false, reason: 'connection refused' });
  });
});

describe('a check binds to the peer’s bindTo', () => {
  let plain: RecordingServer;
  let secure: RecordingServer;
  beforeAll(async () => {
    plain = await startRecordingServer();
    secure = await startRecordingServer(pki.server);
  });
  afterAll(async () => {
    await Promise.all([plain.close(), secure.close()]);
  });

  it('the backend sees 127.0.0.2 as the source of tcpCheck and httpCheck connections', async () => {
    const bound = template(false, '', { options: { bindTo: '127.0.0.2' } });
    expect(await run(tcpCheck({ peer: bound }), plain)).toMatchObject({ ok: true });
    expect(await run(httpCheck({ peer: bound }), plain)).toMatchObject({ ok: true });
    const boundTls = template(true, '', { options: { bindTo: '127.0.0.2', ca: pki.ca.cert } });
    expect(await run(httpCheck({ peer: boundTls }), secure)).toMatchObject({ ok: true });
    expect([...plain.seen, ...secure.seen].map((s) => s.remoteAddress)).toEqual([
      '127.0.0.2',
      '127.0.0.2',
      '127.0.0.2',
    ]);
    // Unbound, the OS picks 127.0.0.1 for a 127.0.0.1 destination: the option made the difference.
    expect(await run(tcpCheck({ peer: template(false) }), plain)).toMatchObject({ ok: true });
    expect(plain.seen.at(-1)?.remoteAddress).toBe('127.0.0.1');
  });
});

describe('a check verifies the hostname as traffic does', () => {
  let secure: RecordingServer;
  beforeAll(async () => {
    secure = await startRecordingServer(pki.server);
  });
  afterAll(() => secure.close());

  const peerFor = (options: HttpPeerInit['options']) =>
    template(true, 'wrong.test', { options: { ca: pki.ca.cert, ...options } });

  it('fails on a name the certificate does not carry, passes on alternativeCn, or without verifyHostname', async () => {
    for (const make of [tcpCheck, httpCheck]) {
      const mismatch = await run(make({ peer: peerFor({}) }), secure);
      expect(mismatch.ok).toBe(false);
      expect(mismatch.reason).toMatch(/^TLS certificate verification failed: .*wrong\.test/);
      expect((await run(make({ peer: peerFor({ alternativeCn: 'upstream.test' }) }), secure)).ok).toBe(true);
      const otherAlternative = await run(make({ peer: peerFor({ alternativeCn: 'other.test' }) }), secure);
      expect(otherAlternative.ok).toBe(false);
      expect(otherAlternative.reason).toMatch(/^TLS certificate verification failed/);
      expect((await run(make({ peer: peerFor({ verifyHostname: false }) }), secure)).ok).toBe(true);
    }
    // Every handshake sent the template's SNI, whatever the verification decided.
    expect(new Set(secure.seen.map((s) => s.servername))).toEqual(new Set(['wrong.test']));
  });

  it('useSystemCerts false with no ca trusts nothing: the check fails verification', async () => {
    const peer = template(true, 'upstream.test', { options: { useSystemCerts: false } });
    const result = await run(httpCheck({ peer }), secure);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/^TLS certificate verification failed/);
  });
});

describe('peer template options', () => {
  it('the peer’s connect timeouts apply to a check, named in its reason', async () => {
    // Accepts TCP, never answers the ClientHello: only a timeout ends the handshake.
    const held: Socket[] = [];
    const silent = createNetServer((socket) => held.push(socket));
    const port = await listen(silent);
    try {
      const peer = template(true, 'upstream.test', { options: { totalConnectionTimeout: 100 } });
      const result = await tcpCheck({ peer, timeoutMs: 5000 }).check(backend(`127.0.0.1:${port}`));
      expect(result).toMatchObject({
        ok: false,
        reason: `timeout: connecting to 127.0.0.1:${port} exceeded totalConnectionTimeout (100 ms)`,
      });
      expect(result.durationMs).toBeLessThan(2000);
    } finally {
      for (const socket of held) socket.destroy();
      await close(silent);
    }
  });

  it('speaks HTTP/2 to a backend when the peer’s alpn offers h2, as the proxy’s pools do', async () => {
    const versions: string[] = [];
    const server = createSecureServer({ ...pki.server, allowHTTP1: true }, (req, res) => {
      versions.push(req.httpVersion);
      res.end('ok');
    });
    const port = await listen(server);
    try {
      const b = backend(`127.0.0.1:${port}`);
      for (const alpn of ['h2', 'h1'] as const) {
        const check = httpCheck({ peer: template(true, 'upstream.test', { options: { ca: pki.ca.cert, alpn } }) });
        expect(await check.check(b)).toMatchObject({ ok: true, status: 200 });
        await check.close?.();
      }
      expect(versions).toEqual(['2.0', '1.1']);
    } finally {
      await close(server);
    }
  });

  it('sends the template’s SNI; an empty one sends none, as traffic does', async () => {
    // httpCheck, not tcpCheck: a response proves the server finished its side of the handshake.
    const secure = await startRecordingServer(pki.server);
    const viaName = backend(`localhost:${secure.port}`);
    const checks = [
      httpCheck({ peer: template(true, 'upstream.test', { options: { ca: pki.ca.cert } }) }),
      httpCheck({ peer: template(true, '', { options: { ca: pki.ca.cert } }) }),
      // The conveniences keep their documented default: the backend's host name as SNI.
      httpCheck({ tls: true, ca: pki.ca.cert }),
    ];
    try {
      for (const check of checks) expect((await check.check(viaName)).ok).toBe(true);
      expect(secure.seen.map((s) => s.servername)).toEqual(['upstream.test', false, 'localhost']);
    } finally {
      await Promise.all(checks.map((c) => c.close?.()));
      await secure.close();
    }
  });

  it('rejects a convenience given beside peer, a peer that is not one, and reset on a TLS peer', () => {
    const peer = template(true, 'upstream.test');
    for (const [field, value] of [
      ['tls', true],
      ['sni', 'x.test'],
      ['ca', pki.ca.cert],
      ['verifyCert', false],
    ] as const) {
      expect(invalid(() => httpCheck({ peer, [field]: value }))).toMatch(
        new RegExp(`^httpCheck ${field}: expected nothing when peer is given`),
      );
      expect(invalid(() => tcpCheck({ peer, [field]: value }))).toMatch(new RegExp(`^tcpCheck ${field}: `));
    }
    expect(invalid(() => tcpCheck({ peer: { address: 'x' } as never }))).toMatch(
      /^tcpCheck peer: expected an HttpPeer/,
    );
    expect(invalid(() => tcpCheck({ peer, reset: true }))).toBe(
      'tcpCheck reset: expected false when the peer uses TLS (a reset is plain TCP only), got true',
    );
    expect(invalid(() => tcpCheck({ ca: 'not pem' }))).toMatch(/^tcpCheck ca: expected a PEM string/);
  });
});

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!isLbError(err) || err.code !== 'LB_ERR_INVALID_OPTION') throw err;
    return err.message;
  }
  throw new Error('expected LB_ERR_INVALID_OPTION, but the call returned');
}
