import { request } from 'node:http';
import { backend, type SelectorFactory } from '@switchyard/core';
import { consistentHash, maglev } from '@switchyard/selectors';
import {
  type ServeProcess,
  startBackend,
  startEtcd,
  startLoad,
  startServe,
  type TestBackend,
  type TestEtcd,
  waitFor,
} from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Two `switchyard serve` processes reading one etcd prefix, with no link between them, must send
// every key to the same backend for the hash selectors, and agree again within a second of a
// membership change.
const KEYS = 10_000;
const CONVERGE_MS = 1000;

const SELECTORS: readonly (readonly [type: string, factory: SelectorFactory<never>])[] = [
  ['consistent', consistentHash as SelectorFactory<never>],
  ['maglev', maglev as SelectorFactory<never>],
];

/** The backend name (`X-Backend`) each of the keys `/k/0` … went to through `instance`. */
async function routeKeys(instance: ServeProcess): Promise<string[]> {
  const load = startLoad({
    port: instance.port,
    concurrency: 16,
    maxRequests: KEYS,
    timeoutMs: 30_000,
    path: (seq) => `/k/${seq}`,
  });
  const counts = await load.done;
  expect(counts.succeeded, JSON.stringify(counts)).toBe(KEYS);
  const byKey = new Array<string>(KEYS);
  for (const r of load.records) byKey[r.seq] = r.backend ?? `no backend (${r.status})`;
  return byKey;
}

/** The `X-Backend` of one GET. */
function backendOf(port: number, path: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers['x-backend'] as string | undefined));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

describe('two serve processes on one etcd prefix agree on every key', { timeout: 300_000 }, () => {
  let etcd: TestEtcd;
  const backends: TestBackend[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
    for (let i = 0; i < 4; i++) backends.push(await startBackend({ name: `b${i}` }));
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await etcd?.close();
  });

  const nameOf = (id: string) => backends.find((b) => b.id === id)?.name;

  it.each(SELECTORS)('%s: 10,000 keys before and after a membership change', async (type, factory) => {
    const prefix = `/services/${type}/`;
    const [b0, b1, b2, b3] = backends as [TestBackend, TestBackend, TestBackend, TestBackend];
    for (const b of [b0, b1, b2]) await etcd.put(`${prefix}${b.name}`, JSON.stringify({ address: b.id }));
    const config = (port: number) => ({
      listen: `127.0.0.1:${port}`,
      upstreams: {
        web: {
          discovery: { type: 'etcd', endpoints: [etcd.endpoint], prefix },
          selector: { type, key: 'uri' },
        },
      },
      accessLog: false,
      logLevel: 'warn',
    });
    const instances = [await startServe({ config }), await startServe({ config })];
    try {
      const [a, b] = instances as [ServeProcess, ServeProcess];
      const before = await Promise.all([routeKeys(a), routeKeys(b)]);
      expect(new Set(before[0])).toEqual(new Set([b0.name, b1.name, b2.name]));
      expect(before[1]).toEqual(before[0]);

      // A key the new member takes, by the library's own selector over the new set.
      const after = [b0, b1, b2, b3].map((x) => backend(x.id));
      const selector = factory(after);
      let probe: string | undefined;
      for (let i = 0; i < 100_000 && probe === undefined; i++) {
        if (selector.select(`/p/${i}`).next().value?.id === b3.id) probe = `/p/${i}`;
      }
      expect(probe).toBeDefined();
      const put = performance.now();
      await etcd.put(`${prefix}${b3.name}`, JSON.stringify({ address: b3.id }));
      await waitFor(
        'both instances route the probe key to the new member',
        async () => {
          const seen = await Promise.all([backendOf(a.port, probe as string), backendOf(b.port, probe as string)]);
          return seen.every((s) => s === b3.name);
        },
        10_000,
        10,
      );
      const converged = performance.now() - put;
      expect(converged, `converged after ${Math.round(converged)} ms`).toBeLessThanOrEqual(CONVERGE_MS);

      const later = await Promise.all([routeKeys(a), routeKeys(b)]);
      expect(later[1]).toEqual(later[0]);
      // Both follow the library's selector over the new set, key by key.
      const expected = Array.from({ length: KEYS }, (_, i) =>
        nameOf(selector.select(`/k/${i}`).next().value?.id ?? ''),
      );
      expect(later[0]).toEqual(expected);
      expect(later[0].filter((name) => name === b3.name).length).toBeGreaterThan(0);
    } finally {
      await Promise.all(instances.map((s) => s.stop()));
    }
  });
});
