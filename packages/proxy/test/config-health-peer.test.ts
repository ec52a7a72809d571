import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { isLbError } from '@switchyard/core';
import { createConfiguredApp, createProxyServer, resolveConfig } from '@switchyard/proxy';
import { close, generateTestPki, listen } from '@switchyard/testkit';
import { createProxy } from 'proxy';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { get, until } from './helpers/backends.js';

// The config builds each upstream's health check from the same peer settings as its traffic, so a
// TLS backend records the same SNI, source address and client certificate for both.

const pki = generateTestPki();
const dir = mkdtempSync(join(tmpdir(), 'switchyard-health-peer-'));
const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
writeFileSync(files.ca, pki.ca.cert);
writeFileSync(files.cert, pki.client.cert);
writeFileSync(files.key, pki.client.key);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** How one request reached the backend: `health` for the check's path, else `traffic`. */
interface Seen {
  readonly kind: 'health' | 'traffic';
  readonly servername: string | false | null;
  readonly remoteAddress: string | undefined;
  readonly clientCn: string | undefined;
}

/** An HTTPS backend on 127.0.0.1 (and ::1 on the same port, when there is one) recording each request. */
async function recordingBackend(options: ServerOptions): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const make = () =>
    createHttpsServer({ ...pki.server, ...options }, (req, res) => {
      const socket = req.socket as TLSSocket;
      const cn = socket.getPeerCertificate().subject?.CN;
      seen.push({
        kind: req.url === '/healthz' ? 'health' : 'traffic',
        servername: socket.servername,
        remoteAddress: socket.remoteAddress,
        clientCn: typeof cn === 'string' ? cn : undefined,
      });
      res.end('ok');
    });
  const v4 = make();
  const port = await listen(v4);
  cleanup.push(() => close(v4));
  // `localhost` may resolve to ::1 first elsewhere; listen there too so either address answers.
  const v6 = make();
  const v6Listening = await new Promise<boolean>((resolve) => {
    v6.once('error', () => resolve(false));
    v6.listen(port, '::1', () => resolve(true));
  });
  if (v6Listening) cleanup.push(() => close(v6));
  return { port, seen };
}

async function serve(upstream: Record<string, unknown>) {
  const configured = createConfiguredApp(resolveConfig({ upstreams: { web: upstream } }, process.cwd()));
  await configured.ready();
  const proxy = createProxyServer(configured.app, { observers: [configured.observer] });
  const { port } = await proxy.listen(0, '127.0.0.1');
  cleanup.push(() => configured.close());
  cleanup.push(() => proxy.close({ deadlineMs: 1000 }));
  return port;
}

const health = { type: 'http', path: '/healthz', intervalMs: 50 };

function identities(seen: readonly Seen[], kind: Seen['kind']) {
  return new Set(
    seen.filter((s) => s.kind === kind).map((s) => JSON.stringify([s.servername, s.remoteAddress, s.clientCn])),
  );
}

describe('health checks built from the config reach backends as traffic does', () => {
  it('the same SNI as traffic: the configured one, or none when sni is empty (a host-name backend)', async () => {
    for (const sni of ['upstream.test', '']) {
      const backend = await recordingBackend({});
      const port = await serve({
        backends: [`localhost:${backend.port}`],
        tls: true,
        sni,
        peer: { ca: files.ca },
        health,
      });
      await until('a health check', () => backend.seen.some((s) => s.kind === 'health'));
      expect((await get(port, '/x')).status).toBe(200);
      expect(identities(backend.seen, 'traffic').size).toBe(1);
      expect(identities(backend.seen, 'health')).toEqual(identities(backend.seen, 'traffic'));
      expect(backend.seen[0]?.servername).toBe(sni === '' ? false : sni);
      await Promise.all(
        cleanup
          .splice(0)
          .reverse()
          .map((fn) => fn()),
      );
    }
  });

  it('the client certificate and bindTo of the upstream’s peer: an mTLS backend sees both from checks and traffic', async () => {
    const backend = await recordingBackend({ ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true });
    const port = await serve({
      backends: [`127.0.0.1:${backend.port}`],
      tls: true,
      sni: 'upstream.test',
      peer: { ca: files.ca, clientCert: { cert: files.cert, key: files.key }, bindTo: '127.0.0.2' },
      health,
    });
    await until('a health check', () => backend.seen.some((s) => s.kind === 'health'));
    expect((await get(port, '/x')).status).toBe(200);
    expect([...identities(backend.seen, 'health')]).toEqual([
      JSON.stringify(['upstream.test', '127.0.0.2', 'switchyard-client']),
    ]);
    expect(identities(backend.seen, 'traffic')).toEqual(identities(backend.seen, 'health'));
  });

  it('the CONNECT proxy of the upstream’s peer: checks tunnel through it too', async () => {
    const connects: string[] = [];
    const proxyServer = createProxy(createHttpServer());
    proxyServer.on('connect', (req: IncomingMessage) => connects.push(req.url ?? ''));
    const proxyPort = await listen(proxyServer);
    cleanup.push(() => close(proxyServer));
    const backend = await recordingBackend({});
    const id = `127.0.0.1:${backend.port}`;
    const port = await serve({
      backends: [id],
      tls: true,
      sni: 'upstream.test',
      peer: { ca: files.ca, proxy: `http://127.0.0.1:${proxyPort}` },
      health,
    });
    await until('a health check', () => backend.seen.some((s) => s.kind === 'health'));
    // Every connection so far was a check's, and each came through the proxy.
    expect(connects.length).toBeGreaterThanOrEqual(1);
    expect(new Set(connects)).toEqual(new Set([id]));
    expect((await get(port, '/x')).status).toBe(200);
  });

  it('a TCP check with reset on a TLS upstream is a config error naming the field', () => {
    const raw = { upstreams: { web: { backends: ['127.0.0.1:1'], tls: true, health: { type: 'tcp', reset: true } } } };
    try {
      createConfiguredApp(resolveConfig(raw, process.cwd()));
      expect.unreachable('expected LB_ERR_INVALID_CONFIG');
    } catch (err) {
      if (!isLbError(err)) throw err;
      expect(err.code).toBe('LB_ERR_INVALID_CONFIG');
      expect(err.message).toMatch(/^upstreams\.web\.health\.reset: /);
    }
  });
});
