import { createServer as createHttpServer, request } from 'node:http';
import { connect } from 'node:net';
import { createProxyServer, PROXY_SERVER_DEFAULTS } from '@switchyard/proxy';
import { close, listen, type TestBackend, waitFor } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { rawExchange } from './helpers/raw-client.js';
import { peer, peersApp, send } from './helpers/server-client.js';
import { serverFixtures } from './helpers/server-fixtures.js';

const { upstream, proxy } = serverFixtures(500);

/** Answers after `ms`. */
function slowHandler(ms: number): NonNullable<TestBackend['handler']> {
  return (req, res) => {
    req.resume();
    setTimeout(() => res.end(`done ${req.url}`), ms);
  };
}

describe('graceful close', () => {
  it('lets in-flight requests finish, refuses new connections, and resolves', async () => {
    const u = await upstream();
    u.handler = slowHandler(300);
    const { proxy: p, port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const inflight = [send(port, '/a'), send(port, '/b'), send(port, '/c')];
    await waitFor('three requests at the backend', () => u.requests.length === 3, 5000);
    const start = Date.now();
    const closed = p.close({ deadlineMs: 5000 });
    // The listener is gone at once.
    await expect(send(port, '/late', { timeoutMs: 1000 })).rejects.toThrow();
    const replies = await Promise.all(inflight);
    expect(replies.map((r) => [r.status, r.body])).toEqual([
      [200, 'done /a'],
      [200, 'done /b'],
      [200, 'done /c'],
    ]);
    await closed;
    expect(Date.now() - start).toBeLessThan(3000);
    expect(p.server.listening).toBe(false);
    // The upstream pools were closed: no connection from the proxy stays open.
    await waitFor('the backend connections to close', () => u.sockets.size === 0, 2000);
  });

  it('cuts what is still running at the deadline', async () => {
    const u = await upstream({ mode: 'hang' });
    const { proxy: p, port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const pending = send(port, '/stuck').then(
      () => 'answered',
      () => 'cut',
    );
    await waitFor('the request at the backend', () => u.requests.length === 1, 5000);
    const start = Date.now();
    await p.close({ deadlineMs: 300 });
    expect(Date.now() - start).toBeGreaterThanOrEqual(250);
    expect(Date.now() - start).toBeLessThan(2000);
    expect(await pending).toBe('cut');
  });

  it('closes an idle keep-alive downstream connection at once', async () => {
    const u = await upstream();
    const { proxy: p, port } = await proxy(peersApp([peer(u.id)]), { accessLog: false, keepAliveTimeout: 60_000 });
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const start = Date.now();
    await p.close({ deadlineMs: 5000 });
    await ended;
    expect(Date.now() - start).toBeLessThan(2000);
  });
});

describe('upstream pools', () => {
  it('maxPools: the least recently used pool is closed when a new one is needed', async () => {
    const a = await upstream();
    const b = await upstream();
    let target = a;
    const { port } = await proxy(
      { upstreamPeer: () => peer(target.id, { options: { idleTimeout: 60_000 } }) },
      { accessLog: false, maxPools: 1 },
    );
    expect((await send(port, '/')).status).toBe(200);
    expect(a.sockets.size).toBe(1);
    target = b;
    expect((await send(port, '/')).status).toBe(200);
    // a's pool was evicted and closed: its idle keep-alive connection goes away.
    await waitFor('the connection to a to close', () => a.sockets.size === 0, 2000);
    expect(b.sockets.size).toBe(1);
  });

  it('poolIdleMs: a pool unused that long is closed by the sweep', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id, { options: { idleTimeout: 60_000 } })]), {
      accessLog: false,
      poolIdleMs: 200,
    });
    expect((await send(port, '/')).status).toBe(200);
    expect(u.sockets.size).toBe(1);
    // The sweep runs every max(1 s, poolIdleMs / 2).
    await waitFor('the idle backend connection to close', () => u.sockets.size === 0, 3000);
  });
});

describe('hostile-client defaults', () => {
  it('has bounded head size, head time, request time and keep-alive', () => {
    expect(PROXY_SERVER_DEFAULTS).toMatchObject({
      headersTimeout: 20_000,
      requestTimeout: 300_000,
      maxHeaderSize: 16_384,
      keepAliveTimeout: 5_000,
    });
    const p = createProxyServer(peersApp([]));
    expect(p.server.headersTimeout).toBe(20_000);
    expect(p.server.requestTimeout).toBe(300_000);
    expect(p.server.keepAliveTimeout).toBe(5_000);
    expect((p.server as unknown as { maxHeaderSize: number }).maxHeaderSize).toBe(16_384);
  });

  it('answers 431 to a head larger than maxHeaderSize without contacting the upstream', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false, maxHeaderSize: 2048 });
    const reply = await send(port, '/', { headers: { 'x-big': 'y'.repeat(4096) } }).catch((e: Error) => e);
    if (reply instanceof Error) expect(reply.message).toMatch(/socket hang up|ECONNRESET/);
    else expect(reply.status).toBe(431);
    expect(u.requests.length).toBe(0);
  });

  it('drops a client that sends its head too slowly (headersTimeout)', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), {
      accessLog: false,
      headersTimeout: 300,
      requestTimeout: 1000,
    });
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    const closed = await new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 3000);
    });
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1.1 408/);
    expect(u.requests.length).toBe(0);
  });

  it('closes a connection that never sends a byte after headersTimeout, but not a slow response', async () => {
    const u = await upstream();
    u.handler = slowHandler(700);
    const { port } = await proxy(peersApp([peer(u.id)]), {
      accessLog: false,
      headersTimeout: 300,
      requestTimeout: 1000,
    });
    const silent = connect(port, '127.0.0.1');
    silent.on('error', () => {});
    // Read, so the close is noticed.
    silent.resume();
    const start = Date.now();
    const closedAfter = new Promise<number>((resolve) => {
      silent.once('close', () => resolve(Date.now() - start));
      setTimeout(() => resolve(-1), 3000);
    });
    // The slow answer (700 ms, longer than headersTimeout) still arrives.
    const reply = await send(port, '/slow');
    expect(reply).toMatchObject({ status: 200, body: 'done /slow' });
    const after = await closedAfter;
    expect(after).toBeGreaterThanOrEqual(250);
    expect(after).toBeLessThan(2000);
  });

  it('refuses obsolete line folding and other malformed heads (strict parser) with 400', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const exchange = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n');
    const raw = exchange.raw.toString('latin1');
    expect(raw).toMatch(/^HTTP\/1.1 400/);
    expect(u.requests.length).toBe(0);
  });

  it('keeps serving other clients while one holds a request open', async () => {
    const u = await upstream();
    const { port } = await proxy(peersApp([peer(u.id)]), { accessLog: false });
    const hold = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false });
    hold.on('error', () => {});
    hold.write('partial body');
    expect((await send(port, '/')).status).toBe(200);
    hold.destroy();
  });
});

describe('drain (close with drainMs)', () => {
  /** A keep-alive connection that has had one exchange, with everything it receives collected. */
  async function keptAlive(port: number) {
    const socket = connect(port, '127.0.0.1');
    const seen = { text: '', ended: false, error: undefined as string | undefined };
    socket.on('data', (d: Buffer) => {
      seen.text += d.toString('latin1');
    });
    socket.on('end', () => {
      seen.ended = true;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      seen.error = err.code ?? err.message;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the first response', () => /\r\n\r\n/.test(seen.text), 5000);
    return { socket, seen, closed };
  }

  it('serves a request arriving on an idle connection during drainMs, with Connection: close', async () => {
    const u = await upstream();
    const { proxy: p, port } = await proxy(peersApp([peer(u.id)]), { accessLog: false, keepAliveTimeout: 60_000 });
    const { socket, seen, closed } = await keptAlive(port);
    expect(seen.text).toMatch(/connection: keep-alive/i);
    const closing = p.close({ deadlineMs: 5000, drainMs: 3000 });
    expect(p.draining).toBe(true);
    // The listener is gone, but the open connection is still served.
    await expect(send(port, '/late', { timeoutMs: 1000 })).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.ended).toBe(false);
    seen.text = '';
    socket.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    expect(seen.text).toMatch(/^HTTP\/1.1 200/);
    expect(seen.text).toMatch(/connection: close/i);
    // The server ended the connection with a FIN after the response, never a reset.
    expect(seen.ended).toBe(true);
    expect(seen.error).toBeUndefined();
    const start = Date.now();
    await closing;
    // No connection was left, so the drain did not wait for the rest of drainMs.
    expect(Date.now() - start).toBeLessThan(2000);
  });

  it('half-closes a connection still idle after drainMs with a FIN and reads what arrives after it', async () => {
    const u = await upstream();
    const { proxy: p, port } = await proxy(peersApp([peer(u.id)]), { accessLog: false, keepAliveTimeout: 60_000 });
    const { socket, seen, closed } = await keptAlive(port);
    // The client does not close its side at once: whatever it still sends is read, not answered with a reset.
    (socket as unknown as { allowHalfOpen: boolean }).allowHalfOpen = true;
    const start = Date.now();
    const closing = p.close({ deadlineMs: 5000, drainMs: 400 });
    await waitFor('the FIN', () => seen.ended, 3000);
    expect(Date.now() - start).toBeGreaterThanOrEqual(350);
    seen.text = '';
    socket.write('GET /after-fin HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    socket.end();
    await closed;
    await closing;
    expect(seen.error).toBeUndefined();
    expect(seen.text).toBe('');
    expect(u.requests.map((r) => r.url)).toEqual(['/first']);
  });

  it('never half-closes an open WebSocket tunnel as idle while requests finish; cuts it at the end', async () => {
    let slowSeen = 0;
    const http = createHttpServer((req, res) => {
      slowSeen++;
      req.resume();
      setTimeout(() => res.end('slow done'), 800);
    });
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo ${data.toString()}`)));
    const wsPort = await listen(http);
    try {
      const { proxy: p, port } = await proxy(peersApp([peer(`127.0.0.1:${wsPort}`)]), { accessLog: false });
      const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
      const received: string[] = [];
      ws.on('message', (d) => received.push(d.toString()));
      ws.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const wsClosed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      const slow = send(port, '/slow');
      await waitFor('the slow request at the backend', () => slowSeen === 1, 3000);
      // No drain window: idle connections are half-closed at once, while the slow request runs.
      const closing = p.close({ deadlineMs: 5000, drainMs: 0 });
      await new Promise((r) => setTimeout(r, 100));
      ws.send('while a request finishes');
      await waitFor('the echo through the tunnel', () => received.length === 1, 3000);
      expect(received).toEqual(['echo while a request finishes']);
      expect(await slow).toMatchObject({ status: 200, body: 'slow done' });
      await closing;
      await wsClosed;
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await close(http);
    }
  });
});
