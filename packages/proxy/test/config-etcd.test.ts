import { createConfiguredApp, resolveConfig } from '@switchyard/proxy';
import { startEtcd, type TestEtcd, waitFor } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from './helpers/server-client.js';

// A membership change must reach the balancer within one second of the write.
const CHANGE_MS = 1000;

describe('config discovery { type: "etcd" } against a real etcd', { timeout: 90_000 }, () => {
  let etcd: TestEtcd;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.close();
  });

  const config = (prefix: string, extra: Record<string, unknown> = {}) =>
    resolveConfig(
      { upstreams: { web: { discovery: { type: 'etcd', endpoints: [etcd.endpoint], prefix, ...extra } } } },
      '/',
    );

  it('builds the balancer from the prefix and follows puts, changes and deletes within a second', async () => {
    const prefix = '/services/web/';
    await etcd.put(`${prefix}a`, JSON.stringify({ address: '127.0.0.1:9001' }));
    await etcd.put(`${prefix}b`, JSON.stringify({ address: '127.0.0.1:9002', weight: 3 }));
    const { logger, lines } = captureLogger();
    const configured = createConfiguredApp(config(prefix), { logger });
    try {
      await configured.ready();
      const web = () => configured.balancers().get('web');
      const members = () => (web()?.backends() ?? []).map((b) => `${b.id}×${b.weight}`).sort();
      expect(members()).toEqual(['127.0.0.1:9001×1', '127.0.0.1:9002×3']);

      await etcd.put(`${prefix}c`, JSON.stringify({ address: '127.0.0.1:9003' }));
      await waitFor('a put within 1 s', () => members().includes('127.0.0.1:9003×1'), CHANGE_MS);
      await etcd.put(`${prefix}b`, JSON.stringify({ address: '127.0.0.1:9002', weight: 1 }));
      await waitFor('a change within 1 s', () => members().includes('127.0.0.1:9002×1'), CHANGE_MS);
      await etcd.delete(`${prefix}a`);
      await waitFor('a delete within 1 s', () => !members().includes('127.0.0.1:9001×1'), CHANGE_MS);

      // A bad value is skipped with a warn line naming its key; the set stays as it was.
      await etcd.put(`${prefix}bad`, '{"address":"no port"}');
      await waitFor('a warn naming the bad key', () => lines.some((l) => l.includes(`${prefix}bad`)), 5000);
      const warn = JSON.parse(lines.find((l) => l.includes(`${prefix}bad`)) as string) as { level: number };
      expect(warn.level).toBe(40);
      expect(members()).toEqual(['127.0.0.1:9002×1', '127.0.0.1:9003×1']);
    } finally {
      await configured.close();
    }
  });

  it('keeps the last set while etcd is down, warns, and resumes the watch when it is back', async () => {
    const prefix = '/services/outage/';
    await etcd.put(`${prefix}a`, JSON.stringify({ address: '127.0.0.1:9101' }));
    const { logger, lines } = captureLogger();
    const configured = createConfiguredApp(config(prefix, { retryInitialMs: 50, retryMaxMs: 300 }), { logger });
    try {
      await configured.ready();
      const members = () => (configured.balancers().get('web')?.backends() ?? []).map((b) => b.id).sort();
      expect(members()).toEqual(['127.0.0.1:9101']);
      await etcd.stop();
      await waitFor('a warn about the lost watch', () => lines.some((l) => l.includes('etcd watch lost')), 20_000);
      expect(members()).toEqual(['127.0.0.1:9101']);
      await etcd.start();
      await waitFor('the watch resumed', () => lines.some((l) => l.includes('etcd watch resumed')), 30_000);
      await etcd.put(`${prefix}b`, JSON.stringify({ address: '127.0.0.1:9102' }));
      await waitFor('a put after the outage', () => members().length === 2, 5000);
      expect(members()).toEqual(['127.0.0.1:9101', '127.0.0.1:9102']);
    } finally {
      await configured.close();
    }
  });

  it('check rejects what serve would: a bad endpoint, an empty prefix, a bad backoff', () => {
    const bad = (discovery: Record<string, unknown>) => () =>
      resolveConfig({ upstreams: { web: { discovery: { type: 'etcd', ...discovery } } } }, '/');
    expect(bad({ endpoints: ['127.0.0.1:2379'], prefix: '' })).toThrow(/upstreams\.web\.discovery\.prefix: expected/);
    expect(bad({ endpoints: [], prefix: '/x/' })).toThrow(/upstreams\.web\.discovery\.endpoints: expected/);
    expect(bad({ endpoints: ['127.0.0.1:2379'], prefix: '/x/', retryInitialMs: 500, retryMaxMs: 100 })).toThrow(
      /upstreams\.web\.discovery\.retryMaxMs: expected/,
    );
    expect(bad({ endpoints: ['127.0.0.1:2379'] })).toThrow(/upstreams\.web\.discovery\.prefix: expected/);
  });
});
