import { EventEmitter } from 'node:events';
import { type Backend, backend, HttpPeer, type Selector, type SelectorFactory } from '@switchyard/core';
import { createHealthMonitor, type Discovery, type HealthCheck, tcpCheck } from '@switchyard/health';
import { type Balancer, createBalancer } from '@switchyard/proxy';
import { consistentHash, haproxyHash, roundRobin } from '@switchyard/selectors';
import { deadAddress, startBackend, waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';

// Check timeouts are long on purpose: a refused port fails at once, and a loaded machine must not
// make a live backend look dead.
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

function track<T extends { close(): Promise<void> }>(x: T): T {
  open.push(x);
  return x;
}

/** A discovery whose list the test sets; `change` events as a watched file or DNS would emit them. */
class ManualDiscovery extends EventEmitter implements Discovery {
  constructor(public list: readonly Backend[]) {
    super();
  }
  discover(): Promise<readonly Backend[]> {
    return Promise.resolve(this.list);
  }
  set(list: readonly Backend[]): void {
    this.list = list;
    this.emit('change', list);
  }
}

/** consistentHash, counting how often a selector is built. */
function countingFactory(): { factory: SelectorFactory; builds: () => number } {
  let builds = 0;
  return {
    factory: (backends, options) => {
      builds++;
      return consistentHash(backends, options as never);
    },
    builds: () => builds,
  };
}

/** Every id the balancer picks over `keys` keys. */
function picks(balancer: Balancer, keys = 200): Set<string | undefined> {
  const seen = new Set<string | undefined>();
  for (let i = 0; i < keys; i++) seen.add(balancer.select(`/k/${i}`)?.id);
  return seen;
}

describe('createBalancer', () => {
  it('rebuilds and swaps the selector when discovery reports a new membership, not for the same one', async () => {
    const a = backend('127.0.0.1:7001');
    const b = backend('127.0.0.1:7002');
    const c = backend('127.0.0.1:7003');
    const discovery = new ManualDiscovery([a, b]);
    const { factory, builds } = countingFactory();
    const balancer = track(createBalancer({ discovery, selector: factory }));
    expect(balancer.select('x')).toBeUndefined();
    await balancer.ready();
    expect(balancer.backends().map((x) => x.id)).toEqual([a.id, b.id]);
    expect(picks(balancer)).toEqual(new Set([a.id, b.id]));
    const afterReady = builds();

    discovery.set([c]);
    expect(balancer.backends().map((x) => x.id)).toEqual([c.id]);
    expect(picks(balancer)).toEqual(new Set([c.id]));
    expect(builds()).toBe(afterReady + 1);

    discovery.set([backend('127.0.0.1:7003')]);
    expect(builds()).toBe(afterReady + 1);
    discovery.set([backend('127.0.0.1:7003', 3)]);
    expect(builds()).toBe(afterReady + 2);

    await balancer.close();
    discovery.set([a]);
    expect(balancer.backends().map((x) => x.id)).toEqual([c.id]);
    expect(discovery.listenerCount('change')).toBe(0);
  });

  it('keeps health state for backends that stay and hands new members to the monitor', async () => {
    const live = await startBackend({ name: 'live' });
    track(live);
    const dead = await deadAddress();
    const discovery = new ManualDiscovery([backend(dead)]);
    const balancer = track(
      createBalancer({
        discovery,
        selector: consistentHash,
        health: { check: tcpCheck({ timeoutMs: 2000 }), intervalMs: 30, jitter: 0 },
      }),
    );
    await balancer.ready();
    await waitFor('the dead backend to turn unhealthy', () => balancer.health?.isHealthy(dead) === false);
    expect(balancer.select('k')).toBeUndefined();
    discovery.set([backend(dead), backend(live.id)]);
    expect(balancer.health?.isHealthy(dead)).toBe(false);
    expect(picks(balancer)).toEqual(new Set([live.id]));
  });

  it('select walks candidates with accept(backend, ready): health by default, overridable', async () => {
    const alive = await Promise.all([startBackend({ name: 'a' }), startBackend({ name: 'b' })]);
    alive.forEach(track);
    const dead = await deadAddress();
    const all = [...alive.map((x) => backend(x.id)), backend(dead)];
    const balancer = track(
      createBalancer({
        backends: all,
        selector: consistentHash,
        health: { check: tcpCheck({ timeoutMs: 2000 }), intervalMs: 30, jitter: 0 },
      }),
    );
    // Before the first check every backend starts healthy (Pingora), so the dead one is picked for its keys.
    expect(picks(balancer).has(dead)).toBe(true);
    await balancer.ready();
    await waitFor('health to mark the dead backend', () => !balancer.isReady(dead));
    expect(picks(balancer)).toEqual(new Set(alive.map((x) => x.id)));
    // Ignoring health (Pingora's `select_with(|_, _| true)`) gives the first choice back.
    expect(picks(balancer, 200)).not.toContain(dead);
    const ignoring = new Set<string | undefined>();
    for (let i = 0; i < 200; i++) ignoring.add(balancer.select(`/k/${i}`, undefined, () => true)?.id);
    expect(ignoring.has(dead)).toBe(true);
    // Skipping a set of ids while still honouring health.
    const firstAlive = alive[0]!.id;
    const skipping = new Set<string | undefined>();
    for (let i = 0; i < 200; i++)
      skipping.add(balancer.select(`/k/${i}`, undefined, (b, ready) => ready && b.id !== firstAlive)?.id);
    expect(skipping).toEqual(new Set([alive[1]!.id]));
    expect(balancer.select('k', undefined, () => false)).toBeUndefined();
  });

  it('the observer feeds outlier detection by peer id; a passing active check reinstates the backend', async () => {
    const servers = await Promise.all([startBackend({ name: 'a' }), startBackend({ name: 'b' })]);
    servers.forEach(track);
    const [a, b] = servers.map((s) => backend(s.id)) as [Backend, Backend];
    let checksOfA = 0;
    let passing = false;
    const base = tcpCheck({ timeoutMs: 2000 });
    // A real TCP check that the test can hold back, so the reinstatement happens when the test says.
    const check: HealthCheck = {
      async check(target, signal) {
        const result = await base.check(target, signal);
        if (target.id === a.id) checksOfA++;
        return target.id === a.id && !passing ? { ok: false, reason: 'held back by the test', durationMs: 0 } : result;
      },
    };
    const balancer = track(
      createBalancer({
        backends: [a, b],
        selector: consistentHash,
        health: { check, intervalMs: 30, jitter: 0, unhealthyThreshold: 1000 },
        outlier: { consecutiveFailures: 2, baseEjectionMs: 60_000, maxEjectedPercent: 100 },
      }),
    );
    await balancer.ready();
    const peerA = new HttpPeer(a, false);
    balancer.observer.onFinish?.(peerA, 'connect-error', 1);
    balancer.observer.onFinish?.(peerA, 'error', 1);
    expect(balancer.outlier?.isEjected(a)).toBe(false);
    balancer.observer.onFinish?.(peerA, 'timeout', 1);
    expect(balancer.outlier?.isEjected(a)).toBe(true);
    expect(balancer.isReady(a)).toBe(false);
    expect(picks(balancer)).toEqual(new Set([b.id]));
    // Outcomes of ids outside the pool are ignored.
    balancer.observer.onFinish?.(new HttpPeer('127.0.0.1:1', false), 'connect-error', 1);
    balancer.observer.onFinish?.(new HttpPeer('127.0.0.1:1', false), 'connect-error', 1);
    expect(balancer.outlier?.ejected()).toEqual([a.id]);

    const seen = checksOfA;
    await waitFor('more checks of a', () => checksOfA > seen + 2);
    expect(balancer.outlier?.isEjected(a)).toBe(true);
    passing = true;
    await waitFor('a passing check to reinstate a', () => balancer.outlier?.isEjected(a) === false);
    expect(picks(balancer)).toEqual(new Set([a.id, b.id]));
  });

  it('reports successful attempts to a skipOnTraffic monitor, and only successful ones', async () => {
    const [a, b] = [backend('127.0.0.1:1'), backend('127.0.0.1:2')];
    const checked = new Map<string, number>();
    const check: HealthCheck = {
      async check(target) {
        checked.set(target.id, (checked.get(target.id) ?? 0) + 1);
        return { ok: true, durationMs: 0 };
      },
    };
    const balancer = track(
      createBalancer({
        backends: [a, b],
        selector: consistentHash,
        health: { check, intervalMs: 30, jitter: 0, skipOnTraffic: true },
      }),
    );
    await balancer.ready();
    const [peerA, peerB] = [new HttpPeer(a, false), new HttpPeer(b, false)];
    const traffic = setInterval(() => {
      balancer.observer.onFinish?.(peerA, 'success', 1);
      balancer.observer.onFinish?.(peerB, 'http-5xx', 1);
    }, 5);
    await new Promise((r) => setTimeout(r, 250));
    clearInterval(traffic);
    const skipped = new Map(balancer.health?.snapshot().map((s) => [s.backend.id, s.skippedChecks]));
    expect(skipped.get(a.id)).toBeGreaterThanOrEqual(4);
    expect(checked.get(a.id)).toBeLessThanOrEqual(2);
    expect(skipped.get(b.id)).toBe(0);
    expect(checked.get(b.id)).toBeGreaterThanOrEqual(5);
  });

  it('an adopted monitor reinstates on its healthy transition and is stopped by close()', async () => {
    const s = track(await startBackend({ name: 'a' }));
    const a = backend(s.id);
    let checks = 0;
    let ok = false;
    const monitor = createHealthMonitor({
      backends: [],
      check: {
        async check() {
          checks++;
          return ok ? { ok: true, durationMs: 0 } : { ok: false, reason: 'down', durationMs: 0 };
        },
      },
      intervalMs: 20,
      jitter: 0,
    });
    const balancer = createBalancer({
      backends: [a],
      selector: consistentHash,
      health: monitor,
      outlier: { consecutiveFailures: 1, maxEjectedPercent: 100 },
    });
    await balancer.ready();
    await waitFor('a unhealthy', () => !monitor.isHealthy(a));
    balancer.observer.onFinish?.(new HttpPeer(a, false), 'http-5xx', 1);
    expect(balancer.outlier?.isEjected(a)).toBe(true);
    ok = true;
    await waitFor('a healthy and reinstated', () => monitor.isHealthy(a) && balancer.outlier?.isEjected(a) === false);
    await balancer.close();
    const after = checks;
    await new Promise((r) => setTimeout(r, 150));
    expect(checks).toBe(after);
    // select keeps answering from the last snapshot after close, so in-flight retries can finish.
    expect(balancer.select('k')?.id).toBe(a.id);
  });

  it('round-robin: a backend that is not ready has its share spread over the survivors, not its neighbour', () => {
    const [a, b, c] = ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003'].map((id) => backend(id));
    const balancer = createBalancer({ backends: [a!, b!, c!], selector: roundRobin });
    const counts = new Map<string, number>();
    for (let i = 0; i < 3_000; i++) {
      const chosen = balancer.select('', undefined, (candidate, ready) => ready && candidate.id !== a!.id)!;
      counts.set(chosen.id, (counts.get(chosen.id) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ [b!.id]: 1_500, [c!.id]: 1_500 });
  });

  it('bounds the walk by maxIterations even over an endless selector', () => {
    const a = backend('127.0.0.1:7001');
    let pulls = 0;
    const endless: SelectorFactory = (): Selector => ({
      select: () => ({
        next: () => {
          pulls++;
          return { done: false, value: a };
        },
        [Symbol.iterator]() {
          return this;
        },
      }),
    });
    const balancer = createBalancer({ backends: [a], selector: endless, maxIterations: 10 });
    expect(balancer.select('k', undefined, () => false)).toBeUndefined();
    expect(pulls).toBe(10);
    expect(() => createBalancer({ backends: [a], selector: endless, maxIterations: 0 })).toThrow(/maxIterations/);
    expect(() => createBalancer({ selector: endless } as never)).toThrow(/exactly one of backends and discovery/);
  });

  it('feeds a LoadTracker from the observer', async () => {
    const { LoadTracker } = await import('@switchyard/core');
    const a = backend('127.0.0.1:7001');
    const tracker = new LoadTracker();
    const balancer = createBalancer({ backends: [a], selector: consistentHash, tracker });
    const peer = new HttpPeer(a, false);
    balancer.observer.onStart?.(peer);
    balancer.observer.onStart?.(peer);
    expect(tracker.inFlight(a.id)).toBe(2);
    balancer.observer.onFinish?.(peer, 'success', 5);
    expect(tracker.inFlight(a.id)).toBe(1);
  });
});

describe('a selector that recomputes itself without unready backends (Selector.without)', () => {
  it("HAProxy's map is rebuilt without an ejected backend and restored when its ejection ends", async () => {
    const set = [backend('127.0.0.1:1', 3), backend('127.0.0.1:2', 2), backend('127.0.0.1:3', 1)];
    const [a] = set as [Backend, Backend, Backend];
    let now = 0;
    const balancer = track(
      createBalancer({
        backends: set,
        selector: haproxyHash,
        outlier: { consecutiveFailures: 1, baseEjectionMs: 1_000, maxEjectedPercent: 100, now: () => now },
      }),
    );
    const full = haproxyHash(set);
    const rebuilt = full.without?.(new Set([a.id]));
    expect(rebuilt).toBeDefined();
    const keys = Array.from({ length: 600 }, (_, i) => `k${i}`);
    const picks = () => keys.map((k) => balancer.select(k)?.id);
    expect(picks()).toEqual(keys.map((k) => full.select(k).next().value?.id));
    balancer.observer.onFinish?.(new HttpPeer(a, false), 'connect-error', 1);
    expect(balancer.outlier?.isEjected(a)).toBe(true);
    // Every key moves as in HAProxy, not only a's: the survivors keep shares by weight (2:1).
    const during = picks();
    expect(during).toEqual(keys.map((k) => rebuilt?.select(k).next().value?.id));
    expect(during.filter((id) => id === set[1]!.id).length / during.length).toBeCloseTo(2 / 3, 1);
    now = 1_001;
    await waitFor('the full map once the ejection is over', () =>
      picks().every((id, i) => id === full.select(keys[i]!).next().value?.id),
    );
  });
});
