import type { Backend } from '@switchyard/core';
import { type Discovery, etcdDiscovery } from '@switchyard/health';
import { startEtcd, type TestEtcd } from '@switchyard/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/backends.js';
import { captureLogs } from './helpers/scripted-check.js';

const ids = (list: readonly Backend[]): string[] => list.map((b) => `${b.id}#${b.weight}`);
const value = (address: string, weight?: number): string =>
  JSON.stringify(weight === undefined ? { address } : { address, weight });

describe('etcdDiscovery against a real etcd', { timeout: 60_000 }, () => {
  let etcd: TestEtcd;
  const open: Discovery[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await Promise.all(open.map((d) => d.close?.()));
    await etcd?.close();
  });

  const discovery = (prefix: string, logs?: ReturnType<typeof captureLogs>): Discovery => {
    const d = etcdDiscovery({
      endpoints: [etcd.endpoint],
      prefix,
      retryMaxMs: 500,
      ...(logs ? { logger: pino({ level: 'info' }, logs) } : {}),
    });
    open.push(d);
    return d;
  };

  it('lists the prefix in key order, skips bad values with a warn line naming the key, and ignores other prefixes', async () => {
    await etcd.put('/svc/list/b', value('127.0.0.1:8002', 3));
    await etcd.put('/svc/list/a', value('127.0.0.1:8001'));
    await etcd.put('/svc/list/c', 'not json');
    await etcd.put('/svc/list/d', value('127.0.0.1:8001', 2)); // same address as a: the first key wins
    await etcd.put('/svc/list/e', JSON.stringify({ address: '127.0.0.1:8005', weight: 0 }));
    await etcd.put('/svc/listing/x', value('127.0.0.1:9999'));
    const logs = captureLogs();
    const d = discovery('/svc/list/', logs);
    expect(ids(await d.discover())).toEqual(['127.0.0.1:8001#1', '127.0.0.1:8002#3']);
    const warnings = logs.lines.filter((l) => l.level === 40).map((l) => String(l.msg));
    expect(warnings).toEqual([
      expect.stringMatching(/skipping etcd key \/svc\/list\/c: expected JSON/),
      expect.stringMatching(/skipping etcd key \/svc\/list\/d: address 127\.0\.0\.1:8001 is already listed/),
      expect.stringMatching(/skipping etcd key \/svc\/list\/e: .*weight/),
    ]);
  });

  it('applies a key added, changed and deleted within one second each', async () => {
    await etcd.put('/svc/watch/a', value('127.0.0.1:8101'));
    const d = discovery('/svc/watch/');
    const changes: string[][] = [];
    d.on?.('change', (list) => changes.push(ids(list)));
    expect(ids(await d.discover())).toEqual(['127.0.0.1:8101#1']);

    await etcd.put('/svc/watch/b', value('127.0.0.1:8102', 2));
    expect(await waitFor(() => changes.length === 1, 1000, 'the added key')).toBeLessThan(1000);
    expect(changes[0]).toEqual(['127.0.0.1:8101#1', '127.0.0.1:8102#2']);

    await etcd.put('/svc/watch/b', value('127.0.0.1:8102', 5));
    await waitFor(() => changes.length === 2, 1000, 'the changed weight');
    expect(changes[1]).toEqual(['127.0.0.1:8101#1', '127.0.0.1:8102#5']);

    await etcd.delete('/svc/watch/a');
    await waitFor(() => changes.length === 3, 1000, 'the deleted key');
    expect(changes[2]).toEqual(['127.0.0.1:8102#5']);
    expect(ids(await d.discover())).toEqual(['127.0.0.1:8102#5']);

    // A bad value for a new key changes nothing and emits nothing.
    await etcd.put('/svc/watch/z', '{"address": 42}');
    await etcd.put('/svc/watch/y', value('127.0.0.1:8109'));
    await waitFor(() => changes.length === 4, 1000, 'the key after the bad one');
    expect(changes[3]).toEqual(['127.0.0.1:8102#5', '127.0.0.1:8109#1']);
  });

  it('keeps the last known set while etcd is down, warns once, and resumes the watch when it is back', async () => {
    await etcd.put('/svc/restart/a', value('127.0.0.1:8201'));
    const logs = captureLogs();
    const d = discovery('/svc/restart/', logs);
    const changes: string[][] = [];
    d.on?.('change', (list) => changes.push(ids(list)));
    expect(ids(await d.discover())).toEqual(['127.0.0.1:8201#1']);

    await etcd.stop();
    await waitFor(() => logs.lines.some((l) => l.level === 40), 5000, 'the lost-watch warning');
    expect(ids(await d.discover())).toEqual(['127.0.0.1:8201#1']);
    await new Promise((r) => setTimeout(r, 1500)); // several reconnect attempts while it is down
    expect(logs.lines.filter((l) => l.level === 40 && /etcd watch lost/.test(String(l.msg)))).toHaveLength(1);

    await etcd.start();
    await etcd.put('/svc/restart/b', value('127.0.0.1:8202'));
    await waitFor(() => changes.length === 1, 3000, 'the key written after the restart');
    expect(changes[0]).toEqual(['127.0.0.1:8201#1', '127.0.0.1:8202#1']);
    await waitFor(() => logs.lines.some((l) => /etcd watch resumed/.test(String(l.msg))), 3000, 'the resumed line');
  });

  it('rejects with LB_ERR_DISCOVERY_FAILED while no list was ever read, and rejects bad options at once', async () => {
    const d = etcdDiscovery({ endpoints: ['127.0.0.1:1'], prefix: '/svc/none/', dialTimeoutMs: 300 });
    open.push(d);
    await expect(d.discover()).rejects.toMatchObject({
      code: 'LB_ERR_DISCOVERY_FAILED',
      message: expect.stringMatching(/etcdDiscovery \/svc\/none\/ at 127\.0\.0\.1:1/),
    });
    const bad = (o: Parameters<typeof etcdDiscovery>[0]) => () => etcdDiscovery(o);
    expect(bad({ endpoints: [], prefix: '/x/' })).toThrow(/etcdDiscovery endpoints/);
    expect(bad({ endpoints: ['127.0.0.1'], prefix: '/x/' })).toThrow(/port/);
    expect(bad({ endpoints: ['127.0.0.1:2379'], prefix: '' })).toThrow(/etcdDiscovery prefix/);
    expect(bad({ endpoints: ['127.0.0.1:2379'], prefix: '/x/', retryInitialMs: 500, retryMaxMs: 100 })).toThrow(
      /retryMaxMs/,
    );
  });
});
