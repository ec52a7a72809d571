import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { isLbError } from '@switchyard/core';
import { loadConfig, type ResolvedConfig, resolveConfig } from '@switchyard/proxy';
import { ensureBuilt, freePort, generateTestPki, runCli, tempDir } from '@switchyard/testkit';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServing } from '../src/commands/serve-start.js';
import { findJsonSyntaxError } from '../src/config/json-syntax.js';

const pki = generateTestPki();
const dir = tempDir('switchyard-config-errors-');
writeFileSync(join(dir, 'server.pem'), pki.server.cert);
writeFileSync(join(dir, 'server.key'), pki.server.key);
writeFileSync(join(dir, 'client.pem'), pki.client.cert);
// The client's key does not belong to the server's certificate.
writeFileSync(join(dir, 'other.key'), pki.client.key);

function write(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

function loadError(file: string): string {
  try {
    loadConfig(file);
  } catch (err) {
    expect(isLbError(err) && err.code).toBe('LB_ERR_INVALID_CONFIG');
    return (err as Error).message;
  }
  throw new Error(`expected ${file} to be rejected`);
}

/** A file with one mistake of every kind: schema, library range, routes, files, TLS pairs. */
const MANY_MISTAKES = {
  listen: '127.0.0.1:0',
  server: { headersTimeout: 0, tls: { cert: 'server.pem', key: 'other.key' } },
  upstreams: {
    web: { backends: ['127.0.0.1:9001'], health: { type: 'http', intervalMs: 0 }, peer: { ca: 'missing-ca.pem' } },
    api: {
      backends: 'not-a-list',
      peer: { clientCert: { cert: 'client.pem', key: 'server.key' } },
    },
  },
  routes: [
    { prefix: '/api', upstream: 'api' },
    { prefix: '/api/', upstream: 'web' },
    { prefix: '/', upstream: 'nowhere' },
  ],
  accessLog: 'yes',
};

const EXPECTED_LINES = [
  'accessLog: expected true or false, got "yes"',
  'upstreams.api.backends: expected an array of backends, got "not-a-list"',
  'server.headersTimeout: expected an integer from 1 to 2147483647, got 0',
  'upstreams.web.health.intervalMs: expected from 1 to 2147483647 ms, got 0',
  `upstreams.web.peer.ca: cannot read ${JSON.stringify(join(dir, 'missing-ca.pem'))} (ENOENT)`,
  'upstreams.api.peer.clientCert: expected a PEM certificate and the private key that matches it',
  'routes[1].prefix: expected a prefix not used by an earlier route, got "/api/"',
  'routes[2].upstream: expected one of the upstreams (web, api), got "nowhere"',
  'server.tls: expected a PEM certificate and the private key that matches it',
];

describe('all of a file’s problems in one run', () => {
  it('schema, library ranges, routes, unreadable files and mismatched TLS pairs together', () => {
    const message = loadError(write('many.json', MANY_MISTAKES));
    expect(message).toMatch(new RegExp(`^${join(dir, 'many.json')}: ${EXPECTED_LINES.length} problems\\n`));
    for (const line of EXPECTED_LINES) expect(message).toContain(`\n  ${line}`);
  });

  it('a server.tls pair that does not match is named, without echoing the key', () => {
    const message = loadError(
      write('pair.json', {
        server: { tls: { cert: 'server.pem', key: 'other.key' } },
        upstreams: { web: { backends: ['127.0.0.1:1'] } },
      }),
    );
    expect(message).toMatch(/server\.tls: expected a PEM certificate and the private key that matches it \(.+\)$/);
    expect(message).not.toContain('PRIVATE KEY');
  });
});

describe('syntax errors give line and column', () => {
  it('JSON: line, column and the character found; nothing of the text around it', () => {
    const text = '{\n  "upstreams": {\n    "web": { "backends": ["u:Secret-pw-1@127.0.0.1:1",] }\n  }\n}\n';
    const message = loadError(write('syntax.json', text));
    expect(message).toBe(
      `${join(dir, 'syntax.json')}: (file): expected valid JSON: line 3, column 55: expected a value, found "]"`,
    );
    expect(message).not.toContain('Secret-pw-1');
    expect(loadError(write('empty.json', ''))).toMatch(
      /line 1, column 1: expected a value, found the end of the file$/,
    );
    expect(loadError(write('open.json', '{\n  "a": 1'))).toMatch(
      /line 2, column 9: expected "," or "}", found the end/,
    );
  });

  it('YAML: line and column from the parser, without its excerpt of the file', () => {
    const message = loadError(
      write('syntax.yaml', 'upstreams:\n  web:\n    backends: [127.0.0.1:1,\n  x: "Secret-pw-2\n'),
    );
    expect(message).toMatch(/syntax\.yaml: \(file\): expected valid YAML: line \d+, column \d+: /);
    expect(message).not.toContain('Secret-pw-2');
    expect(message.split('\n')).toHaveLength(1);
  });

  it('the scanner finds an error exactly when JSON.parse throws (seed 20261203)', () => {
    const text = fc.oneof(
      fc.json(),
      fc.string(),
      // Valid JSON with one character removed, replaced or inserted: errors anywhere.
      fc
        .tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', '\\', '\n', 'x', '0'), fc.boolean())
        .map(([json, at, ch, replace]) => {
          const i = json.length === 0 ? 0 : at % json.length;
          return json.slice(0, i) + ch + json.slice(replace ? i + 1 : i);
        }),
    );
    fc.assert(
      fc.property(text, (t) => {
        let valid = true;
        try {
          JSON.parse(t);
        } catch {
          valid = false;
        }
        const found = findJsonSyntaxError(t);
        expect(found === undefined).toBe(valid);
        if (found !== undefined) {
          expect(found.line).toBeGreaterThanOrEqual(1);
          expect(found.line).toBeLessThanOrEqual(t.split('\n').length);
          expect(found.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { seed: 20261203, numRuns: 2000 },
    );
  });
});

describe('check and serve agree, and serve names the config path of a start-up failure', () => {
  let taken: Server;
  let takenPort: number;

  beforeAll(async () => {
    await ensureBuilt();
    taken = createServer();
    takenPort = await new Promise<number>((resolve) =>
      taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)),
    );
  }, 180_000);

  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('a file check rejects: serve exits 1 before opening its port, with the same lines', async () => {
    const port = await freePort();
    const cases = [
      { server: { headersTimeout: 400_000 } },
      { upstreams: { web: { backends: ['127.0.0.1:1'], health: { type: 'tcp', timeoutMs: 0 } } } },
      { server: { tls: { cert: 'server.pem', key: 'other.key' } } },
    ];
    for (const [i, extra] of cases.entries()) {
      const file = write(`reject-${i}.json`, {
        listen: `127.0.0.1:${port}`,
        upstreams: { web: { backends: ['127.0.0.1:1'] } },
        ...extra,
      });
      const check = await runCli(['check', '--config', file], { timeoutMs: 30_000 });
      const serve = await runCli(['serve', '--config', file], { timeoutMs: 30_000 });
      expect(check.code, check.stderr).toBe(1);
      expect(serve.code, serve.stderr).toBe(1);
      const problems = (text: string) => text.slice(text.indexOf('\n') + 1);
      expect(problems(serve.stderr)).toBe(problems(check.stderr));
      expect(check.stderr).toMatch(
        /: (server\.headersTimeout|upstreams\.web\.health\.timeoutMs|server\.tls): expected/,
      );
      expect(serve.stdout).not.toContain('listening');
    }
  }, 120_000);

  it('a listen port in use and an unreadable discovery file: serve says where in the config', async () => {
    const listen = write('taken.json', {
      listen: `127.0.0.1:${takenPort}`,
      upstreams: { web: { backends: ['127.0.0.1:1'] } },
    });
    const discovery = write('discovery.json', {
      listen: '127.0.0.1:0',
      upstreams: { web: { discovery: { type: 'file', path: 'no-such-backends.json' } } },
    });
    for (const file of [listen, discovery]) {
      const check = await runCli(['check', '--config', file], { timeoutMs: 30_000 });
      expect(check.code, check.stderr).toBe(0);
    }
    const a = await runCli(['serve', '--config', listen], { timeoutMs: 30_000 });
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(
      `switchyard serve: cannot start\n${listen}: listen: cannot listen on 127.0.0.1:${takenPort}`,
    );
    expect(a.stderr).toContain('EADDRINUSE');
    const b = await runCli(['serve', '--config', discovery], { timeoutMs: 30_000 });
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`${discovery}: upstreams.web.discovery: `);
    expect(b.stderr).toContain('no-such-backends.json');
    for (const run of [a, b]) expect(run.stderr).not.toMatch(/^\s+at /m);
  }, 120_000);
});

describe('startServing', () => {
  it('a balancer that cannot be built (a config resolveConfig would refuse) is named by its upstream', async () => {
    const ok = resolveConfig(
      {
        listen: '127.0.0.1:0',
        upstreams: { web: { backends: ['127.0.0.1:1'] }, api: { backends: ['127.0.0.1:2', '127.0.0.1:3'] } },
        routes: [
          { prefix: '/', upstream: 'web' },
          { prefix: '/api', upstream: 'api' },
        ],
      },
      dir,
    );
    const api = ok.upstreams.api as ResolvedConfig['upstreams'][string];
    const broken = {
      ...ok,
      upstreams: {
        ...ok.upstreams,
        api: { ...api, selector: { ...api.selector, type: 'maglev', options: { tableSize: 101 } } },
      },
    };
    const started = await startServing(broken as ResolvedConfig, pino({ enabled: false }), false);
    expect('issues' in started && started.issues).toEqual([
      {
        path: 'upstreams.api',
        message: expect.stringMatching(/^maglev tableSize: expected a prime >= 100 x 2 backends/),
      },
    ]);
  });
});
