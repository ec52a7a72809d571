import { createServer, type Server } from 'node:https';
import { HttpPeer, type PeerOptions } from '@switchyard/core';
import { createProxyServer } from '@switchyard/proxy';
import { close, freePort, generateTestPki, listen, startFaultBackend, waitFor } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLines, captureLogs, type LogLine } from '../helpers/log-capture.js';
import { getHead, rawExchange } from '../helpers/raw-client.js';

// Every failure says why: the access line of a failed request carries a `cause`, and the same
// cause is logged at warn once per backend per minute — with no health checks configured.

const pki = generateTestPki();
let tlsUpstream: Server;
let tlsPort = 0;

beforeAll(async () => {
  tlsUpstream = createServer({ cert: pki.server.cert, key: pki.server.key }, (_req, res) => res.end('tls'));
  tlsPort = await listen(tlsUpstream);
});
afterAll(async () => {
  await close(tlsUpstream);
});

/** Sends `requests` GETs through a proxy whose only peer is `peer`; returns the log lines. */
async function through(peer: () => HttpPeer, requests: number): Promise<{ statuses: number[]; lines: LogLine[] }> {
  const { logger, lines } = captureLogs();
  const proxy = createProxyServer({ upstreamPeer: peer }, { logger, maxAttempts: 1 });
  const { port } = await proxy.listen(0);
  const statuses: number[] = [];
  try {
    for (let i = 0; i < requests; i++) {
      const exchange = await rawExchange(port, getHead(`/c${i}`), { timeoutMs: 5000 });
      statuses.push(exchange.responses[0]?.status ?? 0);
    }
    await waitFor('every access line', () => accessLines(lines).length === requests, 5000);
  } finally {
    await proxy.close({ deadlineMs: 500 });
  }
  return { statuses, lines };
}

function warnings(lines: readonly LogLine[]): LogLine[] {
  return lines.filter((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('upstream '));
}

describe('the cause of a failed request', () => {
  it('a refused connection: the errno, in the access line and once at warn', async () => {
    const port = await freePort();
    const { statuses, lines } = await through(() => new HttpPeer(`127.0.0.1:${port}`, false), 3);
    expect(statuses).toEqual([502, 502, 502]);
    for (const line of accessLines(lines)) {
      expect(line.error).toBe('LB_ERR_CONNECT_FAILED');
      expect(String(line.cause)).toContain('ECONNREFUSED');
    }
    const warned = warnings(lines);
    expect(warned.length, 'one warning per backend per minute').toBe(1);
    expect(warned[0]?.backend).toBe(`127.0.0.1:${port}`);
    expect(String(warned[0]?.cause)).toContain('ECONNREFUSED');
  });

  it('a certificate that fails verification: its error text', async () => {
    const options: Partial<PeerOptions> = {};
    const { statuses, lines } = await through(
      () => new HttpPeer(`127.0.0.1:${tlsPort}`, true, 'localhost', { options }),
      1,
    );
    expect(statuses).toEqual([502]);
    const line = accessLines(lines)[0]!;
    expect(line.error).toBe('LB_ERR_TLS_HANDSHAKE');
    expect(String(line.cause)).toMatch(/certificate/i);
    expect(String(warnings(lines)[0]?.cause)).toMatch(/certificate/i);
  });

  it('a read timeout: which timeout expired', async () => {
    const backend = await startFaultBackend({ name: 'hang', mode: 'hang' });
    try {
      const peer = () => new HttpPeer(backend.id, false, '', { options: { readTimeout: 200 } });
      const { statuses, lines } = await through(peer, 1);
      expect(statuses).toEqual([504]);
      const line = accessLines(lines)[0]!;
      expect(line.error).toBe('LB_ERR_UPSTREAM_TIMEOUT');
      expect(String(line.cause)).toContain('readTimeout expired before the response head');
    } finally {
      await backend.stop();
    }
  });

  it('a request that succeeds carries no cause', async () => {
    const backend = await startFaultBackend({ name: 'ok' });
    try {
      const { statuses, lines } = await through(() => new HttpPeer(backend.id, false), 1);
      expect(statuses).toEqual([200]);
      expect('cause' in accessLines(lines)[0]!).toBe(false);
      expect(warnings(lines)).toEqual([]);
    } finally {
      await backend.stop();
    }
  });
});
