import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { isLbError } from '@switchyard/core';
import { resolveConfig } from '@switchyard/proxy';
import { expect } from 'vitest';

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
