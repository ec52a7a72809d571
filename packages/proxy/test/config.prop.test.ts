import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { isLbError } from '@switchyard/core';
import { createConfiguredApp, createProxyServer, resolveConfig } from '@switchyard/proxy';
import { pino } from 'pino';
import { expect } from 'vitest';
import { proxyServerOptions } from '../src/config/server-options.js';
import { validateCloseDeadline, validateCloseDrain } from '../src/server-defaults.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-config-prop-'));
const SEED = 20261126;

/** Mostly-plausible configs: the real field names with random values, so the validator's deep paths are exercised. */
const field = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('127.0.0.1:9001', 'uri', 'http', '/api', 'web', 0, -1, 1.5, true),
);
const plausible = fc.record(
  {
    listen: field,
    upstreams: fc.dictionary(
      fc.constantFrom('web', 'api', '__proto__', 'constructor', ''),
      fc.record(
        {
          backends: fc.array(fc.oneof(field, fc.record({ address: field, weight: field })), { maxLength: 3 }),
          selector: fc.record(
            { type: fc.constantFrom('consistent', 'round-robin', 'random', 'fnv', 'x'), key: field, algorithm: field },
            { requiredKeys: [] },
          ),
          health: fc.record(
            { type: fc.constantFrom('http', 'tcp', 'udp'), path: field, intervalMs: field },
            { requiredKeys: [] },
          ),
          peer: fc.dictionary(
            fc.constantFrom('connectionTimeout', 'ca', 'proxy', 'alpn', 'tcpKeepalive', 'bindTo', 'x'),
            field,
          ),
          tls: field,
          discovery: fc.record(
            { type: fc.constantFrom('file', 'dns'), path: field, name: field },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    routes: fc.array(
      fc.record({ prefix: field, upstream: fc.constantFrom('web', 'api', 'x'), failover: field }, { requiredKeys: [] }),
    ),
    retries: fc.record({ maxAttempts: field }, { requiredKeys: [] }),
    accessLog: field,
  },
  { requiredKeys: [] },
);

test.prop([fc.oneof(fc.jsonValue(), plausible)], { seed: SEED, numRuns: 400 })(
  `random JSON gives a resolved config or LB_ERR_INVALID_CONFIG with a message, never another exception (seed ${SEED})`,
  (raw) => {
    try {
      const config = resolveConfig(raw, dir);
      expect(Object.isFrozen(config)).toBe(true);
      expect(config.routes.length).toBeGreaterThan(0);
    } catch (err) {
      if (!isLbError(err) || err.code !== 'LB_ERR_INVALID_CONFIG') throw err;
      expect(err.message).toMatch(/\S+: \S/);
    }
  },
  // 400 validations take about a second; a loaded CI box may need many more.
  60_000,
);

/** Numbers on and around the bounds the components use, and a few wrong types. */
const bound = fc.constantFrom(
  -1,
  0,
  0.5,
  1,
  1.5,
  2,
  4,
  5,
  16,
  17,
  101,
  211,
  1000,
  65_537,
  300_000,
  400_000,
  2 ** 31,
  'x',
  null,
);
/** Mostly absent, so that a good share of the files is valid and gets built (JSON drops `undefined`). */
const edge = fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: bound });
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** A selector of each type with its own options, each present half the time. */
const often = fc.oneof(fc.constant(undefined), bound);
const selector = fc
  .oneof(
    fc.record({
      type: fc.constant('consistent'),
      algorithm: fc.constantFrom('nginx', 'ketama'),
      pointsPerWeight: often,
    }),
    fc.record({ type: fc.constantFrom('round-robin', 'random', 'fnv') }),
    fc.record({ type: fc.constant('maglev'), tableSize: often }),
    fc.record({
      type: fc.constant('bounded-load'),
      balanceFactor: often,
      hash: fc.constantFrom('consistent', 'maglev'),
    }),
    fc.record({ type: fc.constant('least-request'), choices: often }),
    fc.record({ type: fc.constant('peak-ewma'), decayMs: often, choices: often }),
  )
  .chain((s) => fc.record({ slowStartMs: often }).map((extra) => ({ ...s, ...extra })));
const nearBounds = fc.record({
  listen: fc.constant('127.0.0.1:0'),
  server: opt(
    fc.record(
      {
        headersTimeout: edge,
        requestTimeout: edge,
        keepAliveTimeout: edge,
        maxHeaderSize: edge,
        shutdownTimeoutMs: edge,
        drainMs: edge,
      },
      { requiredKeys: [] },
    ),
  ),
  retries: opt(fc.record({ maxAttempts: edge })),
  upstreams: fc.record({
    web: fc.record(
      {
        backends: fc.constantFrom(['127.0.0.1:1'], ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3']),
        maxIterations: edge,
        selector,
        health: fc.record(
          {
            type: fc.constantFrom('http', 'tcp'),
            intervalMs: edge,
            timeoutMs: edge,
            healthyThreshold: edge,
            unhealthyThreshold: edge,
          },
          { requiredKeys: ['type'] },
        ),
        outlier: fc.record(
          { consecutiveFailures: edge, baseEjectionMs: edge, maxEjectionMs: edge, maxEjectedPercent: edge },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['backends'] },
    ),
  }),
});

let built = 0;

test.prop([nearBounds], { seed: SEED, numRuns: 1000 })(
  `a config check accepts is one serve builds: balancers, health checks, selectors, server options (seed ${SEED})`,
  async (raw) => {
    let config: ReturnType<typeof resolveConfig>;
    try {
      config = resolveConfig(JSON.parse(JSON.stringify(raw)), dir);
    } catch (err) {
      if (!isLbError(err) || err.code !== 'LB_ERR_INVALID_CONFIG') throw err;
      return;
    }
    built++;
    const configured = createConfiguredApp(config);
    try {
      const logger = pino({ enabled: false });
      createProxyServer(configured.app, proxyServerOptions(config, configured.observer, logger));
      validateCloseDeadline(config.server.shutdownTimeoutMs);
      validateCloseDrain(config.server.drainMs);
    } finally {
      await configured.close();
    }
  },
  120_000,
);

test('the property above is not vacuous: many of its files are valid and built', () => {
  // Runs after it (vitest keeps the order of tests in a file).
  expect(built).toBeGreaterThan(100);
});
