import { createServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { backend } from '@switchyard/core';
import { tcpCheck } from '@switchyard/health';
import {
  close,
  deadAddress,
  generateTestPki,
  listen,
  startBackend,
  startEndingsServer,
  type TestBackend,
} from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pki = generateTestPki();

describe('tcpCheck', () => {
  let up: TestBackend;
  beforeAll(async () => {
    up = await startBackend({ keepAliveTimeout: 60_000 });
  });
  afterAll(() => up.stop());

  it('passes when the port accepts a connection, and closes it', async () => {
    const before = up.connections;
    const result = await tcpCheck().check(up.backend);
    expect(result.ok).toBe(true);
    expect(result.reason).toBeUndefined();
    expect(up.connections).toBe(before + 1);
  });

  it('fails with "connection refused" on a port with nothing listening', async () => {
    const result = await tcpCheck().check(backend(await deadAddress()));
    expect(result).toMatchObject({ ok: false, reason: 'connection refused' });
  });

  it('fails with a timeout reason when the handshake never completes', async () => {
    // This server accepts and then stays silent, so the TLS handshake hangs until the deadline.
    const accepted: Socket[] = [];
    const silent = createNetServer((socket) => accepted.push(socket));
    const port = await listen(silent);
    const result = await tcpCheck({ tls: true, timeoutMs: 150 }).check(backend(`127.0.0.1:${port}`));
    expect(result).toMatchObject({ ok: false, reason: 'timeout after 150 ms' });
    expect(result.durationMs).toBeGreaterThanOrEqual(140);
    for (const socket of accepted) socket.destroy();
    await close(silent);
  });

  it('fails with a TLS error when the port does not speak TLS', async () => {
    const result = await tcpCheck({ tls: true }).check(up.backend);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/^TLS error: .*wrong version number/);
  });

  it('rejects bad options naming the field', () => {
    expect(() => tcpCheck({ timeoutMs: -1 })).toThrow(/timeoutMs/);
    expect(() => tcpCheck({ bogus: 1 } as never)).toThrow(/tcpCheck options/);
    expect(() => tcpCheck({ reset: 'yes' } as never)).toThrow(/tcpCheck reset: expected a boolean/);
    expect(() => tcpCheck({ reset: true, tls: true })).toThrow(/tcpCheck reset: expected false when tls is set/);
  });

  it('closes with a FIN by default and with a reset when `reset` is set', async () => {
    const server = await startEndingsServer();
    const b = backend(`127.0.0.1:${server.port}`);
    try {
      expect((await tcpCheck().check(b)).ok).toBe(true);
      await server.closed(1);
      expect((await tcpCheck({ reset: true }).check(b)).ok).toBe(true);
      await server.closed(2);
      expect(server.endings).toEqual(['end', 'ECONNRESET']);
    } finally {
      await server.close();
    }
  });

  it('an aborted signal ends the check at once', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await tcpCheck().check(up.backend, controller.signal);
    expect(result).toMatchObject({ ok: false, reason: 'check aborted' });
  });
});

describe('tcpCheck with TLS', () => {
  const server = createServer({ cert: pki.server.cert, key: pki.server.key });
  let port = 0;
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => close(server));

  it('passes a verified handshake with the CA, also with a matching SNI', async () => {
    const b = backend(`127.0.0.1:${port}`);
    expect((await tcpCheck({ tls: true, ca: pki.ca.cert }).check(b)).ok).toBe(true);
    expect((await tcpCheck({ tls: true, ca: pki.ca.cert, sni: 'upstream.test' }).check(b)).ok).toBe(true);
  });

  it('fails verification without the CA, and with a wrong SNI, saying so', async () => {
    const b = backend(`127.0.0.1:${port}`);
    const untrusted = await tcpCheck({ tls: true }).check(b);
    expect(untrusted.ok).toBe(false);
    expect(untrusted.reason).toMatch(/^TLS certificate verification failed/);
    const wrongName = await tcpCheck({ tls: true, ca: pki.ca.cert, sni: 'wrong.test' }).check(b);
    expect(wrongName.ok).toBe(false);
    expect(wrongName.reason).toMatch(/^TLS certificate verification failed.*wrong\.test/);
  });

  it('skips verification when verifyCert is false', async () => {
    expect((await tcpCheck({ tls: true, verifyCert: false }).check(backend(`127.0.0.1:${port}`))).ok).toBe(true);
  });
});
