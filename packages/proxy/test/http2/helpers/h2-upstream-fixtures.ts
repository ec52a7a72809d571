import type { ClientHttp2Session } from 'node:http2';
import type { HttpPeer } from '@switchyard/core';
import { peer } from '../../helpers/server-client.js';
import { type ServerFixtures, serverFixtures } from '../../helpers/server-fixtures.js';
import { h2Close, h2Connect } from './h2-client.js';
import { type H2RawBackend, startH2RawBackend } from './h2-raw-backend.js';

/** {@link serverFixtures} plus HTTP/2 backends and client sessions, all closed after each test. */
export interface H2UpstreamFixtures extends ServerFixtures {
  /** A raw HTTP/2 backend on loopback. */
  backend(...args: Parameters<typeof startH2RawBackend>): Promise<H2RawBackend>;
  /** An h2c client session to the proxy on `port`. */
  session(port: number): Promise<ClientHttp2Session>;
}

/** The fixtures of the HTTP/2 upstream tests (proxies closed with a `closeDeadlineMs` deadline). */
export function h2UpstreamFixtures(closeDeadlineMs: number): H2UpstreamFixtures {
  const fixtures = serverFixtures(closeDeadlineMs);
  const { cleanup } = fixtures;
  return {
    ...fixtures,
    async backend(...args) {
      const b = await startH2RawBackend(...args);
      cleanup.push(() => b.close());
      return b;
    },
    async session(port) {
      const s = await h2Connect(`http://127.0.0.1:${port}`);
      cleanup.push(() => h2Close(s));
      return s;
    },
  };
}

/** A peer for the h2c backend `id` (`alpn: 'h2'` on plain text), with extra peer options. */
export function h2c(id: string, options: Record<string, unknown> = {}): HttpPeer {
  return peer(id, { options: { alpn: 'h2', ...options } });
}
