import { HttpPeer } from '@switchyard/core';
import { createProxyServer, type ProxyServer, type ProxyServerOptions } from '@switchyard/proxy';
import { type FaultBackend, startFaultBackend } from '@switchyard/testkit';

/** A proxy (in this process) in front of one recording backend. */
export interface HostileRig {
  readonly proxy: ProxyServer;
  readonly port: number;
  readonly backend: FaultBackend;
  close(): Promise<void>;
}

/**
 * Starts `createProxyServer` with the smallest app (every request to `backend`) and the
 * standard upstream request policy. `headersTimeout` is short so slow-header tests are quick.
 */
export async function startHostileRig(options: Partial<ProxyServerOptions> = {}): Promise<HostileRig> {
  const backend = await startFaultBackend({ name: 'target' });
  const proxy = createProxyServer(
    { upstreamPeer: () => new HttpPeer(backend.id, false, '', { options: { readTimeout: 3000 } }) },
    { headersTimeout: 1000, requestTimeout: 5000, accessLog: false, ...options },
  );
  const { port } = await proxy.listen(0, '127.0.0.1');
  return {
    proxy,
    port,
    backend,
    async close() {
      await proxy.close({ deadlineMs: 1000 });
      await backend.stop();
    },
  };
}
