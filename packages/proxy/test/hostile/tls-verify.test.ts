import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { HttpPeer, type PeerOptions } from '@switchyard/core';
import { createProxyServer } from '@switchyard/proxy';
import { close, ensureBuilt, generateTestPki, listen, startServe, tempDir } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getHead, rawExchange } from '../helpers/raw-client.js';

// TLS verification is on by default: a self-signed (here: privately signed) upstream is refused
// unless its CA is configured.

const pki = generateTestPki();
let upstream: Server;
let port = 0;
let hits = 0;

beforeAll(async () => {
  upstream = createServer({ cert: pki.server.cert, key: pki.server.key }, (_req, res) => {
    hits++;
    res.end('secure hello');
  });
  port = await listen(upstream);
});
afterAll(async () => {
  await close(upstream);
});

async function through(options: Partial<PeerOptions>): Promise<number | undefined> {
  const proxy = createProxyServer(
    { upstreamPeer: () => new HttpPeer(`127.0.0.1:${port}`, true, 'localhost', { options }) },
    { accessLog: false },
  );
  const { port: proxyPort } = await proxy.listen(0);
  try {
    const exchange = await rawExchange(proxyPort, getHead('/tls'), { timeoutMs: 5000 });
    return exchange.responses[0]?.status;
  } finally {
    await proxy.close({ deadlineMs: 500 });
  }
}

describe('upstream TLS verification (library)', () => {
  it('is on by default: an upstream signed by an unknown CA is refused (502), nothing served', async () => {
    const before = hits;
    expect(await through({})).toBe(502);
    expect(hits).toBe(before);
  });

  it('trusting an unrelated CA still refuses it', async () => {
    expect(await through({ ca: pki.otherCa.cert })).toBe(502);
  });

  it('configuring its CA lets it through', async () => {
    const before = hits;
    expect(await through({ ca: pki.ca.cert })).toBe(200);
    expect(hits).toBe(before + 1);
  });

  it('the right CA but the wrong server name is refused (hostname verification)', async () => {
    const proxy = createProxyServer(
      {
        upstreamPeer: () => new HttpPeer(`127.0.0.1:${port}`, true, 'wrong.test', { options: { ca: pki.ca.cert } }),
      },
      { accessLog: false },
    );
    const { port: proxyPort } = await proxy.listen(0);
    try {
      const exchange = await rawExchange(proxyPort, getHead('/tls'), { timeoutMs: 5000 });
      expect(exchange.responses[0]?.status).toBe(502);
    } finally {
      await proxy.close({ deadlineMs: 500 });
    }
  });
});

describe('upstream TLS verification (switchyard serve)', () => {
  beforeAll(ensureBuilt, 180_000);

  it('a config without a CA refuses the upstream; with peer.ca it is served', async () => {
    const dir = tempDir('switchyard-tls-');
    writeFileSync(join(dir, 'ca.pem'), pki.ca.cert);
    const upstreamConfig = (peer: Record<string, unknown>) => ({
      backends: [`127.0.0.1:${port}`],
      tls: true,
      sni: 'localhost',
      peer: { connectionTimeout: 1000, ...peer },
    });
    const serve = await startServe({
      config: (listen) => ({
        listen: `127.0.0.1:${listen}`,
        accessLog: false,
        upstreams: {
          noca: upstreamConfig({}),
          withca: upstreamConfig({ ca: join(dir, 'ca.pem') }),
        },
        routes: [
          { prefix: '/noca', upstream: 'noca' },
          { prefix: '/withca', upstream: 'withca' },
        ],
      }),
    });
    try {
      const refused = await rawExchange(serve.port, getHead('/noca/x'), { timeoutMs: 8000 });
      expect(refused.responses[0]?.status).toBe(502);
      const served = await rawExchange(serve.port, getHead('/withca/x'), { timeoutMs: 8000 });
      expect(served.responses[0]?.status).toBe(200);
      expect(served.responses[0]?.body.toString()).toBe('secure hello');
    } finally {
      await serve.stop();
    }
  }, 60_000);
});
