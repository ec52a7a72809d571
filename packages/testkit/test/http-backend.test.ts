import { Agent, request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import {
  type BackendEcho,
  deadAddress,
  generateTestPki,
  startBackend,
  type TestBackend,
  waitFor,
} from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const started: TestBackend[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((b) => b.close()));
});

async function backend(...args: Parameters<typeof startBackend>): Promise<TestBackend> {
  const b = await startBackend(...args);
  started.push(b);
  return b;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(b: TestBackend, path = '/', agent: Agent | false = false, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: b.host, port: b.port, path, agent, method: body === undefined ? 'GET' : 'POST' });
    req.setTimeout(2000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.end(body);
  });
}

describe('startBackend', () => {
  it("'ok' echoes the request as JSON with X-Backend, and records it", async () => {
    const b = await backend({ name: 'echo' });
    expect(b.id).toBe(`127.0.0.1:${b.port}`);
    expect(b.backend.id).toBe(b.id);
    const answer = await get(b, '/x?y=1', false, 'hello');
    expect(answer.status).toBe(200);
    expect(answer.headers['x-backend']).toBe('echo');
    const echo = JSON.parse(answer.body) as BackendEcho;
    expect(echo).toMatchObject({ name: 'echo', method: 'POST', url: '/x?y=1', bodyBytes: 5 });
    expect(b.requests.map((r) => [r.method, r.url])).toEqual([['POST', '/x?y=1']]);
    expect(b.connections).toBe(1);
    expect(b.accepted).toEqual([{ remoteAddress: '127.0.0.1', servername: undefined, clientCn: undefined }]);
  });

  it('answers a given status and body, 500 for fail, 503 with Retry-After', async () => {
    const b = await backend();
    b.mode = { status: 418, body: 'teapot' };
    expect(await get(b)).toMatchObject({ status: 418, body: 'teapot' });
    b.mode = 'fail';
    expect((await get(b)).status).toBe(500);
    b.mode = '503';
    const unavailable = await get(b);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('1');
  });

  it("'hang' never answers, 'reset' resets the connection", async () => {
    const b = await backend({ mode: 'hang' });
    await expect(get(b)).rejects.toThrow(/client timeout/);
    b.mode = 'reset';
    await expect(get(b)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(b.requests).toHaveLength(2);
  });

  it("'close-on-reuse' answers the first request of a connection and drops the second", async () => {
    const b = await backend({ mode: 'close-on-reuse' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(b, '/1', agent)).status).toBe(200);
      await expect(get(b, '/2', agent)).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect(b.connections).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('delays its answers by delayMs', async () => {
    const b = await backend({ delayMs: 150 });
    const started = performance.now();
    expect((await get(b)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('a handler replaces the mode; traffic() leaves out the health path', async () => {
    const b = await backend({ handler: (_req, res) => res.end('mine') });
    expect((await get(b, '/a')).body).toBe('mine');
    expect((await get(b, '/healthz')).body).toBe('mine');
    expect(b.traffic()).toBe(1);
    expect(b.requests).toHaveLength(2);
  });

  it('stop() makes the port refuse and drops open connections; restart() serves on the same port', async () => {
    const b = await backend({ mode: 'hang' });
    const pending = get(b).catch((err: NodeJS.ErrnoException) => err.code);
    await waitFor('the hanging request', () => b.requests.length === 1);
    expect(await b.openConnections()).toBe(1);
    await b.stop();
    expect(await pending).toBe('ECONNRESET');
    await expect(get(b)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    b.mode = 'ok';
    await b.restart();
    expect((await get(b)).status).toBe(200);
    expect(b.connections).toBe(2);
  });

  it('serves HTTPS, demands a client certificate when asked, and records each handshake', async () => {
    const pki = generateTestPki();
    const b = await backend({ tls: { ...pki.server, ca: pki.ca.cert, requestCert: true } });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({
        host: b.host,
        port: b.port,
        path: '/',
        ca: pki.ca.cert,
        servername: 'localhost',
        cert: pki.client.cert,
        key: pki.client.key,
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.end();
    });
    expect(status).toBe(200);
    expect(b.accepted).toEqual([
      { remoteAddress: '127.0.0.1', servername: 'localhost', clientCn: 'switchyard-client' },
    ]);
  });
});

describe('deadAddress', () => {
  it('names a loopback port that refuses connections', async () => {
    const [host, port] = (await deadAddress()).split(':');
    const code = await new Promise((resolve) => {
      const socket = connect(Number(port), host as string);
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    });
    expect(code).toBe('ECONNREFUSED');
  });
});

describe('waitFor', () => {
  it('resolves once the predicate holds and rejects naming what it waited for', async () => {
    let n = 0;
    await waitFor('three polls', () => ++n >= 3, 1000, 1);
    expect(n).toBe(3);
    await expect(waitFor('never', () => false, 30, 5)).rejects.toThrow('timed out after 30 ms waiting for never');
  });
});
