import { type Backend, isLbError } from '@switchyard/core';
import { dnsDiscovery } from '@switchyard/health';
import { waitFor } from '@switchyard/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dnsmasq, startDnsmasq } from './helpers/dnsmasq.js';
import { captureLogs } from './helpers/scripted-check.js';

const ids = (list: readonly Backend[]): string[] => list.map((b) => `${b.id}#${b.weight}`).sort();

describe('dnsDiscovery against a real dnsmasq', () => {
  let dns: Dnsmasq;
  beforeAll(async () => {
    dns = await startDnsmasq({
      hosts: { 'web.svc.test': ['127.0.0.5', '127.0.0.6'], 'api.svc.test': ['127.0.0.7'], 'six.svc.test': ['::1'] },
      srv: [
        { name: '_http._tcp.svc.test', target: 'web.svc.test', port: 8080, weight: 0 },
        { name: '_http._tcp.svc.test', target: 'api.svc.test', port: 9090, priority: 1, weight: 5 },
      ],
      ttl: 30,
    });
  }, 15_000);
  afterAll(() => dns?.close());

  it('A records need a port and give one backend per address', async () => {
    expect(() => dnsDiscovery({ name: 'web.svc.test', type: 'A' })).toThrow(/port/);
    const d = dnsDiscovery({ name: 'web.svc.test', type: 'A', port: 80, servers: [dns.server] });
    expect(ids(await d.discover())).toEqual(['127.0.0.5:80#1', '127.0.0.6:80#1']);
    await d.close?.();
  });

  it('AAAA records give bracketed IPv6 backends', async () => {
    const d = dnsDiscovery({ name: 'six.svc.test', type: 'AAAA', port: 443, servers: [dns.server] });
    expect(ids(await d.discover())).toEqual(['[::1]:443#1']);
    await d.close?.();
  });

  it('SRV targets are resolved to addresses on the SRV port, weight from SRV (0 counts as 1)', async () => {
    const d = dnsDiscovery({ name: '_http._tcp.svc.test', type: 'SRV', servers: [dns.server] });
    const found = await d.discover();
    expect(ids(found)).toEqual(['127.0.0.5:8080#1', '127.0.0.6:8080#1', '127.0.0.7:9090#5']);
    expect(found.find((b) => b.port === 9090)?.meta).toEqual({ srvTarget: 'api.svc.test', srvPriority: 1 });
    await d.close?.();
  });

  it('a name with no records rejects with LB_ERR_DISCOVERY_FAILED while nothing good is known', async () => {
    const d = dnsDiscovery({ name: 'nothing.svc.test', type: 'A', port: 80, servers: [dns.server] });
    const err = await d.discover().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isLbError(err) && err.code).toBe('LB_ERR_DISCOVERY_FAILED');
    expect(String((err as Error).message)).toMatch(/nothing\.svc\.test/);
    await d.close?.();
  });
});

describe('the dnsmasq launcher', () => {
  it('fails, saying what to install, when dnsmasq cannot be started', async () => {
    await expect(startDnsmasq({ hosts: {} }, '/nonexistent/dnsmasq')).rejects.toThrow(/install Debian's dnsmasq-base/);
  });
});

describe('dnsDiscovery refresh', () => {
  it('refreshes on the TTL when shorter than refreshMs, emits change, and keeps the last good set when DNS fails', async () => {
    const dns = await startDnsmasq({ hosts: { 'pool.svc.test': ['127.0.0.10'] }, ttl: 1 });
    const logs = captureLogs();
    const d = dnsDiscovery({
      name: 'pool.svc.test',
      type: 'A',
      port: 81,
      servers: [dns.server],
      refreshMs: 60_000,
      minRefreshMs: 200,
      timeoutMs: 200,
      tries: 1,
      logger: pino({ level: 'info' }, logs),
    });
    const changes: string[][] = [];
    d.on?.('change', (list) => changes.push(ids(list)));
    try {
      expect(ids(await d.discover())).toEqual(['127.0.0.10:81#1']);
      await dns.setHosts({ 'pool.svc.test': ['127.0.0.10', '127.0.0.11'] });
      // TTL 1 s beats refreshMs 60 s: the change arrives within about a second.
      await waitFor('TTL-driven refresh', () => changes.length === 1, 3000);
      expect(changes[0]).toEqual(['127.0.0.10:81#1', '127.0.0.11:81#1']);

      await dns.stop();
      await waitFor('a warning about the failed resolution', () => logs.lines.some((l) => l.level === 40), 4000);
      const warning = logs.lines.find((l) => l.level === 40);
      expect(String(warning?.msg)).toMatch(
        /DNS resolution failed, keeping the last good 2 backends: .*pool\.svc\.test/,
      );
      expect(warning).toMatchObject({ component: 'dns-discovery', name: 'pool.svc.test' });
      expect(ids(await d.discover())).toEqual(['127.0.0.10:81#1', '127.0.0.11:81#1']);
      expect(changes).toHaveLength(1);

      await dns.restart({ hosts: { 'pool.svc.test': ['127.0.0.12'] }, ttl: 1 });
      await waitFor('recovery after DNS returns', () => changes.length === 2, 4000);
      expect(changes[1]).toEqual(['127.0.0.12:81#1']);
    } finally {
      await d.close?.();
      await dns.close();
    }
  }, 20_000);

  it('SRV membership changes are picked up', async () => {
    const dns = await startDnsmasq({
      hosts: { 'a.svc.test': ['127.0.0.20'], 'b.svc.test': ['127.0.0.21'] },
      srv: [{ name: '_db._tcp.svc.test', target: 'a.svc.test', port: 5432, weight: 2 }],
      ttl: 1,
    });
    const d = dnsDiscovery({
      name: '_db._tcp.svc.test',
      type: 'SRV',
      servers: [dns.server],
      minRefreshMs: 100,
      timeoutMs: 200,
    });
    const changes: string[][] = [];
    d.on?.('change', (list) => changes.push(ids(list)));
    try {
      expect(ids(await d.discover())).toEqual(['127.0.0.20:5432#2']);
      await dns.restart({
        hosts: { 'a.svc.test': ['127.0.0.20'], 'b.svc.test': ['127.0.0.21'] },
        srv: [
          { name: '_db._tcp.svc.test', target: 'a.svc.test', port: 5432, weight: 2 },
          { name: '_db._tcp.svc.test', target: 'b.svc.test', port: 5433, weight: 3 },
        ],
        ttl: 1,
      });
      await waitFor('SRV change', () => changes.length >= 1, 4000);
      expect(changes.at(-1)).toEqual(['127.0.0.20:5432#2', '127.0.0.21:5433#3']);
    } finally {
      await d.close?.();
      await dns.close();
    }
  }, 20_000);
});
