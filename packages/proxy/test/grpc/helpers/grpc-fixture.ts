import { Metadata } from '@grpc/grpc-js';
import { createConfiguredApp, createProxyServer, type ProxyServerOptions, resolveConfig } from '@switchyard/proxy';
import { type EchoClient, echoClient, type GrpcBackend, startGrpcBackend, stopAll } from '@switchyard/testkit';

/** Three gRPC backends behind a Switchyard that takes h2c and speaks h2c to them. */
export interface GrpcFixture {
  readonly port: number;
  readonly backends: readonly GrpcBackend[];
  /** A client with one channel to the proxy; closed by `close()`. */
  client(): EchoClient;
  close(): Promise<void>;
}

/**
 * Starts the backends (`a`, `b`, `c`), a configured app over them (round-robin, `alpn: h2`, and
 * whatever `upstream` adds) and a proxy server with `h2c` on.
 */
export async function startGrpcFixture(
  upstream: Record<string, unknown> = {},
  server: Partial<ProxyServerOptions> = {},
  names: readonly string[] = ['a', 'b', 'c'],
): Promise<GrpcFixture> {
  const backends = await Promise.all(names.map((name) => startGrpcBackend({ name })));
  const configured = createConfiguredApp(
    resolveConfig(
      {
        upstreams: {
          grpc: {
            backends: backends.map((b) => b.id),
            selector: { type: 'round-robin' },
            peer: { alpn: 'h2' },
            ...upstream,
          },
        },
      },
      process.cwd(),
    ),
  );
  await configured.ready();
  const proxy = createProxyServer(configured.app, {
    observers: [configured.observer],
    h2c: true,
    accessLog: false,
    ...server,
  });
  const { port } = await proxy.listen(0, '127.0.0.1');
  const clients: EchoClient[] = [];
  return {
    port,
    backends,
    client: () => {
      const c = echoClient(`127.0.0.1:${port}`);
      clients.push(c);
      return c;
    },
    close: async () => {
      for (const c of clients) c.close();
      await proxy.close({ deadlineMs: 1000 });
      await configured.close();
      await stopAll(backends);
    },
  };
}

/** Empty metadata, for the client calls that take it. */
export const none = (): Metadata => new Metadata();
