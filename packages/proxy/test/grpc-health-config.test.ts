import { createConfiguredApp, resolveConfig } from '@switchyard/proxy';
import { type GrpcBackend, startGrpcBackend, stopAll, waitFor } from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `health.type: "grpc"` in a config file builds grpcCheck: a backend whose grpc.health.v1 service
// says NOT_SERVING leaves the pool, and comes back when it says SERVING again.

describe('a config with health.type "grpc"', () => {
  let backends: GrpcBackend[];
  beforeAll(async () => {
    backends = await Promise.all(
      ['a', 'b', 'c'].map((name) => startGrpcBackend({ name, health: { '': 'SERVING', 'shop.Cart': 'SERVING' } })),
    );
  });
  afterAll(() => stopAll(backends));

  it('fills in the defaults from grpcCheck', () => {
    const config = resolveConfig(
      { upstreams: { web: { backends: ['127.0.0.1:1'], health: { type: 'grpc' } } } },
      process.cwd(),
    );
    expect(config.upstreams.web?.health).toMatchObject({ type: 'grpc', service: '', timeoutMs: 1000 });
  });

  it('marks the backend whose health service says NOT_SERVING, and brings it back on SERVING', async () => {
    const [a, b, c] = backends as [GrpcBackend, GrpcBackend, GrpcBackend];
    const configured = createConfiguredApp(
      resolveConfig(
        {
          upstreams: {
            web: {
              backends: backends.map((x) => x.id),
              health: { type: 'grpc', service: 'shop.Cart', intervalMs: 50, timeoutMs: 2000 },
            },
          },
        },
        process.cwd(),
      ),
    );
    try {
      await configured.ready();
      const balancer = configured.balancers().get('web');
      if (balancer === undefined) throw new Error('no balancer for web');
      b.health.setStatus('shop.Cart', 'NOT_SERVING');
      await waitFor('b to turn unhealthy', () => !balancer.isReady(b.id), 10_000, 20);
      expect(balancer.isReady(a.id)).toBe(true);
      expect(balancer.isReady(c.id)).toBe(true);
      // The service asked about is the configured one: the whole server's status does not matter.
      a.health.setStatus('', 'NOT_SERVING');
      b.health.setStatus('shop.Cart', 'SERVING');
      await waitFor('b to turn healthy again', () => balancer.isReady(b.id), 10_000, 20);
      expect(balancer.isReady(a.id)).toBe(true);
    } finally {
      await configured.close();
    }
  });
});
