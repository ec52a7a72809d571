import { backend, HttpPeer, isLbError } from '@switchyard/core';
import { type Balancer, createBalancer, createProxyServer, createUpstreamPeer, type ProxyCtx } from '@switchyard/proxy';
import { consistentHash, prefixTable } from '@switchyard/selectors';
import { deadAddress, startBackend } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { get } from './helpers/server-client.js';
import { sessionOf } from './helpers/session.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const ctx = (): ProxyCtx => ({ triedBackends: new Set(), attempts: 0 });
const peerOf = (b: { id: string }) => new HttpPeer(b.id, false);

/** A key whose first choice on `balancer` (ignoring health) is `id`. */
function keyFirstOn(balancer: Balancer, id: string): string {
  for (let i = 0; i < 10_000; i++) {
    if (balancer.select(`/k/${i}`, undefined, () => true)?.id === id) return `/k/${i}`;
  }
  throw new Error(`no key maps to ${id}`);
}

/** What `fn` throws; fails the test if it returns. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('createUpstreamPeer', () => {
  it('skips backends already in ctx.triedBackends, records its choice, and throws 503 when none is left', () => {
    const ids = ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003'];
    const balancer = createBalancer({ backends: ids.map((id) => backend(id)), selector: consistentHash });
    const upstreamPeer = createUpstreamPeer({ balancer, key: (s) => s.uri, peer: peerOf });
    const c = ctx();
    const session = sessionOf('/some/key');
    const chosen: string[] = [];
    for (let i = 0; i < 3; i++) chosen.push(upstreamPeer(session, c).id);
    expect(new Set(chosen)).toEqual(new Set(ids));
    expect([...c.triedBackends]).toEqual(chosen);
    // The first pick is the selector's first choice; later picks follow its fallback order.
    expect(chosen[0]).toBe(balancer.select('/some/key')?.id);
    const err = thrown(() => upstreamPeer(session, c));
    expect(isLbError(err) && err.code).toBe('LB_ERR_NO_HEALTHY_BACKEND');
    expect((err as { status: number }).status).toBe(503);
    expect((err as Error).message).toMatch(/no healthy backend left for GET \/some\/key after trying 3/);
  });

  it('walks failover tiers in order and routes per request', () => {
    const primary = createBalancer({ backends: [backend('127.0.0.1:7001')], selector: consistentHash });
    const standby = createBalancer({ backends: [backend('127.0.0.1:7101')], selector: consistentHash });
    const tiered = createUpstreamPeer({ balancer: [primary, standby], key: (s) => s.uri, peer: peerOf });
    const c = ctx();
    expect(tiered(sessionOf('/'), c).id).toBe('127.0.0.1:7001');
    expect(tiered(sessionOf('/'), c).id).toBe('127.0.0.1:7101');
    expect(thrown(() => tiered(sessionOf('/'), c))).toMatchObject({ code: 'LB_ERR_NO_HEALTHY_BACKEND' });

    const routed = createUpstreamPeer({
      route: (s) => (s.path.startsWith('/api') ? primary : s.path === '/none' ? undefined : standby),
      key: (s) => s.uri,
      peer: peerOf,
    });
    expect(routed(sessionOf('/api/x'), ctx()).id).toBe('127.0.0.1:7001');
    expect(routed(sessionOf('/web'), ctx()).id).toBe('127.0.0.1:7101');
    expect(thrown(() => routed(sessionOf('/none'), ctx()))).toMatchObject({ code: 'LB_ERR_NO_HEALTHY_BACKEND' });
    expect(() => createUpstreamPeer({ key: (s) => s.uri, peer: peerOf })).toThrow(/exactly one of balancer and route/);
  });

  it('tiers bring their own key and peer; routes built with prefixTable pick the tiers per path', () => {
    const primary = createBalancer({
      backends: ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003'].map((a) => backend(a)),
      selector: consistentHash,
    });
    const standby = createBalancer({ backends: [backend('127.0.0.1:7101')], selector: consistentHash });
    const keys: string[] = [];
    const byClient = (s: { clientIp: string }) => {
      keys.push(s.clientIp);
      return s.clientIp;
    };
    const tls = (b: { id: string }) => new HttpPeer(b.id, true, 'standby.test');
    const tiered = createUpstreamPeer({
      balancer: [
        { balancer: primary, key: byClient },
        { balancer: standby, peer: tls },
      ],
      key: (s) => s.uri,
      peer: peerOf,
    });
    const c = ctx();
    const session = sessionOf('/x', {}, '10.9.9.9');
    const first = tiered(session, c);
    // The first tier hashes on its own key (the client address), not the default (the URI).
    expect(first.id).toBe(primary.select('10.9.9.9')?.id);
    expect(keys).toEqual(['10.9.9.9']);
    expect(first.scheme).toBe('http');
    tiered(session, c);
    tiered(session, c);
    // Primary exhausted: the standby tier, reached with its own peer (TLS, SNI).
    const last = tiered(session, c);
    expect([last.id, last.scheme, last.sni]).toEqual(['127.0.0.1:7101', 'https', 'standby.test']);

    const table = prefixTable([
      { prefix: '/api', value: [{ balancer: standby, key: (s: { uri: string }) => s.uri, peer: peerOf }] },
      { prefix: '/', value: [{ balancer: primary, key: (s: { uri: string }) => s.uri, peer: peerOf }] },
    ]);
    const routed = createUpstreamPeer({ route: (s) => table(s.path) });
    expect(routed(sessionOf('/api/v1'), ctx()).id).toBe('127.0.0.1:7101');
    expect(primary.backends().map((b) => b.id)).toContain(routed(sessionOf('/web'), ctx()).id);
  });

  it('rejects a tier without a key or a peer, naming the tier, up front or when a route returns it', () => {
    const pool = createBalancer({ backends: [backend('127.0.0.1:7001')], selector: consistentHash });
    const invalid = (re: RegExp) =>
      expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION', message: expect.stringMatching(re) });
    expect(() => createUpstreamPeer({ balancer: pool, peer: peerOf })).toThrow(invalid(/tier 0 key/));
    expect(() =>
      createUpstreamPeer({ balancer: [pool, { balancer: pool, key: (s) => s.uri }], key: (s) => s.uri }),
    ).toThrow(invalid(/tier 0 peer/));
    expect(() => createUpstreamPeer({ balancer: [pool, {} as Balancer], key: (s) => s.uri, peer: peerOf })).toThrow(
      invalid(/tier 1: expected a Balancer/),
    );
    const routed = createUpstreamPeer({ route: () => [{ balancer: pool, key: (s) => s.uri }] });
    expect(() => routed(sessionOf('/'), ctx())).toThrow(invalid(/tier 0 peer/));
  });

  it('through a real proxy: a dead first choice fails over to a live backend; nothing left → the last error, or 503 when none was ready', async () => {
    const live = await Promise.all([startBackend({ name: 'one' }), startBackend({ name: 'two' })]);
    for (const b of live) cleanup.push(() => b.close());
    const dead = await deadAddress();
    const balancer = createBalancer({
      backends: [backend(dead), ...live.map((b) => backend(b.id))],
      selector: consistentHash,
    });
    cleanup.push(() => balancer.close());
    const tried: string[][] = [];
    const proxy = createProxyServer(
      {
        upstreamPeer: createUpstreamPeer({ balancer, key: (s) => s.uri, peer: peerOf }),
        logging: (_s, _e, c: ProxyCtx) => {
          tried.push([...c.triedBackends]);
        },
      },
      { observers: [balancer.observer], maxAttempts: 3 },
    );
    const { port } = await proxy.listen(0, '127.0.0.1');
    cleanup.push(() => proxy.close({ deadlineMs: 1000 }));

    const key = keyFirstOn(balancer, dead);
    const res = await get(port, key);
    expect(res.status).toBe(200);
    expect(live.map((b) => b.name)).toContain(res.backend);
    expect(tried.at(-1)?.[0]).toBe(dead);
    expect(tried.at(-1)?.length).toBe(2);

    // Only dead backends: each is tried once, then upstreamPeer has none left; the answer is the
    // last connect failure (502), after exactly one attempt per backend although 5 were allowed.
    const deadOnly = createBalancer({
      backends: [backend(dead), backend(await deadAddress())],
      selector: consistentHash,
    });
    const attempts: number[] = [];
    const proxy2 = createProxyServer(
      {
        upstreamPeer: createUpstreamPeer({ balancer: deadOnly, key: (s) => s.uri, peer: peerOf }),
        logging: (_s, _e, c: ProxyCtx) => {
          attempts.push(c.triedBackends.size);
        },
      },
      { maxAttempts: 5 },
    );
    const p2 = await proxy2.listen(0, '127.0.0.1');
    cleanup.push(() => proxy2.close({ deadlineMs: 1000 }));
    expect((await get(p2.port, '/x')).status).toBe(502);
    expect(attempts).toEqual([2]);

    // No ready backend at all: 503 before any connection is tried.
    const empty = createBalancer({ backends: [], selector: consistentHash });
    const proxy3 = createProxyServer({
      upstreamPeer: createUpstreamPeer({ balancer: empty, key: (s) => s.uri, peer: peerOf }),
    });
    const p3 = await proxy3.listen(0, '127.0.0.1');
    cleanup.push(() => proxy3.close({ deadlineMs: 1000 }));
    expect((await get(p3.port, '/x')).status).toBe(503);
  });
});
