import { HttpPeer } from '@switchyard/core';
import { createProxyServer, type ProxyServer, type ProxyServerOptions } from '@switchyard/proxy';
import { type FaultBackend, startFaultBackend, waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { headerValues, rawExchange } from '../helpers/raw-client.js';

// The forwarding fields are the proxy's own: from an untrusted client every Forwarded, X-Real-IP
// and X-Forwarded-* is replaced by what the proxy saw; a trusted proxy's are appended to.

interface Rig {
  readonly proxy: ProxyServer;
  readonly port: number;
  readonly backend: FaultBackend;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    await rig.proxy.close({ deadlineMs: 1000 });
    await rig.backend.stop();
  }
});

async function startRig(options: Partial<ProxyServerOptions>, host = '127.0.0.1'): Promise<Rig> {
  const backend = await startFaultBackend({ name: 'fwd' });
  const proxy = createProxyServer(
    { upstreamPeer: () => new HttpPeer(backend.id, false, '', { options: { readTimeout: 3000 } }) },
    { accessLog: false, ...options },
  );
  const { port } = await proxy.listen(0, host);
  const rig = { proxy, port, backend };
  rigs.push(rig);
  return rig;
}

const SPOOFED = [
  'Forwarded: for=203.0.113.7;proto=https;host=evil.test',
  'Forwarded: for="[2001:db8::1]"',
  'X-Real-IP: 203.0.113.8',
  'X-Forwarded-For: 203.0.113.9',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Host: evil.test',
  'X-Forwarded-Port: 1',
  'x-forwarded-prefix: /evil',
];

/** Sends GET /f with `lines` through `rig` (connecting to `host`) and returns what the backend received. */
async function forward(rig: Rig, lines: readonly string[], host = '127.0.0.1', hostHeader = 'app.test') {
  const payload = `GET /f HTTP/1.1\r\nHost: ${hostHeader}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
  const exchange = await rawExchange(rig.port, payload, { host, timeoutMs: 3000 });
  expect(exchange.responses[0]?.status, exchange.raw.toString('latin1')).toBe(200);
  await waitFor('the request at the backend', () => rig.backend.requests.length === 1, 3000);
  const received = rig.backend.requests[0]!;
  return { head: received.rawHead, get: (name: string) => headerValues(received.headers, name) };
}

describe('from an untrusted client', () => {
  it("x-forwarded (default): the proxy's own X-Forwarded-* and X-Real-IP, no Forwarded", async () => {
    const got = await forward(await startRig({}), SPOOFED);
    expect(got.get('x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(got.get('x-real-ip')).toEqual(['127.0.0.1']);
    expect(got.get('x-forwarded-proto')).toEqual(['http']);
    expect(got.get('x-forwarded-host')).toEqual(['app.test']);
    expect(got.get('forwarded')).toEqual([]);
    expect(got.get('x-forwarded-port')).toEqual([]);
    expect(got.get('x-forwarded-prefix')).toEqual([]);
    expect(got.head).not.toMatch(/203\.0\.113|2001:db8|evil|https/);
  });

  it("rfc7239: the proxy's own Forwarded only", async () => {
    const got = await forward(await startRig({ forwardedHeaders: 'rfc7239' }), SPOOFED);
    expect(got.get('forwarded')).toEqual(['for=127.0.0.1;host=app.test;proto=http']);
    expect(got.get('x-forwarded-for')).toEqual([]);
    expect(got.get('x-real-ip')).toEqual([]);
    expect(got.head).not.toMatch(/203\.0\.113|2001:db8|evil|https/);
  });

  it('both: the two families side by side', async () => {
    const got = await forward(await startRig({ forwardedHeaders: 'both' }), SPOOFED);
    expect(got.get('forwarded')).toEqual(['for=127.0.0.1;host=app.test;proto=http']);
    expect(got.get('x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(got.get('x-real-ip')).toEqual(['127.0.0.1']);
  });

  it('an IPv6 client and a Host with a port are quoted as RFC 7239 §6 requires', async () => {
    const rig = await startRig({ forwardedHeaders: 'rfc7239' }, '::1');
    const got = await forward(rig, SPOOFED, '::1', '[::1]:8080');
    expect(got.get('forwarded')).toEqual(['for="[::1]";host="[::1]:8080";proto=http']);
  });
});

describe('from a trusted proxy', () => {
  it('every family is appended to (or, for X-Real-IP, kept)', async () => {
    const rig = await startRig({ trustedProxies: ['127.0.0.1'], forwardedHeaders: 'both' });
    const got = await forward(rig, SPOOFED);
    expect(got.get('x-forwarded-for')).toEqual(['203.0.113.9, 127.0.0.1']);
    expect(got.get('x-real-ip')).toEqual(['203.0.113.8']);
    expect(got.get('forwarded')).toEqual([
      'for=203.0.113.7;proto=https;host=evil.test, for="[2001:db8::1]", for=127.0.0.1;host=app.test;proto=http',
    ]);
    expect(got.get('x-forwarded-port')).toEqual(['1']);
  });

  it('a family the proxy does not emit passes unchanged', async () => {
    const rig = await startRig({ trustedProxies: ['127.0.0.1'] });
    const got = await forward(rig, SPOOFED);
    expect(got.get('forwarded')).toEqual(['for=203.0.113.7;proto=https;host=evil.test, for="[2001:db8::1]"']);
  });
});
