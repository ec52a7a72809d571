import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpPeer } from '@switchyard/core';
import {
  ensureBuilt,
  type FaultBackend,
  freePort,
  generateTestPki,
  runCli,
  type ServeProcess,
  startFaultBackend,
  startLoad,
  startServe,
  tempDir,
  waitFor,
} from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A run that uses every kind of credential, logging at trace level; then its whole output is
// searched for each secret.

const PROXY_USER = 'scott';
const PROXY_PASSWORD = 'Pr0xyPa55w0rd-7f3a';
const AUTH_TOKEN = 'SECRET-BEARER-9b1c4e';
const PROXY_AUTH = 'SECRET-PROXYAUTH-52d0';
const COOKIE = 'SECRET-COOKIE-e8a1';

const pki = generateTestPki();
/** A line from the middle of the client key's base64: enough to identify it anywhere. */
const KEY_LINE = pki.client.key.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----'))[1] ?? '';

const SECRETS: Record<string, string> = {
  'proxy URI password': PROXY_PASSWORD,
  'proxy URI credentials (base64)': Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64'),
  Authorization: AUTH_TOKEN,
  'Proxy-Authorization': PROXY_AUTH,
  'Proxy-Authorization (base64)': Buffer.from(`x:${PROXY_AUTH}`).toString('base64'),
  Cookie: COOKIE,
  'client key': KEY_LINE,
};

function expectNoSecret(text: string, where: string): void {
  for (const [what, secret] of Object.entries(SECRETS)) {
    expect(secret.length).toBeGreaterThan(8);
    expect(text.includes(secret), `${what} appears in ${where}`).toBe(false);
  }
}

describe('credentials never reach logs or errors', () => {
  let backend: FaultBackend;
  let serve: ServeProcess;
  let dir: string;
  let config: (port: number) => unknown;
  const responses: string[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    backend = await startFaultBackend({ name: 'web' });
    const deadProxyPort = await freePort();
    dir = tempDir('switchyard-secrets-');
    writeFileSync(join(dir, 'client.pem'), pki.client.cert);
    writeFileSync(join(dir, 'client.key'), pki.client.key);
    writeFileSync(join(dir, 'ca.pem'), pki.ca.cert);
    config = (port: number) => ({
      listen: `127.0.0.1:${port}`,
      logLevel: 'trace',
      accessLog: true,
      upstreams: {
        web: { backends: [backend.id], health: { type: 'http', path: '/healthz', intervalMs: 200 } },
        tunnel: {
          backends: ['127.0.0.1:9'],
          tls: true,
          sni: 'localhost',
          peer: {
            proxy: `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${deadProxyPort}`,
            proxyHeaders: { 'Proxy-Authorization': `Basic ${Buffer.from(`x:${PROXY_AUTH}`).toString('base64')}` },
            clientCert: { cert: join(dir, 'client.pem'), key: join(dir, 'client.key') },
            ca: join(dir, 'ca.pem'),
            connectionTimeout: 500,
          },
        },
      },
      routes: [
        { prefix: '/tunnel', upstream: 'tunnel' },
        { prefix: '/', upstream: 'web' },
      ],
    });
    serve = await startServe({ config });
    const headers = {
      authorization: `Bearer ${AUTH_TOKEN}`,
      'proxy-authorization': `Basic ${Buffer.from(`x:${PROXY_AUTH}`).toString('base64')}`,
      cookie: `session=${COOKIE}; theme=dark`,
    };
    for (const path of ['/web/a', '/tunnel/b']) {
      const load = startLoad({
        port: serve.port,
        concurrency: 2,
        maxRequests: 10,
        headers,
        path: () => path,
        timeoutMs: 5000,
      });
      await load.done;
      for (const r of load.records) responses.push(`${r.status} ${r.body ?? ''} ${r.error ?? ''}`);
    }
    // pino writes asynchronously: wait until the 20 access-log lines are out.
    await waitFor('the access log of the 20 requests', () => accessLines().length >= 20, 10_000).catch(() => undefined);
  }, 120_000);

  afterAll(async () => {
    await serve?.stop();
    await backend?.stop();
  });

  const accessLines = () => serve.logs().filter((l) => typeof l.attempts === 'number' || l.log === 'access');

  it('the run did exercise both paths (the grep below is not vacuous)', () => {
    expect(responses.filter((r) => r.startsWith('200 ')).length, responses.join('\n')).toBe(10);
    const access = accessLines();
    expect(access.some((l) => String(l.path).startsWith('/web') && l.status === 200)).toBe(true);
    expect(access.some((l) => String(l.path).startsWith('/tunnel') && Number(l.status) >= 500)).toBe(true);
    expect(backend.requests.some((r) => r.target === '/web/a')).toBe(true);
    expect(serve.stdout.length).toBeGreaterThan(20);
  });

  it('the proxy log output (trace level, access log on) holds none of the credentials', () => {
    expectNoSecret(serve.output(), 'the serve output');
  });

  it('the error responses sent to clients hold none of them', () => {
    expectNoSecret(responses.join('\n'), 'responses');
  });

  it('the Authorization and Cookie of the client still reach the backend (end-to-end headers are forwarded, not logged)', () => {
    const received = backend.requests.find((r) => r.target === '/web/a');
    expect(received?.rawHead).toContain(AUTH_TOKEN);
    expect(received?.rawHead).toContain(COOKIE);
    expect(received?.rawHead).not.toContain(PROXY_AUTH);
  });

  it('switchyard check prints the resolved config without the secrets', async () => {
    const file = join(dir, 'switchyard.json');
    writeFileSync(file, JSON.stringify(config(8080)));
    const run = await runCli(['check', '--config', file], { timeoutMs: 30_000 });
    expect(run.code, run.stderr).toBe(0);
    expectNoSecret(run.stdout + run.stderr, 'switchyard check output');
  }, 40_000);

  it('an invalid config holding a credential: the error names the field but not the secret', async () => {
    const file = join(dir, 'bad.json');
    const bad = config(8080) as { upstreams: { tunnel: { peer: Record<string, unknown> } } };
    bad.upstreams.tunnel.peer.proxy = `ftp://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:21`;
    writeFileSync(file, JSON.stringify(bad));
    const run = await runCli(['check', '--config', file], { timeoutMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('upstreams.tunnel.peer.proxy');
    expectNoSecret(run.stdout + run.stderr, 'the config error');
  }, 40_000);

  it('library errors about a bad proxy URI do not echo its password', () => {
    let message = '';
    try {
      new HttpPeer('127.0.0.1:1', false, '', { proxy: { uri: `ftp://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:21` } });
    } catch (err) {
      message = String((err as Error).message);
    }
    expect(message).not.toBe('');
    expectNoSecret(message, 'the HttpPeer error');
  });
  it('a password anywhere in a config value is masked in every check and serve error', async () => {
    const userinfo = `${PROXY_USER}:${PROXY_PASSWORD}@`;
    const file = join(dir, 'everywhere.json');
    writeFileSync(
      file,
      JSON.stringify({
        listen: `${userinfo}127.0.0.1:8080`,
        upstreams: {
          web: { backends: [`${userinfo}127.0.0.1:80`] },
          dns: { discovery: { type: 'dns', name: 'svc.test', port: 80, servers: [`${userinfo}10.0.0.1`] } },
          tunnel: {
            backends: ['127.0.0.1:9'],
            peer: {
              proxy: `http://${userinfo}127.0.0.1:3128`,
              proxyHeaders: { Authorization: `Bearer ${AUTH_TOKEN}`, 'Proxy-Authorization': 5 },
            },
          },
        },
        routes: [{ prefix: '/', upstream: `http://${userinfo}web` }],
      }),
    );
    for (const command of ['check', 'serve']) {
      const run = await runCli([command, '--config', file], { timeoutMs: 30_000 });
      expect(run.code, run.stderr).toBe(1);
      for (const path of [
        'listen',
        'upstreams.web.backends[0]',
        'upstreams.dns.discovery.servers[0]',
        'upstreams.tunnel.peer.proxyHeaders.Proxy-Authorization',
        'routes[0].upstream',
      ]) {
        expect(run.stderr, `${command} names ${path}`).toContain(`${path}: expected`);
      }
      // The values are echoed, with the password masked: the grep above is not vacuous.
      expect(run.stderr).toContain(`${PROXY_USER}:***@`);
      expectNoSecret(run.stdout + run.stderr, `switchyard ${command} output`);
    }
  }, 60_000);

  it('an error serve meets only at start-up is masked too', async () => {
    const file = join(dir, 'startup.json');
    writeFileSync(
      file,
      JSON.stringify({
        listen: '127.0.0.1:0',
        upstreams: {
          web: {
            discovery: { type: 'file', path: `https://${PROXY_USER}:${PROXY_PASSWORD}@files.test/backends.json` },
          },
        },
      }),
    );
    const check = await runCli(['check', '--config', file], { timeoutMs: 30_000 });
    expect(check.code, check.stderr).toBe(0);
    const serve = await runCli(['serve', '--config', file], { timeoutMs: 30_000 });
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain('upstreams.web.discovery: ');
    expect(serve.stderr).toContain(`${PROXY_USER}:***@files.test`);
    expectNoSecret(check.stdout + check.stderr + serve.stdout + serve.stderr, 'the start-up error');
  }, 60_000);
  it('a password in a config value never reaches the log of a running serve', async () => {
    // A discovery file whose path holds URL-style credentials; breaking it makes discovery log the path.
    const folder = join(dir, `https:`, `${PROXY_USER}:${PROXY_PASSWORD}@files.test`);
    mkdirSync(folder, { recursive: true });
    const list = join(folder, 'backends.json');
    writeFileSync(list, JSON.stringify([backend.id]));
    const run = await startServe({
      config: (port) => ({
        listen: `127.0.0.1:${port}`,
        logLevel: 'debug',
        upstreams: { web: { discovery: { type: 'file', path: list, pollMs: 50 } } },
      }),
    });
    try {
      writeFileSync(list, '[not json');
      await waitFor('the discovery warning', () => run.output().includes('keeping the last good'), 10_000);
      expect(run.output()).toContain(`${PROXY_USER}:***@files.test`);
      expectNoSecret(run.output(), 'the serve log');
    } finally {
      await run.stop();
    }
  }, 60_000);
});
