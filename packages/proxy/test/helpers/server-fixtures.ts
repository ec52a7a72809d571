import {
  createProxyServer,
  type ProxyApp,
  type ProxyCtx,
  type ProxyServer,
  type ProxyServerOptions,
} from '@switchyard/proxy';
import { startBackend, type TestBackend, type TestBackendOptions } from '@switchyard/testkit';
import { afterEach } from 'vitest';

/** What {@link serverFixtures} hands a test file. */
export interface ServerFixtures {
  /** Extra teardown steps; run after each test, newest first, with the servers below. */
  readonly cleanup: (() => Promise<unknown>)[];
  /** Starts a loopback backend that is closed after the test. */
  upstream(options?: TestBackendOptions): Promise<TestBackend>;
  /** Starts a proxy on an OS-assigned loopback port that is closed after the test. */
  proxy<C = ProxyCtx>(
    app: ProxyApp<C>,
    options?: Partial<ProxyServerOptions>,
  ): Promise<{ proxy: ProxyServer; port: number }>;
}

/**
 * Registers an `afterEach` that tears down, newest first, every backend and proxy the
 * returned functions start. Proxies close gracefully within `closeDeadlineMs`.
 */
export function serverFixtures(closeDeadlineMs = 1000): ServerFixtures {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()?.();
  });
  return {
    cleanup,
    async upstream(options) {
      const u = await startBackend(options);
      cleanup.push(() => u.close());
      return u;
    },
    async proxy(app, options) {
      const p = createProxyServer(app, options);
      cleanup.push(() => p.close({ deadlineMs: closeDeadlineMs }));
      const { port } = await p.listen(0);
      return { proxy: p, port };
    },
  };
}
