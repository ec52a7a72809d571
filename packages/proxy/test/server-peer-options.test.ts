import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { close, generateTestPki, listen } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { peer, peersApp, send } from './helpers/server-client.js';
import { serverFixtures } from './helpers/server-fixtures.js';
import type { UpstreamEcho } from './helpers/upstreams.js';

const { cleanup, upstream, proxy } = serverFixtures(500);

/**
 * A loopback listener whose accept queue is full, so further SYNs go unanswered: a Python
 * child binds with backlog 0 and never calls accept(); we then park connections in its queue
 * until a new connect() no longer completes. (Node's own listeners always accept.)
 */
async function blackholeListener(): Promise<{ port: number }> {
  const child: ChildProcess = spawn(
    'python3',
    [
      '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('error', reject);
  });
  const parked: Socket[] = [];
  cleanup.push(async () => {
    for (const s of parked) s.destroy();
    child.kill('SIGKILL');
  });
  // Fill the queue: stop when a connect has not completed within 300 ms (bounded: 8 tries).
  for (let i = 0; i < 8; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    parked.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 300);
    });
    if (!connected) return { port };
  }
  throw new Error('could not fill the accept queue');
}

describe('PeerOptions take effect against real loopback servers', () => {
  it('connectionTimeout: a connect whose SYN is never answered fails with 502 within the timeout', async () => {
    const { port: hole } = await blackholeListener();
    const { port } = await proxy(peersApp([peer(`127.0.0.1:${hole}`, { options: { connectionTimeout: 300 } })]), {
      accessLog: false,
    });
    const start = Date.now();
    const reply = await send(port, '/');
    const elapsed = Date.now() - start;
    expect(reply.status).toBe(502);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
  });

  it('totalConnectionTimeout: a TLS server that never answers the handshake → 502 within the timeout', async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => {
      socket.on('error', () => {});
      held.add(socket);
      // Read (and drop) the ClientHello so the close is noticed; never answer it.
      socket.resume();
      socket.on('close', () => held.delete(socket));
    });
    const silentPort = await listen(silent);
    cleanup.push(() => close(silent));
    const p = peer(`127.0.0.1:${silentPort}`);
    const tlsPeer = new (p.constructor as typeof import('@switchyard/core').HttpPeer)(p.id, true, 'localhost', {
      options: { connectionTimeout: 5000, totalConnectionTimeout: 300 },
    });
    const { port } = await proxy(peersApp([tlsPeer]), { accessLog: false });
    const start = Date.now();
    const reply = await send(port, '/');
    const elapsed = Date.now() - start;
    expect(reply.status).toBe(502);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
    // The abandoned handshake's connection is closed, not leaked.
    const wait = Date.now();
    while (held.size > 0 && Date.now() - wait < 2000) await new Promise((r) => setTimeout(r, 20));
    expect(held.size).toBe(0);
  });

  it('connectionTimeout alone does not cover the TLS handshake', async () => {
    const silent = createServer((socket) => {
      socket.on('error', () => {});
      // Answer nothing for 600 ms, then close: the handshake fails, but not by a timeout.
      setTimeout(() => socket.destroy(), 600);
    });
    const silentPort = await listen(silent);
    cleanup.push(() => close(silent));
    const { HttpPeer } = await import('@switchyard/core');
    const tlsPeer = new HttpPeer(`127.0.0.1:${silentPort}`, true, 'localhost', { options: { connectionTimeout: 200 } });
    const { port } = await proxy(peersApp([tlsPeer]), { accessLog: false });
    const start = Date.now();
    expect((await send(port, '/')).status).toBe(502);
    expect(Date.now() - start).toBeGreaterThanOrEqual(550);
  });

  it('readTimeout: an upstream that does not answer in time → 504', async () => {
    const u = await upstream({ mode: 'hang' });
    const { port } = await proxy(peersApp([peer(u.id, { options: { readTimeout: 300 } })]), { accessLog: false });
    const start = Date.now();
    const reply = await send(port, '/');
    expect(reply.status).toBe(504);
    expect(Date.now() - start).toBeLessThan(2000);
    expect(u.requests).toBe(1);
  });

  it('readTimeout assigned inside upstreamPeer, the Pingora way, bounds that request → 504', async () => {
    const u = await upstream({ mode: 'hang' });
    const { port } = await proxy(
      {
        upstreamPeer() {
          const p = peer(u.id);
          p.options.readTimeout = 300;
          return p;
        },
      },
      { accessLog: false },
    );
    const start = Date.now();
    expect((await send(port, '/')).status).toBe(504);
    expect(Date.now() - start).toBeLessThan(2000);
  });

  it('readTimeout: a response body that stalls cuts the downstream response', async () => {
    const u = await upstream();
    u.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    };
    const { port } = await proxy(peersApp([peer(u.id, { options: { readTimeout: 300 } })]), { accessLog: false });
    await expect(send(port, '/')).rejects.toThrow();
  });

  it('writeTimeout: an upstream that stops reading the request body → 504', async () => {
    const stuckSockets = new Set<Socket>();
    const stuck = createServer((socket) => {
      socket.on('error', () => {});
      socket.pause();
      stuckSockets.add(socket);
    });
    const stuckPort = await listen(stuck);
    cleanup.push(async () => {
      for (const s of stuckSockets) s.destroy();
      await close(stuck);
    });
    const { port } = await proxy(peersApp([peer(`127.0.0.1:${stuckPort}`, { options: { writeTimeout: 300 } })]), {
      accessLog: false,
    });
    const start = Date.now();
    const reply = await send(port, '/', { method: 'POST', body: Buffer.alloc(64 * 1024 * 1024, 1), timeoutMs: 10_000 });
    expect(reply.status).toBe(504);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it('idleTimeout 0: one upstream connection per request; otherwise connections are reused', async () => {
    const u = await upstream();
    const noReuse = await proxy(peersApp([peer(u.id, { options: { idleTimeout: 0 } })]), { accessLog: false });
    for (let i = 0; i < 3; i++) expect((await send(noReuse.port, '/')).status).toBe(200);
    expect(u.connections).toBe(3);
    const v = await upstream();
    const reuse = await proxy(peersApp([peer(v.id, { options: { idleTimeout: 10_000 } })]), { accessLog: false });
    for (let i = 0; i < 3; i++) expect((await send(reuse.port, '/')).status).toBe(200);
    expect(v.connections).toBe(1);
  });

  it('idleTimeout: an idle pooled connection is closed after the timeout', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id, { options: { idleTimeout: 200 } })]), { accessLog: false });
    expect((await send(port, '/')).status).toBe(200);
    expect(u.sockets.size).toBe(1);
    const start = Date.now();
    while (u.sockets.size > 0 && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(u.sockets.size).toBe(0);
  });

  it('bindTo: the upstream sees the bound source address', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id, { options: { bindTo: '127.0.0.2' } })]), { accessLog: false });
    const reply = await send(port, '/');
    expect((JSON.parse(reply.body) as UpstreamEcho).remoteAddress).toBe('127.0.0.2');
    expect(u.peers).toEqual(['127.0.0.2']);
  });

  it('tcpKeepalive: the upstream socket carries a keepalive timer (ss), and none without it', async () => {
    const timers = async (options: Parameters<typeof peer>[1]) => {
      const u = await upstream();
      const { port } = await proxy(peersApp([peer(u.id, options)]), { accessLog: false });
      expect((await send(port, '/')).status).toBe(200);
      // The proxy's pooled socket to the upstream stays open (keep-alive): inspect it.
      return execFileSync('ss', ['-tnoH', 'state', 'established', `( dport = :${u.port} )`]).toString();
    };
    const on = await timers({
      options: { tcpKeepalive: { idle: 5000, interval: 1000, count: 3 }, idleTimeout: 10_000 },
    });
    expect(on).toMatch(/timer:\(keepalive,/);
    const off = await timers({ options: { idleTimeout: 10_000 } });
    expect(off).not.toMatch(/keepalive/);
    expect(off.trim()).not.toBe('');
  });

  it('TLS peers are pooled with their own settings: two peers differing only in ca do not share sockets', async () => {
    const pki = generateTestPki();
    const u = await upstream({ tls: pki.server });
    const { HttpPeer } = await import('@switchyard/core');
    const good = new HttpPeer(u.id, true, 'localhost', { options: { ca: pki.ca.cert } });
    const bad = new HttpPeer(u.id, true, 'localhost', { options: { ca: pki.otherCa.cert } });
    const { port: goodPort } = await proxy(peersApp([good]), { accessLog: false });
    expect((await send(goodPort, '/')).status).toBe(200);
    const { port: badPort } = await proxy(peersApp([bad]), { accessLog: false });
    expect((await send(badPort, '/')).status).toBe(502);
  });
});
