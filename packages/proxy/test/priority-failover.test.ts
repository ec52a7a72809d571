import { backend, HttpPeer, isLbError } from '@switchyard/core';
import type { HealthCheck } from '@switchyard/health';
import {
  type Balancer,
  createBalancer,
  createConfiguredApp,
  createUpstreamPeer,
  type ProxyCtx,
  resolveConfig,
} from '@switchyard/proxy';
import { roundRobin } from '@switchyard/selectors';
import { deadAddress, startBackend, type TestBackend, waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionOf } from './helpers/session.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const ctx = (): ProxyCtx => ({ triedBackends: new Set(), attempts: 0 });
const peerOf = (b: { id: string }) => new HttpPeer(b.id, false);
const ids = (base: number) => Array.from({ length: 10 }, (_, i) => `127.0.0.1:${base + i}`);

/** A check that fails exactly the backends in `down` (no sockets: only health state matters here). */
function failing(down: ReadonlySet<string>): HealthCheck {
  return { check: (b) => Promise.resolve({ ok: !down.has(b.id), durationMs: 0 }) };
}

/** A balancer over `list` whose health monitor marks `down` unhealthy, once that took effect. */
async function tier(list: readonly string[], down: ReadonlySet<string>): Promise<Balancer> {
  const balancer = createBalancer({
    backends: list.map((id) => backend(id)),
    selector: roundRobin,
    health: { check: failing(down), intervalMs: 50, unhealthyThreshold: 1, healthyThreshold: 1 },
  });
  cleanup.push(() => balancer.close());
  await balancer.ready();
  await waitFor(
    `${down.size} of ${list.length} marked down`,
    () => list.every((id) => balancer.isReady(id) !== down.has(id)),
    10_000,
  );
  return balancer;
}

/**
 * Sends 100 requests through `createUpstreamPeer` with draws 0, 1, …, 99 (one per whole percent),
 * so each tier's count is exactly its share; returns the picks per tier.
 */
function picksPerTier(tiers: readonly Balancer[], factor: number): number[] {
  let r = 0;
  const upstreamPeer = createUpstreamPeer({
    balancer: tiers,
    key: (s) => s.uri,
    peer: peerOf,
    overprovisioningFactor: factor,
    priorityDraw: () => r++,
  });
  const counts = tiers.map(() => 0);
  for (let i = 0; i < 100; i++) {
    const chosen = upstreamPeer(sessionOf(`/k/${i}`), ctx()).id;
    const t = tiers.findIndex((b) => b.backends().some((x) => x.id === chosen));
    counts[t]!++;
  }
  return counts;
}

describe('priority failover with overprovisioning through balancers and createUpstreamPeer', {
  timeout: 60_000,
}, () => {
  // Envoy's priority load with factor 1.4: tier 0's share is min(100, ⌊140 × ready / 10⌋).
  it.each([
    [0, [100, 0]],
    [3, [98, 2]],
    [5, [70, 30]],
    [10, [0, 100]],
  ])(
    '10 backends in tier 0 with %i unhealthy over a healthy tier 1 take exactly %j of 100 requests',
    async (n, shares) => {
      const primary = ids(7000);
      const t0 = await tier(primary, new Set(primary.slice(0, n)));
      const t1 = await tier(ids(7100), new Set());
      expect(picksPerTier([t0, t1], 1.4)).toEqual(shares);
    },
  );

  it('normalises the shares when every tier is degraded, and takes the factor it is given', async () => {
    const a = ids(7200);
    const b = ids(7300);
    // 2/10 and 4/10 ready: availabilities 28 and 56, together 84 < 100, scaled to 33 + 66 (+1 to tier 0).
    const t0 = await tier(a, new Set(a.slice(2)));
    const t1 = await tier(b, new Set(b.slice(4)));
    expect(picksPerTier([t0, t1], 1.4)).toEqual([34, 66]);
    // Factor 1 (no overprovisioning): 20 and 40, scaled to 33 + 66, the remainder to tier 0.
    expect(picksPerTier([t0, t1], 1)).toEqual([34, 66]);
    const t2 = await tier(ids(7400), new Set(ids(7400).slice(5)));
    // 5/10 ready with factor 2 is whole: everything stays in tier 0.
    expect(picksPerTier([t2, t1], 2)).toEqual([100, 0]);
  });

  it('a request that starts at tier 1 still fails over to tier 0; without a factor tier 0 always comes first', async () => {
    const primary = ids(7500);
    const t0 = await tier(primary, new Set(primary.slice(0, 5)));
    const t1 = await tier(['127.0.0.1:7600'], new Set());
    const shared = createUpstreamPeer({
      balancer: [t0, t1],
      key: (s) => s.uri,
      peer: peerOf,
      overprovisioningFactor: 1.4,
      priorityDraw: () => 99,
    });
    const c = ctx();
    expect(shared(sessionOf('/'), c).id).toBe('127.0.0.1:7600');
    expect(primary.slice(5)).toContain(shared(sessionOf('/'), c).id);
    const allOrNothing = createUpstreamPeer({ balancer: [t0, t1], key: (s) => s.uri, peer: peerOf });
    expect(primary.slice(5)).toContain(allOrNothing(sessionOf('/'), ctx()).id);
    for (const bad of [0.5, 1.234, Number.NaN]) {
      let err: unknown;
      try {
        createUpstreamPeer({ balancer: t0, key: (s) => s.uri, peer: peerOf, overprovisioningFactor: bad });
      } catch (e) {
        err = e;
      }
      expect(isLbError(err) && err.code).toBe('LB_ERR_INVALID_OPTION');
    }
  });

  it('config routes share by health with overprovisioningFactor (default 1.4) and check rejects a bad one', () => {
    const raw = (factor?: unknown) => ({
      upstreams: { a: { backends: ['127.0.0.1:9001'] }, b: { backends: ['127.0.0.1:9002'] } },
      routes: [
        {
          prefix: '/',
          upstream: 'a',
          failover: ['b'],
          ...(factor === undefined ? {} : { overprovisioningFactor: factor }),
        },
      ],
    });
    expect(resolveConfig(raw(), '/').routes[0]?.overprovisioningFactor).toBe(1.4);
    expect(resolveConfig(raw(2), '/').routes[0]?.overprovisioningFactor).toBe(2);
    for (const bad of [0.9, 1.234, 'x']) {
      expect(() => resolveConfig(raw(bad), '/')).toThrow(/routes\[0\]\.overprovisioningFactor: expected/);
    }
    const configured = createConfiguredApp(resolveConfig(raw(), '/'));
    cleanup.push(() => configured.close());
    expect(configured.app.upstreamPeer(sessionOf('/x'), ctx())).toMatchObject({ id: '127.0.0.1:9001' });
  });

  it('a route over hashing upstreams draws the starting tier from the key: two instances agree key by key', async () => {
    const live: TestBackend[] = [];
    for (let i = 0; i < 5; i++) live.push(await startBackend());
    cleanup.push(async () => {
      await Promise.all(live.map((b) => b.close()));
    });
    const dead = await Promise.all(Array.from({ length: 5 }, () => deadAddress()));
    const standby = await startBackend();
    cleanup.push(() => standby.close());
    const raw = {
      upstreams: {
        a: {
          backends: [...live.map((b) => b.id), ...dead],
          selector: { type: 'consistent' },
          health: { type: 'tcp', intervalMs: 200 },
        },
        b: { backends: [standby.id], selector: { type: 'consistent' } },
      },
      routes: [{ prefix: '/', upstream: 'a', failover: ['b'] }],
    };
    const apps = [createConfiguredApp(resolveConfig(raw, '/')), createConfiguredApp(resolveConfig(raw, '/'))];
    for (const app of apps) cleanup.push(() => app.close());
    for (const app of apps) {
      await app.ready();
      const a = app.balancers().get('a') as Balancer;
      await waitFor('the dead half marked down', () => dead.every((id) => !a.isReady(id)), 20_000);
    }
    // 5 of 10 ready: shares 70 / 30, each key's tier fixed by its hash.
    const picks = apps.map((app) =>
      Array.from({ length: 2000 }, (_, i) => (app.app.upstreamPeer(sessionOf(`/k/${i}`), ctx()) as HttpPeer).id),
    );
    expect(picks[1]).toEqual(picks[0]);
    const toStandby = picks[0]?.filter((id) => id === standby.id).length ?? 0;
    // Binomial(2000, 0.3): mean 600, sd ≈ 20.5; ±5 sd.
    expect(toStandby).toBeGreaterThan(500);
    expect(toStandby).toBeLessThan(700);
    expect(picks[0]?.every((id) => id === standby.id || live.some((b) => b.id === id))).toBe(true);
  });
});
