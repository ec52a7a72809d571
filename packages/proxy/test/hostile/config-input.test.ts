import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLbError } from '@switchyard/core';
import { resolveConfig } from '@switchyard/proxy';
import { ensureBuilt, runCli, tempDir } from '@switchyard/testkit';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

// Every invalid config field is reported with its path; random JSON never produces a stack trace.

const BASE = Object.freeze({
  listen: '127.0.0.1:0',
  upstreams: { web: { backends: ['127.0.0.1:9001', '127.0.0.1:9002'] } },
});

/** A deep copy of BASE with `value` set at `path` (creating objects on the way). */
function withField(path: readonly (string | number)[], value: unknown): unknown {
  const root = JSON.parse(JSON.stringify(BASE)) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = root;
  path.forEach((key, i) => {
    if (i === path.length - 1) at[key] = value;
    else {
      if (typeof at[key] !== 'object' || at[key] === null) at[key] = typeof path[i + 1] === 'number' ? [] : {};
      at = at[key] as Record<string | number, unknown>;
    }
  });
  return root;
}

const U = ['upstreams', 'web'] as const;
const P = [...U, 'peer'] as const;

/** [field path to set, bad value, the path the error must name]. */
const CASES: readonly [readonly (string | number)[], unknown, string][] = [
  [['listen'], 'nowhere', 'listen'],
  [['listen'], 8080, 'listen'],
  [['listen'], '127.0.0.1:70000', 'listen'],
  [['lisen'], '127.0.0.1:1', 'lisen'],
  [['upstreams'], [], 'upstreams'],
  [['upstreams'], {}, 'upstreams'],
  [[...U, 'backends'], 'x', 'upstreams.web.backends'],
  [[...U, 'backends'], [], 'upstreams.web.backends'],
  [[...U, 'backends', 0], '127.0.0.1', 'upstreams.web.backends[0]'],
  [[...U, 'backends', 0], '127.0.0.1:0', 'upstreams.web.backends[0]'],
  [[...U, 'backends', 1], { address: '127.0.0.1:1', weight: 0 }, 'upstreams.web.backends[1].weight'],
  [[...U, 'backends', 1], { address: '127.0.0.1:1', weight: 1.5 }, 'upstreams.web.backends[1].weight'],
  [[...U, 'backends', 1], '127.0.0.1:9001', 'upstreams.web.backends[1]'],
  [[...U, 'selector'], { type: 'nope' }, 'upstreams.web.selector'],
  [[...U, 'selector'], { type: 'consistent', algorithm: 'md5' }, 'upstreams.web.selector.algorithm'],
  [[...U, 'selector'], { type: 'consistent', pointsPerWeight: 0 }, 'upstreams.web.selector.pointsPerWeight'],
  [[...U, 'selector'], { type: 'round-robin', mode: 'fast' }, 'upstreams.web.selector.mode'],
  [[...U, 'selector'], { type: 'random', key: 'bogus' }, 'upstreams.web.selector.key'],
  [[...U, 'selector'], { type: 'fnv', extra: 1 }, 'upstreams.web.selector.extra'],
  [[...U, 'health'], { type: 'udp' }, 'upstreams.web.health'],
  [[...U, 'health'], { type: 'http', path: 'healthz' }, 'upstreams.web.health.path'],
  [[...U, 'health'], { type: 'http', intervalMs: -1 }, 'upstreams.web.health.intervalMs'],
  [[...U, 'health'], { type: 'tcp', timeoutMs: 'soon' }, 'upstreams.web.health.timeoutMs'],
  [[...U, 'health'], { type: 'tcp', healthyThreshold: 0 }, 'upstreams.web.health.healthyThreshold'],
  [[...U, 'health'], { type: 'http', unhealthyThreshold: 1.5 }, 'upstreams.web.health.unhealthyThreshold'],
  [[...U, 'health'], { type: 'http', expectStatus: 99 }, 'upstreams.web.health.expectStatus'],
  [[...U, 'outlier'], { consecutiveFailures: 0 }, 'upstreams.web.outlier.consecutiveFailures'],
  [[...U, 'outlier'], { baseEjectionMs: -5 }, 'upstreams.web.outlier.baseEjectionMs'],
  [[...U, 'outlier'], { maxEjectionMs: 'x' }, 'upstreams.web.outlier.maxEjectionMs'],
  [[...U, 'outlier'], { maxEjectedPercent: 150 }, 'upstreams.web.outlier.maxEjectedPercent'],
  [[...U, 'discovery'], { type: 'file' }, 'upstreams.web.discovery'],
  [[...U, 'discovery'], { type: 'dns', name: 'svc.test', recordType: 'MX' }, 'upstreams.web.discovery.recordType'],
  [[...U, 'discovery'], { type: 'dns', name: 'svc.test', port: 0 }, 'upstreams.web.discovery.port'],
  [[...U, 'discovery'], { type: 'dns', name: 'svc.test', servers: ['x'] }, 'upstreams.web.discovery.servers[0]'],
  [[...U, 'tls'], 'yes', 'upstreams.web.tls'],
  [[...U, 'sni'], 5, 'upstreams.web.sni'],
  [[...U, 'maxIterations'], 0, 'upstreams.web.maxIterations'],
  [[...P, 'connectionTimeout'], -1, 'upstreams.web.peer.connectionTimeout'],
  [[...P, 'totalConnectionTimeout'], 'x', 'upstreams.web.peer.totalConnectionTimeout'],
  [[...P, 'readTimeout'], -1, 'upstreams.web.peer.readTimeout'],
  [[...P, 'writeTimeout'], null, 'upstreams.web.peer.writeTimeout'],
  [[...P, 'idleTimeout'], -1, 'upstreams.web.peer.idleTimeout'],
  [[...P, 'verifyCert'], 'no', 'upstreams.web.peer.verifyCert'],
  [[...P, 'verifyHostname'], 1, 'upstreams.web.peer.verifyHostname'],
  [[...P, 'alternativeCn'], '', 'upstreams.web.peer.alternativeCn'],
  [[...P, 'alpn'], 'h3', 'upstreams.web.peer.alpn'],
  [[...P, 'ca'], 5, 'upstreams.web.peer.ca'],
  [[...P, 'ca'], 'missing-ca.pem', 'upstreams.web.peer.ca'],
  [[...P, 'clientCert'], { cert: '' }, 'upstreams.web.peer.clientCert'],
  [[...P, 'proxy'], 'ftp://127.0.0.1:21', 'upstreams.web.peer.proxy'],
  [[...P, 'proxyHeaders'], { a: 1 }, 'upstreams.web.peer.proxyHeaders.a'],
  [[...P, 'bindTo'], 'not-an-ip', 'upstreams.web.peer.bindTo'],
  [[...P, 'tcpKeepalive'], { idle: -1, interval: 1, count: 1 }, 'upstreams.web.peer.tcpKeepalive.idle'],
  [[...P, 'requestPolicy'], 'lenient', 'upstreams.web.peer.requestPolicy'],
  [[...P, 'timeout'], 5, 'upstreams.web.peer.timeout'],
  [['routes'], 'x', 'routes'],
  [['routes'], [{ prefix: 'api', upstream: 'web' }], 'routes[0].prefix'],
  [['routes'], [{ prefix: '/', upstream: 'nope' }], 'routes[0].upstream'],
  [['routes'], [{ prefix: '/', upstream: 'web', failover: ['nope'] }], 'routes[0].failover[0]'],
  [['retries'], { maxAttempts: 0 }, 'retries.maxAttempts'],
  [['retries'], { maxAttempts: 17 }, 'retries.maxAttempts'],
  [['accessLog'], 'yes', 'accessLog'],
  [['logLevel'], 'loud', 'logLevel'],
  [['trustedProxies'], ['10.0.0.300'], 'trustedProxies[0]'],
  [['workers'], 0, 'workers'],
  [['server', 'tls'], { cert: 'c.pem' }, 'server.tls.key'],
  [['server', 'headersTimeout'], -1, 'server.headersTimeout'],
  [['server', 'requestTimeout'], 'x', 'server.requestTimeout'],
  [['server', 'keepAliveTimeout'], -1, 'server.keepAliveTimeout'],
  [['server', 'maxHeaderSize'], 10, 'server.maxHeaderSize'],
  [['server', 'shutdownTimeoutMs'], -1, 'server.shutdownTimeoutMs'],
  [['server', 'port'], 1, 'server.port'],
];

const dir = tempDir('switchyard-config-input-');

/** Runs `fn` over `items`, three at a time (each is a node child process). */
async function mapLimit<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += 3) {
    out.push(...(await Promise.all(items.slice(i, i + 3).map((item, j) => fn(item, i + j)))));
  }
  return out;
}

function resolveError(raw: unknown): unknown {
  try {
    resolveConfig(raw, dir);
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('every invalid config field', () => {
  for (const [path, value, named] of CASES) {
    it(`${named} = ${JSON.stringify(value)} → LB_ERR_INVALID_CONFIG naming ${named}`, () => {
      const err = resolveError(withField(path, value));
      expect(isLbError(err), String(err)).toBe(true);
      expect((err as { code: string }).code).toBe('LB_ERR_INVALID_CONFIG');
      const message = (err as Error).message;
      expect(message).toContain(named);
      expect(message).toMatch(/expected|cannot read/);
    });
  }

  it('the base config itself is valid (so each case fails for its field alone)', () => {
    expect(resolveError(BASE)).toBeUndefined();
  });
});

describe('switchyard check on hostile input', () => {
  beforeAll(ensureBuilt, 180_000);

  it('a sample of the table through the real CLI: exit 1, the path on stderr, no stack trace', async () => {
    const sample = CASES.filter((_, i) => i % 12 === 0);
    const runs = await mapLimit(sample, async ([path, value, named], i) => {
      const file = join(dir, `case-${i}.json`);
      writeFileSync(file, JSON.stringify(withField(path, value)));
      return { named, run: await runCli(['check', '--config', file], { timeoutMs: 30_000 }) };
    });
    for (const { named, run } of runs) {
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain(named);
      expect(run.stderr).not.toMatch(/^\s+at /m);
    }
  }, 180_000);

  it('random JSON: a valid resolved config (exit 0) or exit 1 with a message — never a stack trace', async () => {
    // Mostly the shape of a config with random leaves, so the checks deep inside are reached;
    // some wholly arbitrary JSON. Most runs call resolveConfig (what the CLI calls), a few the CLI.
    const leaf = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('127.0.0.1:1', '/x', 'http', 'tcp', -1, 0, 1.5, 2 ** 53),
    );
    const configish = fc.record(
      {
        listen: leaf,
        upstreams: fc.oneof(
          leaf,
          fc.dictionary(
            fc.string({ maxLength: 6 }),
            fc.record(
              {
                backends: fc.oneof(leaf, fc.array(leaf, { maxLength: 3 })),
                selector: fc.oneof(leaf, fc.record({ type: leaf, key: leaf }, { requiredKeys: [] })),
                health: fc.oneof(leaf, fc.record({ type: leaf, path: leaf, intervalMs: leaf }, { requiredKeys: [] })),
                peer: fc.oneof(leaf, fc.record({ readTimeout: leaf, proxy: leaf, ca: leaf }, { requiredKeys: [] })),
              },
              { requiredKeys: [] },
            ),
            { maxKeys: 2 },
          ),
        ),
        routes: fc.oneof(
          leaf,
          fc.array(fc.record({ prefix: leaf, upstream: leaf }, { requiredKeys: [] }), { maxLength: 2 }),
        ),
        retries: leaf,
        server: fc.oneof(leaf, fc.record({ headersTimeout: leaf, tls: leaf }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    );
    const input = fc.oneof({ weight: 3, arbitrary: configish }, { weight: 1, arbitrary: fc.jsonValue() });
    const seed = 7007;
    console.info(`config fuzz seed ${seed}`);
    await fc.assert(
      fc.property(input, (raw) => {
        const err = resolveError(raw);
        if (err === undefined) return;
        expect(isLbError(err), `${JSON.stringify(raw)} → ${String(err)}`).toBe(true);
        expect((err as { code: string }).code).toBe('LB_ERR_INVALID_CONFIG');
        expect((err as Error).message).toMatch(/expected|cannot read/);
      }),
      { seed, numRuns: 500 },
    );
    const samples = fc.sample(input, { seed, numRuns: 8 });
    const runs = await mapLimit(samples, async (raw, i) => {
      const file = join(dir, `random-${i}.json`);
      writeFileSync(file, JSON.stringify(raw) ?? 'null');
      return { raw, run: await runCli(['check', '--config', file], { timeoutMs: 30_000 }) };
    });
    for (const { raw, run } of runs) {
      const label = `${JSON.stringify(raw)}\n${run.stdout}${run.stderr}`;
      expect(run.signal, label).toBeNull();
      expect([0, 1], label).toContain(run.code);
      expect(run.stderr, label).not.toMatch(/^\s+at /m);
      if (run.code === 0) expect(() => JSON.parse(run.stdout), label).not.toThrow();
      else expect(run.stderr, label).toMatch(/invalid config\n[\s\S]*(expected|cannot read)/);
    }
  }, 180_000);

  it('a file that is not JSON or YAML, and a missing file: exit 1 with the reason', async () => {
    const bad = join(dir, 'broken.json');
    writeFileSync(bad, '{ "listen": ');
    const broken = await runCli(['check', '--config', bad]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/expected valid JSON/);
    const missing = await runCli(['check', '--config', join(dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read/);
    for (const run of [broken, missing]) expect(run.stderr).not.toMatch(/^\s+at /m);
  }, 30_000);
});
