import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLbError } from '@switchyard/core';
import { formatConfig, loadConfig, resolveConfig } from '@switchyard/proxy';
import { generateTestPki } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';

// biome-ignore lint/suspicious/noExplicitAny: the cases mutate arbitrary paths of a raw config
type Loose = any;

const dir = mkdtempSync(join(tmpdir(), 'switchyard-config-'));

/** The example config, with every fixed field name. */
function example(): Loose {
  return {
    listen: '127.0.0.1:8080',
    upstreams: {
      web: {
        backends: ['127.0.0.1:9001', { address: '127.0.0.1:9002', weight: 2 }],
        selector: { type: 'consistent', algorithm: 'nginx', key: 'uri' },
        health: {
          type: 'http',
          path: '/healthz',
          intervalMs: 1000,
          timeoutMs: 1000,
          healthyThreshold: 1,
          unhealthyThreshold: 1,
        },
        tls: false,
        sni: '',
        peer: {
          connectionTimeout: 1000,
          readTimeout: 30000,
          idleTimeout: 60000,
          verifyCert: true,
          proxy: 'http://127.0.0.1:3128',
        },
      },
      api: { backends: ['127.0.0.1:9101'] },
      'api-dr': { backends: ['127.0.0.1:9201'] },
    },
    routes: [
      { prefix: '/api', upstream: 'api', failover: ['api-dr'] },
      { prefix: '/', upstream: 'web' },
    ],
    retries: { maxAttempts: 3 },
    accessLog: true,
  };
}

function errorOf(raw: unknown): string {
  try {
    resolveConfig(raw, dir);
  } catch (err) {
    expect(isLbError(err) && err.code).toBe('LB_ERR_INVALID_CONFIG');
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('resolveConfig', () => {
  it('logBufferBytes / logFlushMs: defaults (16 KiB, 100 ms), 0 for one write per turn, and bad values named', () => {
    const config = resolveConfig(example(), dir);
    expect([config.logBufferBytes, config.logFlushMs]).toEqual([16_384, 100]);
    expect(resolveConfig({ ...example(), logBufferBytes: 0 }, dir).logBufferBytes).toBe(0);
    expect(resolveConfig({ ...example(), logBufferBytes: 65_536, logFlushMs: 250 }, dir)).toMatchObject({
      logBufferBytes: 65_536,
      logFlushMs: 250,
    });
    expect(errorOf({ ...example(), logBufferBytes: -1 })).toMatch(/logBufferBytes/);
    expect(errorOf({ ...example(), logBufferBytes: 2 ** 21 })).toMatch(/logBufferBytes/);
    expect(errorOf({ ...example(), logFlushMs: 0 })).toMatch(/logFlushMs: expected a duration in ms > 0, got 0/);
    expect(errorOf({ ...example(), logFlushMs: 2 ** 31 })).toMatch(/logFlushMs: expected a duration in ms of at most/);
  });

  it('resolves the example: defaults, parsed backends, longest-prefix-first routes, frozen', () => {
    const config = resolveConfig(example(), dir);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    const web = config.upstreams.web!;
    expect(web.backends.map((b) => [b.id, b.weight])).toEqual([
      ['127.0.0.1:9001', 1],
      ['127.0.0.1:9002', 2],
    ]);
    expect(web.selector).toEqual({ type: 'consistent', key: 'uri', options: { algorithm: 'nginx' } });
    expect(web.health).toMatchObject({ type: 'http', path: '/healthz', expectStatus: 200 });
    expect(web.peerInit.options).toMatchObject({ connectionTimeout: 1000, readTimeout: 30000, idleTimeout: 60000 });
    expect(web.peerInit.proxy).toEqual({ uri: 'http://127.0.0.1:3128' });
    expect(config.upstreams.api!.selector).toEqual({ type: 'round-robin', key: 'uri', options: { mode: 'smooth' } });
    expect(config.routes.map((r) => r.prefix)).toEqual(['/api', '/']);
    expect(config.routes[0]!.failover).toEqual(['api-dr']);
    expect(config.retries.maxAttempts).toBe(3);
    expect(config.workers).toBe(1);
    expect(config.trustedProxies).toEqual([]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.upstreams.web!.peer)).toBe(true);
    expect(Object.isFrozen(config.routes[0]!.failover)).toBe(true);
  });

  it('without routes a single upstream serves every path', () => {
    const config = resolveConfig({ upstreams: { only: { backends: ['127.0.0.1:9001'] } } }, dir);
    expect(config.routes).toEqual([{ prefix: '/', upstream: 'only', failover: [], overprovisioningFactor: 1.4 }]);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.accessLog).toBe(true);
  });

  it('reads ca and clientCert relative to baseDir, prints paths but never PEM or proxy passwords', () => {
    const pki = generateTestPki();
    const sub = mkdtempSync(join(dir, 'pki-'));
    writeFileSync(join(sub, 'ca.pem'), pki.ca.cert);
    writeFileSync(join(sub, 'client.pem'), pki.client.cert);
    writeFileSync(join(sub, 'client.key'), pki.client.key);
    const raw = {
      upstreams: {
        web: {
          backends: ['127.0.0.1:9443'],
          tls: true,
          sni: 'localhost',
          peer: {
            ca: 'ca.pem',
            clientCert: { cert: 'client.pem', key: './client.key' },
            proxy: 'http://u:hunter2@127.0.0.1:3128',
          },
        },
      },
    };
    const config = resolveConfig(raw, sub);
    const web = config.upstreams.web!;
    expect(web.peerInit.options?.ca).toEqual([pki.ca.cert]);
    expect(web.peerInit.clientCertKey).toEqual({ cert: pki.client.cert, key: pki.client.key });
    expect(web.peer.ca).toEqual([join(sub, 'ca.pem')]);
    const printed = formatConfig(config);
    expect(printed).toContain(join(sub, 'client.key'));
    expect(printed).not.toContain('BEGIN');
    expect(printed).not.toContain('hunter2');
    expect(printed).toContain('"127.0.0.1:9443"');
  });

  it('names the path and the expectation for every invalid field', () => {
    const cases: [(c: Loose) => void, RegExp][] = [
      [
        (c) => (c.upstreams.web.peer.connectionTimeout = 'abc'),
        /^upstreams\.web\.peer\.connectionTimeout: expected a number >= 0, got "abc"$/,
      ],
      [
        (c) => (c.upstreams.web.peer.readTimeout = -1),
        /upstreams\.web\.peer\.readTimeout: expected a number >= 0, got -1/,
      ],
      [(c) => (c.listen = 'localhost'), /^listen: expected "host:port".*got "localhost"/],
      [(c) => (c.upstreams.web.backends[0] = '127.0.0.1'), /^upstreams\.web\.backends\[0\]: expected "host:port"/],
      [
        (c) => (c.upstreams.web.backends[1].weight = 0),
        /^upstreams\.web\.backends\[1\]\.weight: expected an integer from 1 to 65535, got 0/,
      ],
      [
        (c) => (c.upstreams.web.selector.type = 'magic'),
        /^upstreams\.web\.selector\.type: expected a selector type: "consistent" \| "round-robin"/,
      ],
      [
        (c) => (c.upstreams.web.selector.algorithm = 'md5'),
        /^upstreams\.web\.selector\.algorithm: expected "nginx" or "ketama", got "md5"/,
      ],
      [
        (c) => (c.upstreams.web.selector.key = 'url'),
        /^upstreams\.web\.selector\.key: expected "uri", "path", "client-ip", "header:NAME"/,
      ],
      [
        (c) => (c.upstreams.web.health.type = 'grpc'),
        /^upstreams\.web\.health\.type: expected a health check type: "http" \| "tcp"/,
      ],
      [
        (c) => (c.upstreams.web.health.intervalMs = null),
        /^upstreams\.web\.health\.intervalMs: expected a duration in ms, got null/,
      ],
      [
        (c) => (c.upstreams.web.health.unhealthyThreshold = 1.5),
        /^upstreams\.web\.health\.unhealthyThreshold: expected an integer/,
      ],
      [(c) => (c.upstreams.web.tls = 'yes'), /^upstreams\.web\.tls: expected true or false, got "yes"/],
      [
        (c) => (c.upstreams.web.peer.proxy = 'socks5://x:1'),
        /^upstreams\.web\.peer\.proxy: expected an http:\/\/ or https:\/\/ URL/,
      ],
      [
        (c) => (c.upstreams.web.peer.alpn = 'h3'),
        /^upstreams\.web\.peer\.alpn: expected "h1", "h2" or "h2h1", got "h3"/,
      ],
      [
        (c) => (c.upstreams.web.peer.ca = 'missing.pem'),
        /^upstreams\.web\.peer\.ca: cannot read ".*missing\.pem" \(ENOENT\)/,
      ],
      [
        (c) => (c.upstreams.web.peer.connTimeout = 5),
        /^upstreams\.web\.peer\.connTimeout: unknown field; expected only the fields connectionTimeout/,
      ],
      [
        (c) => (c.routes[0].upstream = 'nope'),
        /^routes\[0\]\.upstream: expected one of the upstreams \(web, api, api-dr\), got "nope"/,
      ],
      [
        (c) => (c.routes[0].failover = ['api']),
        /^routes\[0\]\.failover\[0\]: expected an upstream not already in this route/,
      ],
      [
        (c) => (c.routes[1].prefix = 'web'),
        /^routes\[1\]\.prefix: expected a path prefix starting with "\/", got "web"/,
      ],
      [(c) => delete c.routes, /^routes: expected routes when there is more than one upstream/],
      [(c) => (c.retries.maxAttempts = 0), /^retries\.maxAttempts: expected an integer from 1 to 16, got 0/],
      [(c) => (c.accessLog = 'on'), /^accessLog: expected true or false, got "on"/],
      [(c) => (c.upstreams.web.backends = []), /^upstreams\.web\.backends: expected at least one backend/],
      [
        (c) => (c.upstreams.web.backends = ['127.0.0.1:1', '127.0.0.1:1']),
        /^upstreams\.web\.backends\[1\]: expected each backend once/,
      ],
      [(c) => delete c.upstreams.web.backends, /^upstreams\.web: expected exactly one of "backends" and "discovery"/],
      [(c) => (c.upstreams = {}), /^upstreams: expected at least one upstream/],
      [(c) => delete c.upstreams, /^upstreams: expected an object of named upstreams, got nothing/],
      [(c) => (c.trustedProxies = ['not-an-ip']), /^trustedProxies\[0\]: expected an IP address, got "not-an-ip"/],
      [(c) => (c.workers = 0), /^workers: expected an integer from 1 to 256, got 0/],
      [
        (c) => (c.upstreams.web.peer.bindTo = 'eth0'),
        /^upstreams\.web\.peer\.bindTo: expected a local IP address, got "eth0"/,
      ],
    ];
    for (const [mutate, expected] of cases) {
      const raw = example();
      mutate(raw);
      expect(errorOf(raw)).toMatch(expected);
    }
  });

  it('reports every problem, one line each', () => {
    const raw = example();
    raw.upstreams.web.peer.connectionTimeout = 'abc';
    raw.accessLog = 1;
    const message = errorOf(raw);
    expect(message).toMatch(/^2 problems\n/);
    expect(message).toContain('  upstreams.web.peer.connectionTimeout: expected a number >= 0, got "abc"');
    expect(message).toContain('  accessLog: expected true or false, got 1');
  });

  it('rejects non-objects at the root', () => {
    expect(errorOf(null)).toMatch(/^\(config\): expected an object/);
    expect(errorOf([])).toMatch(/^\(config\): expected an object/);
    expect(errorOf('x')).toMatch(/^\(config\): expected an object/);
  });
});

describe('loadConfig', () => {
  it('reads JSON and YAML, resolving paths against the file folder', () => {
    const sub = mkdtempSync(join(dir, 'load-'));
    writeFileSync(join(sub, 'a.json'), JSON.stringify({ upstreams: { w: { backends: ['127.0.0.1:1'] } } }));
    writeFileSync(
      join(sub, 'b.yaml'),
      'listen: 127.0.0.1:0\nupstreams:\n  w:\n    backends: ["127.0.0.1:2"]\n    discovery: { type: file, path: list.yaml }\n',
    );
    writeFileSync(join(sub, 'c.yml'), 'upstreams:\n  w:\n    discovery: { type: file, path: list.yaml }\n');
    expect(loadConfig(join(sub, 'a.json')).upstreams.w!.backends[0]!.id).toBe('127.0.0.1:1');
    expect(() => loadConfig(join(sub, 'b.yaml'))).toThrow(
      /upstreams\.w: expected exactly one of "backends" and "discovery"/,
    );
    const c = loadConfig(join(sub, 'c.yml'));
    expect(c.upstreams.w!.discovery).toEqual({ type: 'file', path: join(sub, 'list.yaml'), pollMs: 1000 });
    expect(c.source).toBe(join(sub, 'c.yml'));
  });

  it('names the file when it cannot be read or parsed', () => {
    const sub = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(join(sub, 'broken.json'), '{ "upstreams": ');
    writeFileSync(join(sub, 'broken.yaml'), 'upstreams: [unclosed');
    expect(() => loadConfig(join(sub, 'broken.json'))).toThrow(/broken\.json: \(file\): expected valid JSON/);
    expect(() => loadConfig(join(sub, 'broken.yaml'))).toThrow(/broken\.yaml: \(file\): expected valid YAML/);
    expect(() => loadConfig(join(sub, 'absent.json'))).toThrow(/absent\.json: \(file\): cannot read it \(ENOENT\)/);
  });
});
