import { createServer as createHttpServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { checkInteger, invalidOption, resolveOptions } from '@switchyard/core';
import pino from 'pino';
import { Exchange } from './internal/server/forward-exchange.js';
import { normalizeIp } from './internal/server/forward-headers.js';
import { H2_ALPN, H2Listener } from './internal/server/h2-listener.js';
import { PoolCache } from './internal/server/pool-cache.js';
import type { ServerState } from './internal/server/server-state.js';
import { upgradeResponse } from './internal/server/server-tunnel.js';
import type { ProxyApp, ProxyCtx, ProxyServer, ProxyServerOptions } from './proxy-app.js';
import {
  PROXY_CLOSE_DEFAULTS,
  PROXY_SERVER_DEFAULTS,
  validateProxyServerOptions as validate,
  validateCloseDeadline,
} from './server-defaults.js';

/**
 * A reverse proxy running `app`'s phases on a `node:http` server (`node:https` with `tls`).
 * Upstream traffic goes through undici: one pool per peer pool key (`HttpPeer.reuseKey()`
 * plus the connection-shaping options), at most `maxPools` of them, least recently used closed
 * first, idle ones closed after `poolIdleMs`. See the package README for phases, status mapping,
 * retries and logging.
 *
 * @throws LbError `LB_ERR_INVALID_OPTION` for invalid options or an app without `upstreamPeer`.
 */
export function createProxyServer<C = ProxyCtx>(
  app: ProxyApp<C>,
  options: Partial<ProxyServerOptions> = {},
): ProxyServer {
  if (typeof app !== 'object' || app === null || typeof app.upstreamPeer !== 'function') {
    invalidOption('createProxyServer app', 'an object with an upstreamPeer(session, ctx) method', app);
  }
  const o = resolveOptions('proxy server', PROXY_SERVER_DEFAULTS, options, validate);
  const logger = (o.logger ?? pino({ enabled: false })).child({ component: 'proxy' });
  const state: ServerState<C> = {
    app,
    options: o,
    pools: new PoolCache(o.maxPools, o.connectionsPerPool, o.poolIdleMs),
    logger,
    accessLog: o.accessLog && logger.isLevelEnabled('info') ? logger.child({ log: 'access' }) : undefined,
    observers: o.observers,
    trusted: new Set(o.trustedProxies.map(normalizeIp)),
    proto: o.tls === undefined ? 'http' : 'https',
    maxAttempts: o.maxAttempts,
    inflight: 0,
    closing: false,
    onSettled: undefined,
    tunnels: new Set(),
  };
  const serverOptions = {
    headersTimeout: o.headersTimeout,
    requestTimeout: o.requestTimeout,
    maxHeaderSize: o.maxHeaderSize,
    keepAliveTimeout: o.keepAliveTimeout,
    // Node enforces headersTimeout/requestTimeout (also on connections that never send a byte)
    // only on this sweep, 30 s by default: a slowloris client could overstay the limit by that much.
    connectionsCheckingInterval: checkingIntervalFor(o.headersTimeout),
    // Never lenient: request smuggling defenses depend on the strict parser.
    insecureHTTPParser: false,
    noDelay: true,
  };
  const server: Server =
    o.tls === undefined
      ? createHttpServer(serverOptions)
      : (createHttpsServer({
          ...serverOptions,
          cert: o.tls.cert,
          key: o.tls.key,
          // A TLS handshake that stalls is bounded like a slow head.
          handshakeTimeout: o.headersTimeout,
          ...(o.http2 ? { ALPNProtocols: [...H2_ALPN] } : {}),
        }) as unknown as Server);
  server.keepAliveTimeout = o.keepAliveTimeout;
  // One more than the limit, so an oversized head is detected (and refused) instead of truncated.
  server.maxHeadersCount = o.maxHeadersCount + 1;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    new Exchange(state, req, res).start();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const res = new ServerResponse(req);
    upgradeResponse(res, socket);
    socket.on('error', noop);
    new Exchange(state, req, res, socket, head).start();
  });
  // HTTP/2 connections are handed over by the HTTP/1.1 server, which keeps its own path unchanged.
  let h2: H2Listener<C> | undefined;
  if (o.tls !== undefined ? o.http2 : o.h2c) {
    h2 = new H2Listener(state, o);
    if (o.tls !== undefined) h2.attachTls(server);
    else h2.attachCleartext(server, o.headersTimeout);
  }
  return new NodeProxyServer(server, state, h2);
}

function noop(): void {}

/** How often Node sweeps connections for header/request timeouts: a quarter of headersTimeout, 50 ms to 1 s. */
function checkingIntervalFor(headersTimeout: number): number {
  return Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4)));
}

class NodeProxyServer<C> implements ProxyServer {
  readonly server: Server;
  readonly #state: ServerState<C>;
  readonly #h2: H2Listener<C> | undefined;
  #closed: Promise<void> | undefined;

  constructor(server: Server, state: ServerState<C>, h2: H2Listener<C> | undefined) {
    this.server = server;
    this.#state = state;
    this.#h2 = h2;
  }

  listen(port: number, host = '127.0.0.1'): Promise<{ host: string; port: number }> {
    checkInteger('proxy server listen port', port, 0, 65535);
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        if (address === null || typeof address === 'string') reject(new Error('proxy server has no TCP address'));
        else resolve({ host: address.address, port: address.port });
      });
    });
  }

  close(options: { deadlineMs?: number } = {}): Promise<void> {
    this.#closed ??= this.#close(options.deadlineMs ?? PROXY_CLOSE_DEFAULTS.deadlineMs);
    return this.#closed;
  }

  async #close(deadlineMs: number): Promise<void> {
    validateCloseDeadline(deadlineMs);
    const state = this.#state;
    const server = this.server;
    state.closing = true;
    const stopped = new Promise<void>((resolve) => {
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });
    server.closeIdleConnections();
    this.#h2?.close();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
    });
    const drained = new Promise<boolean>((resolve) => {
      const check = () => {
        // Connections whose response just finished become idle: close them now, not after keepAliveTimeout.
        setImmediate(() => server.closeIdleConnections());
        if (state.inflight === 0) resolve(true);
      };
      state.onSettled = check;
      check();
    });
    const clean = await Promise.race([drained, deadline]);
    state.onSettled = undefined;
    for (const socket of state.tunnels) socket.destroy();
    state.tunnels.clear();
    if (!clean) {
      server.closeAllConnections();
      this.#h2?.destroy();
    }
    await state.pools.close(!clean);
    await Promise.race([stopped, deadline]);
    server.closeAllConnections();
    this.#h2?.destroy();
    clearTimeout(timer);
    await stopped;
  }
}
