import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backend, isLbError } from '@switchyard/core';
import {
  createHealthMonitor,
  createOutlierDetector,
  dnsDiscovery,
  etcdDiscovery,
  fileDiscovery,
  httpCheck,
  tcpCheck,
} from '@switchyard/health';
import {
  createBalancer,
  createConfiguredApp,
  createProxyServer,
  createUpstreamPeer,
  type ResolvedConfig,
  resolveConfig,
} from '@switchyard/proxy';
import { maglev, roundRobin } from '@switchyard/selectors';
import { describe, expect, it } from 'vitest';

// `check` accepts a file if and only if `serve` starts with it: for every config field that a
// library component takes, each probe value is accepted by the config exactly when the
// component's own factory accepts it (called the way `serve` calls it).

// biome-ignore lint/suspicious/noExplicitAny: the cases set arbitrary paths of a raw config
type Loose = any;

const dir = mkdtempSync(join(tmpdir(), 'switchyard-agreement-'));

function base(): Loose {
  return {
    upstreams: {
      web: { backends: ['127.0.0.1:9001'] },
      dns: { discovery: { type: 'dns', name: 'svc.test', port: 80 } },
      file: { discovery: { type: 'file', path: 'backends.json' } },
      etcd: { discovery: { type: 'etcd', endpoints: ['127.0.0.1:2379'], prefix: '/svc/' } },
    },
    routes: [
      { prefix: '/', upstream: 'web' },
      { prefix: '/dns', upstream: 'dns' },
      { prefix: '/file', upstream: 'file' },
      { prefix: '/etcd', upstream: 'etcd' },
    ],
  };
}

function configAccepts(mutate: (c: Loose) => void): boolean {
  const raw = base();
  mutate(raw);
  try {
    resolveConfig(raw, dir);
    return true;
  } catch (err) {
    expect(isLbError(err) && err.code, String(err)).toBe('LB_ERR_INVALID_CONFIG');
    return false;
  }
}

async function libraryAccepts(build: () => unknown): Promise<boolean> {
  try {
    const built = (await build()) as { close?: () => Promise<unknown> } | undefined;
    await built?.close?.();
    return true;
  } catch (err) {
    expect(isLbError(err) && err.code, String(err)).toBe('LB_ERR_INVALID_OPTION');
    return false;
  }
}

const APP = { upstreamPeer: () => undefined as never };
const BALANCER = createBalancer({ backends: [backend('127.0.0.1:9001')], selector: roundRobin });

/** Values on and around every bound in use, and wrong JSON types. */
const PROBES: readonly unknown[] = [
  -1,
  0,
  0.5,
  1,
  1.5,
  2,
  16,
  17,
  99,
  100,
  599,
  600,
  1000,
  1023,
  1024,
  16_384,
  300_000,
  400_000,
  2 ** 24,
  2 ** 24 + 1,
  2 ** 31 - 1,
  2 ** 31,
  Number.MAX_SAFE_INTEGER,
  '',
  '1',
  '/x',
  'x',
  true,
  false,
  null,
  [],
  ['10.0.0.1'],
  ['nope'],
  {},
];

type Case = readonly [name: string, set: (c: Loose, v: unknown) => void, library: (v: unknown) => unknown];

// `close({ deadlineMs, drainMs })` and `createBalancer({ maxIterations })` read their argument with `??`,
// so to them `null` means "not given"; a config file has no "not given" but leaving the field
// out, and rejects `null` in every field alike. These two are probed without `null`.
const NULL_MEANS_ABSENT = new Set(['server.shutdownTimeoutMs', 'server.drainMs', 'upstreams.web.maxIterations']);

const health = (c: Loose, type: 'http' | 'tcp') => {
  c.upstreams.web.health ??= { type };
  return c.upstreams.web.health;
};

const CASES: readonly Case[] = [
  ...(['headersTimeout', 'requestTimeout', 'keepAliveTimeout', 'maxHeaderSize'] as const).map(
    (f): Case => [
      `server.${f}`,
      (c, v) => {
        c.server = { [f]: v };
      },
      (v) => createProxyServer(APP, { [f]: v }),
    ],
  ),
  [
    'server.shutdownTimeoutMs',
    (c, v) => {
      c.server = { shutdownTimeoutMs: v };
    },
    (v) => createProxyServer(APP).close({ deadlineMs: v as number }),
  ],
  [
    'server.drainMs',
    (c, v) => {
      c.server = { drainMs: v };
    },
    (v) => createProxyServer(APP).close({ drainMs: v as number }),
  ],
  [
    'retries.maxAttempts',
    (c, v) => (c.retries = { maxAttempts: v }),
    (v) => createProxyServer(APP, { maxAttempts: v as number }),
  ],
  ...(['budgetPercent', 'budgetWindowMs', 'minPerSecond'] as const).map(
    (f): Case => [
      `retries.${f}`,
      (c, v) => (c.retries = { [f]: v }),
      (v) => createProxyServer(APP, { retryBudget: { [f]: v } }),
    ],
  ),
  ['accessLog', (c, v) => (c.accessLog = v), (v) => createProxyServer(APP, { accessLog: v as boolean })],
  [
    'trustedProxies',
    (c, v) => (c.trustedProxies = v),
    (v) => createProxyServer(APP, { trustedProxies: v as string[] }),
  ],
  [
    'upstreams.web.maxIterations',
    (c, v) => (c.upstreams.web.maxIterations = v),
    (v) => createBalancer({ backends: [backend('127.0.0.1:9001')], selector: roundRobin, maxIterations: v as number }),
  ],
  ...(['intervalMs', 'healthyThreshold', 'unhealthyThreshold', 'skipOnTraffic'] as const).flatMap((f) =>
    (['http', 'tcp'] as const).map(
      (type): Case => [
        `upstreams.web.health.${f} (${type})`,
        (c, v) => (health(c, type)[f] = v),
        (v) => createHealthMonitor({ backends: [], check: tcpCheck(), [f]: v }),
      ],
    ),
  ),
  [
    'upstreams.web.health.timeoutMs (tcp)',
    (c, v) => (health(c, 'tcp').timeoutMs = v),
    (v) => tcpCheck({ timeoutMs: v as number }),
  ],
  [
    'upstreams.web.health.reset (tcp)',
    (c, v) => (health(c, 'tcp').reset = v),
    (v) => tcpCheck({ reset: v as boolean }),
  ],
  ...(['timeoutMs', 'path', 'host', 'expectStatus'] as const).map(
    (f): Case => [
      `upstreams.web.health.${f} (http)`,
      (c, v) => (health(c, 'http')[f] = v),
      (v) => httpCheck({ [f]: v }),
    ],
  ),
  ...(['consecutiveFailures', 'baseEjectionMs', 'maxEjectionMs', 'maxEjectedPercent'] as const).map(
    (f): Case => [
      `upstreams.web.outlier.${f}`,
      (c, v) => (c.upstreams.web.outlier = { [f]: v }),
      (v) => createOutlierDetector({ [f]: v }),
    ],
  ),
  [
    'upstreams.file.discovery.pollMs',
    (c, v) => (c.upstreams.file.discovery.pollMs = v),
    (v) => fileDiscovery(join(dir, 'backends.json'), { pollMs: v as number }),
  ],
  ...(['endpoints', 'prefix', 'dialTimeoutMs', 'retryInitialMs', 'retryMaxMs'] as const).map(
    (f): Case => [
      `upstreams.etcd.discovery.${f}`,
      (c, v) => (c.upstreams.etcd.discovery[f] = v),
      (v) => etcdDiscovery({ endpoints: ['127.0.0.1:2379'], prefix: '/svc/', [f]: v }),
    ],
  ),
  [
    'routes[0].overprovisioningFactor',
    (c, v) => (c.routes[0].overprovisioningFactor = v),
    (v) =>
      createUpstreamPeer({
        balancer: BALANCER,
        key: () => '',
        peer: () => undefined as never,
        overprovisioningFactor: v as number,
      }),
  ],
  ...(['port', 'servers', 'refreshMs'] as const).map(
    (f): Case => [
      `upstreams.dns.discovery.${f}`,
      (c, v) => (c.upstreams.dns.discovery[f] = v),
      (v) => dnsDiscovery({ name: 'svc.test', type: 'A', port: 80, [f]: v } as Parameters<typeof dnsDiscovery>[0]),
    ],
  ),
];

describe('check accepts a value iff the library component serve builds accepts it', () => {
  for (const [name, set, library] of CASES) {
    it(name, async () => {
      for (const value of PROBES) {
        if (value === null && NULL_MEANS_ABSENT.has(name)) continue;
        const byLibrary = await libraryAccepts(() => library(value));
        expect(
          configAccepts((c) => set(c, value)),
          `${name} = ${JSON.stringify(value)}`,
        ).toBe(byLibrary);
      }
    });
  }

  it('rules between fields: headersTimeout against requestTimeout, maxEjectionMs against baseEjectionMs', async () => {
    const values = [0, 1, 1000, 20_000, 300_000, 400_000];
    for (const headersTimeout of values) {
      for (const requestTimeout of values) {
        const library = await libraryAccepts(() => createProxyServer(APP, { headersTimeout, requestTimeout }));
        const config = configAccepts((c) => (c.server = { headersTimeout, requestTimeout }));
        expect(config, JSON.stringify({ headersTimeout, requestTimeout })).toBe(library);
      }
    }
    for (const baseEjectionMs of values) {
      for (const maxEjectionMs of values) {
        const library = await libraryAccepts(() => createOutlierDetector({ baseEjectionMs, maxEjectionMs }));
        const config = configAccepts((c) => (c.upstreams.web.outlier = { baseEjectionMs, maxEjectionMs }));
        expect(config, JSON.stringify({ baseEjectionMs, maxEjectionMs })).toBe(library);
      }
    }
  });
});

describe('the values check used to accept and serve refused', () => {
  function errorOf(mutate: (c: Loose) => void): string {
    const raw = base();
    mutate(raw);
    try {
      resolveConfig(raw, dir);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected the config to be rejected');
  }

  it('server.headersTimeout 0, 1.5 and 400000 (over the default requestTimeout)', () => {
    expect(errorOf((c) => (c.server = { headersTimeout: 0 }))).toBe(
      'server.headersTimeout: expected an integer from 1 to 2147483647, got 0',
    );
    expect(errorOf((c) => (c.server = { headersTimeout: 1.5 }))).toBe(
      'server.headersTimeout: expected an integer from 1 to 2147483647, got 1.5',
    );
    expect(errorOf((c) => (c.server = { headersTimeout: 400_000 }))).toBe(
      'server.headersTimeout: expected at most requestTimeout (300000), got 400000',
    );
  });

  it('health.intervalMs 0 and health.timeoutMs 0, for both check types', () => {
    for (const type of ['http', 'tcp']) {
      expect(errorOf((c) => (c.upstreams.web.health = { type, intervalMs: 0 }))).toMatch(
        /^upstreams\.web\.health\.intervalMs: expected .*, got 0$/,
      );
      expect(errorOf((c) => (c.upstreams.web.health = { type, timeoutMs: 0 }))).toMatch(
        /^upstreams\.web\.health\.timeoutMs: expected .*, got 0$/,
      );
    }
  });

  it('defaults come from the components: the printed config shows the library values', () => {
    const config = resolveConfig(
      { upstreams: { web: { backends: ['127.0.0.1:1'], health: { type: 'tcp' }, outlier: {} } } },
      dir,
    );
    expect(config.server).toEqual({
      headersTimeout: 20_000,
      requestTimeout: 300_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16_384,
      shutdownTimeoutMs: 10_000,
      drainMs: 5_000,
    });
    expect(config.upstreams.web?.health).toMatchObject({ intervalMs: 1000, timeoutMs: 1000, reset: false });
    expect(config.upstreams.web?.outlier).toEqual({
      consecutiveFailures: 5,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      maxEjectedPercent: 10,
    });
  });
  it('what a selector algorithm rejects for the listed backends (the balancer would throw at start-up)', () => {
    const backends = ['127.0.0.1:1', '127.0.0.1:2'];
    expect(() =>
      maglev(
        backends.map((b) => backend(b)),
        { tableSize: 101 },
      ),
    ).toThrow(/tableSize/);
    expect(errorOf((c) => (c.upstreams.web = { backends, selector: { type: 'maglev', tableSize: 101 } }))).toMatch(
      /^upstreams\.web\.selector\.tableSize: expected a prime >= 100 x 2 backends .*, got 101$/,
    );
    expect(
      errorOf(
        (c) =>
          (c.upstreams.web = { backends, selector: { type: 'consistent', algorithm: 'ketama', pointsPerWeight: 5 } }),
      ),
    ).toMatch(/^upstreams\.web\.selector\.pointsPerWeight: expected a multiple of 4/);
    expect(configAccepts((c) => (c.upstreams.web = { backends, selector: { type: 'maglev', tableSize: 211 } }))).toBe(
      true,
    );
  });
  it('a health check is validated as the balancer builds it, with the upstream it belongs to', async () => {
    // reset (plain TCP only) against the upstream's tls: the config must say what building the
    // configured app says, whatever the check takes from the upstream.
    for (const tls of [false, true]) {
      for (const reset of [false, true]) {
        const raw = (r: boolean) => ({
          upstreams: { web: { backends: ['127.0.0.1:9'], tls, health: { type: 'tcp', reset: r, intervalMs: 60_000 } } },
        });
        const plain = resolveConfig(raw(false), dir);
        const web = plain.upstreams.web as ResolvedConfig['upstreams'][string];
        const patched = { ...plain, upstreams: { web: { ...web, health: { ...web.health, reset } } } };
        let serves = true;
        try {
          await createConfiguredApp(patched as ResolvedConfig).close();
        } catch (err) {
          expect(isLbError(err), String(err)).toBe(true);
          serves = false;
        }
        expect(
          configAccepts((c) => Object.assign(c, raw(reset), { routes: undefined })),
          JSON.stringify({ tls, reset }),
        ).toBe(serves);
      }
    }
  });
});
