import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { HttpPeer, type PeerOptions } from '@switchyard/core';
import { close, generateTestPki, listen, type TestPki } from '@switchyard/testkit';
import { createProxy } from 'proxy';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { captureLogger, peer, peersApp, responseText, send, until } from './helpers/server-client.js';
import { serverFixtures } from './helpers/server-fixtures.js';
import type { UpstreamEcho } from './helpers/upstreams.js';

const { cleanup, upstream, proxy } = serverFixtures(500);

let pki: TestPki;
beforeAll(() => {
  pki = generateTestPki();
});

async function statusVia(p: HttpPeer): Promise<number> {
  const { port } = await proxy(peersApp([p]), { accessLog: false });
  return (await send(port, '/')).status;
}

function tlsPeer(
  id: string,
  sni: string,
  options: Partial<PeerOptions>,
  init: ConstructorParameters<typeof HttpPeer>[3] = {},
) {
  return new HttpPeer(id, true, sni, { ...init, options });
}

describe('TLS PeerOptions', () => {
  it('sni is sent and the certificate verified against ca', async () => {
    const u = await upstream({ tls: pki.server });
    let servername: string | false | null | undefined;
    u.handler = (req, res) => {
      servername = (req.socket as TLSSocket).servername;
      res.end('ok');
    };
    expect(await statusVia(tlsPeer(u.id, 'upstream.test', { ca: pki.ca.cert }))).toBe(200);
    expect(servername).toBe('upstream.test');
  });

  it('verifyCert: an untrusted chain fails (502) unless verification is off', async () => {
    const u = await upstream({ tls: pki.server });
    expect(await statusVia(tlsPeer(u.id, 'localhost', { ca: pki.otherCa.cert }))).toBe(502);
    expect(await statusVia(tlsPeer(u.id, 'localhost', {}))).toBe(502);
    expect(await statusVia(tlsPeer(u.id, 'localhost', { verifyCert: false }))).toBe(200);
    expect(u.requests).toBe(1);
  });

  it('an option assigned on a peer already in use takes effect on its next request (a new pool)', async () => {
    const u = await upstream({ tls: pki.server });
    const p = tlsPeer(u.id, 'localhost', {});
    const { port } = await proxy(peersApp([p], { newCtx: () => ({ triedBackends: new Set(), attempts: 0 }) }), {
      accessLog: false,
      maxAttempts: 1,
    });
    expect((await send(port, '/')).status).toBe(502);
    p.options.verifyCert = false;
    expect((await send(port, '/')).status).toBe(200);
    expect(u.requests).toBe(1);
  });

  it('verifyHostname and alternativeCn: a name mismatch fails unless disabled or the alternative matches', async () => {
    const u = await upstream({ tls: pki.server });
    expect(await statusVia(tlsPeer(u.id, 'wrong.test', { ca: pki.ca.cert }))).toBe(502);
    expect(await statusVia(tlsPeer(u.id, 'wrong.test', { ca: pki.ca.cert, verifyHostname: false }))).toBe(200);
    expect(await statusVia(tlsPeer(u.id, 'wrong.test', { ca: pki.ca.cert, alternativeCn: 'upstream.test' }))).toBe(200);
    expect(await statusVia(tlsPeer(u.id, 'wrong.test', { ca: pki.ca.cert, alternativeCn: 'nope.test' }))).toBe(502);
  });

  it('an empty sni verifies the certificate against the address', async () => {
    const u = await upstream({ tls: pki.server });
    expect(await statusVia(tlsPeer(u.id, '', { ca: pki.ca.cert }))).toBe(200);
  });

  it('useSystemCerts false: only ca is trusted', async () => {
    const u = await upstream({ tls: pki.server });
    expect(await statusVia(tlsPeer(u.id, 'localhost', { ca: pki.ca.cert, useSystemCerts: false }))).toBe(200);
    expect(await statusVia(tlsPeer(u.id, 'localhost', { ca: pki.otherCa.cert, useSystemCerts: false }))).toBe(502);
  });

  it('clientCertKey: an upstream requiring a client certificate works with it and fails without', async () => {
    const u = await upstream({ tls: { ...pki.server, ca: pki.ca.cert, requestCert: true } });
    const withCert = tlsPeer(u.id, 'localhost', { ca: pki.ca.cert }, { clientCertKey: pki.client });
    expect(await statusVia(withCert)).toBe(200);
    expect(await statusVia(tlsPeer(u.id, 'localhost', { ca: pki.ca.cert }))).toBe(502);
    expect(u.requests).toBe(1);
  });

  it("alpn 'h2' and 'h2h1' reach an HTTP/2-only upstream; 'h1' cannot", async () => {
    const h2 = createSecureServer({ ...pki.server, allowHTTP1: false });
    h2.on('request', (req, res) => {
      res.setHeader('x-version', req.httpVersion);
      res.end(`h2 ${req.method} ${req.url}`);
    });
    const h2Port = await listen(h2);
    cleanup.push(() => new Promise<void>((r) => h2.close(() => r())));
    const id = `127.0.0.1:${h2Port}`;
    for (const alpn of ['h2', 'h2h1'] as const) {
      const { port } = await proxy(peersApp([tlsPeer(id, 'localhost', { ca: pki.ca.cert, alpn })]), {
        accessLog: false,
      });
      const reply = await send(port, '/over-h2?x=1');
      expect(reply.status).toBe(200);
      expect(reply.headers['x-version']).toBe('2.0');
      expect(reply.body).toBe('h2 GET /over-h2?x=1');
      const post = await send(port, '/post', { method: 'POST', body: 'data' });
      expect(post.status).toBe(200);
    }
    expect(await statusVia(tlsPeer(id, 'localhost', { ca: pki.ca.cert, alpn: 'h1' }))).toBe(502);
  });

  it("alpn 'h2h1' falls back to HTTP/1.1 with an HTTP/1.1-only upstream", async () => {
    const u = await upstream({ tls: pki.server });
    expect(await statusVia(tlsPeer(u.id, 'localhost', { ca: pki.ca.cert, alpn: 'h2h1' }))).toBe(200);
  });
});

describe('HTTPS downstream', () => {
  it('serves HTTPS with tls: { cert, key } and says so in X-Forwarded-Proto', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false, tls: pki.server });
    const { request } = await import('node:https');
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/secure',
      ca: pki.ca.cert,
      servername: 'localhost',
      agent: false,
    });
    const text = responseText(req);
    req.end();
    const body = await text;
    const echo = JSON.parse(body) as UpstreamEcho;
    expect(echo.url).toBe('/secure');
    expect(echo.headers['x-forwarded-proto']).toBe('https');
  });
});

describe('proxy: a CONNECT tunnel through a real HTTP proxy', () => {
  async function connectProxy(auth?: string) {
    const server = createProxy(createHttpServer());
    const connects: string[] = [];
    server.on('connect', (req: IncomingMessage) => connects.push(req.url ?? ''));
    if (auth !== undefined) {
      server.authenticate = (req) =>
        req.headers['proxy-authorization'] === `Basic ${Buffer.from(auth).toString('base64')}`;
    }
    const port = await listen(server);
    cleanup.push(() => close(server));
    return { port, connects };
  }

  it('plain and TLS upstreams are reached through the proxy, whose log shows the CONNECT', async () => {
    const { port: proxyPort, connects } = await connectProxy();
    const plain = await upstream();
    const viaProxy = peer(plain.id, { proxy: { uri: `http://127.0.0.1:${proxyPort}` } });
    expect(await statusVia(viaProxy)).toBe(200);
    const secure = await upstream({ tls: pki.server });
    const tlsViaProxy = tlsPeer(
      secure.id,
      'upstream.test',
      { ca: pki.ca.cert },
      {
        proxy: { uri: `http://127.0.0.1:${proxyPort}` },
      },
    );
    expect(await statusVia(tlsViaProxy)).toBe(200);
    // Each tunnel was asked of the proxy (a dropped connection may add a resend's CONNECT).
    expect(connects[0]).toBe(plain.id);
    expect(connects).toContain(secure.id);
  });

  it('sends the URI credentials as Proxy-Authorization, and a refused CONNECT is a 502', async () => {
    const { port: proxyPort, connects } = await connectProxy('user:hunter2');
    const u = await upstream();
    expect(await statusVia(peer(u.id, { proxy: { uri: `http://user:hunter2@127.0.0.1:${proxyPort}` } }))).toBe(200);
    expect(await statusVia(peer(u.id, { proxy: { uri: `http://user:wrong@127.0.0.1:${proxyPort}` } }))).toBe(502);
    expect(connects.length).toBe(2);
    expect(u.requests).toBe(1);
  });
});

describe('credentials never reach the logs', () => {
  it('a run with Authorization, Proxy-Authorization, cookies, proxy passwords and keys logs none of them', async () => {
    const server = createProxy(createHttpServer());
    server.authenticate = (req) =>
      req.headers['proxy-authorization'] === `Basic ${Buffer.from('user:proxypass-secret').toString('base64')}`;
    const proxyPort = await listen(server);
    cleanup.push(() => close(server));
    const u = await upstream({ tls: { ...pki.server, ca: pki.ca.cert, requestCert: true } });
    const { logger, lines } = captureLogger();
    const p = tlsPeer(
      u.id,
      'localhost',
      { ca: pki.ca.cert },
      {
        clientCertKey: pki.client,
        proxy: { uri: `http://user:proxypass-secret@127.0.0.1:${proxyPort}` },
      },
    );
    const bad = peer('127.0.0.1:1', { proxy: { uri: `http://user:proxypass-secret@127.0.0.1:${proxyPort}` } });
    const { port } = await proxy(peersApp([bad, p]), { logger });
    const reply = await send(port, '/path?token=query-secret', {
      headers: {
        authorization: 'Bearer auth-secret',
        'proxy-authorization': 'Basic cHJveHktYXV0aC1zZWNyZXQ=',
        cookie: 'session=cookie-secret',
      },
    });
    expect(reply.status).toBe(200);
    const echo = JSON.parse(reply.body) as UpstreamEcho;
    expect(echo.headers.authorization).toBe('Bearer auth-secret');
    await until(() => lines.length >= 1);
    const text = lines.join('\n');
    expect(text).toContain('"status":200');
    for (const secret of [
      'auth-secret',
      'cHJveHktYXV0aC1zZWNyZXQ',
      'cookie-secret',
      'proxypass-secret',
      'query-secret',
      'PRIVATE KEY',
      pki.client.key.split('\n')[1] ?? 'unreachable',
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('WebSocket upgrades', () => {
  it('tunnels a WebSocket both ways, including bytes sent right after the handshake', async () => {
    const http = createHttpServer();
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.headers['x-forwarded-for']}`);
      ws.on('message', (data) => ws.send(`echo ${data.toString()}`));
    });
    const wsPort = await listen(http);
    cleanup.push(async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await close(http);
    });
    const { port } = await proxy(peersApp([peer(`127.0.0.1:${wsPort}`)]), { accessLog: false });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    const received: string[] = [];
    ws.on('message', (d) => received.push(d.toString()));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send('one');
    ws.send('two');
    await until(() => received.length >= 3);
    expect(received).toEqual(['hello 127.0.0.1', 'echo one', 'echo two']);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.close(1000);
    expect(await closed).toBe(1000);
  });

  it('an upstream that refuses the upgrade (401) is answered as is', async () => {
    const u = await upstream();
    u.handler = (_req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('no ticket');
    };
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('opened')));
    });
    expect(status).toBe(401);
    expect(u.seen[0]?.headers.upgrade).toBe('websocket');
  });

  it('an upgrade is not forwarded under denyUpgrades(): the upstream sees a plain request', async () => {
    const { denyUpgrades } = await import('@switchyard/core');
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id, { options: { httpUpstreamRequestPolicy: denyUpgrades() } })]), {
      accessLog: false,
    });
    const reply = await send(port, '/ws', {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
      },
    });
    expect(reply.status).toBe(200);
    expect(u.seen[0]?.headers.upgrade).toBeUndefined();
  });
});
