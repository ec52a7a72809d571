import { createServer as createHttpServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { checkInteger, invalidOption, resolveOptions } from '@switchyard/core';
import pino from 'pino';
import { DownstreamConnections, drain, isHalfClosed, stopListening } from './internal/server/downstream-drain.js';
import { answerClientError, refuseConnect } from './internal/server/early-answers.js';
import { FailureWarnings } from './internal/server/failure-warnings.js';
import { Exchange } from './internal/server/forward-exchange.js';
import { normalizeIp } from './internal/server/forward-headers.js';
import { PoolCache } from './internal/server/pool-cache.js';
import type { ServerState } from './internal/server/server-state.js';
import { upgradeResponse } from './internal/server/server-tunnel.js';
import { logRefusedResponse } from './internal/server/upstream-response-check.js';
import type { ProxyApp, ProxyCloseOptions, ProxyCtx, ProxyServer, ProxyServerOptions } from './proxy-app.js';
import type { RetryBudget } from './retry-budget.js';
import {
  PROXY_CLOSE_DEFAULTS,
  PROXY_SERVER_DEFAULTS,
  serverRetryBudget,
  validateProxyServerOptions as validate,
  validateCloseDeadline,
  validateCloseDrain,
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
    pools: new PoolCache(o.maxPools, o.connectionsPerPool, o.poolIdleMs, (backend, reason) =>
      logRefusedResponse(logger, backend, reason),
    ),
    logger,
    accessLog: o.accessLog && logger.isLevelEnabled('info') ? logger.child({ log: 'access' }) : undefined,
    observers: o.observers,
    warnings: new FailureWarnings(logger),
    trusted: new Set(o.trustedProxies.map(normalizeIp)),
    proto: o.tls === undefined ? 'http' : 'https',
    maxAttempts: o.maxAttempts,
    retryBudget: serverRetryBudget(o),
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
    highWaterMark: DOWNSTREAM_BUFFER_BYTES,
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
        }) as unknown as Server);
  server.keepAliveTimeout = o.keepAliveTimeout;
  // One more than the limit, so an oversized head is detected (and refused) instead of truncated.
  server.maxHeadersCount = o.maxHeadersCount + 1;
  const connections = new DownstreamConnections();
  server.on(o.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => connections.add(socket));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // The drain already half-closed this connection: the client saw the FIN, nothing is answered.
    if (state.closing && isHalfClosed(req.socket)) req.resume();
    else new Exchange(state, req, res).start();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const res = new ServerResponse(req);
    upgradeResponse(res, socket);
    socket.on('error', noop);
    new Exchange(state, req, res, socket, head).start();
  });
  server.on('connect', (req: IncomingMessage, socket: Socket) => refuseConnect(state, req, socket));
  server.on('clientError', (err: Error, socket: Socket) => answerClientError(state, err, socket));
  return new NodeProxyServer(server, state, connections);
}

function noop(): void {}

/**
 * Bytes a client connection buffers each way before its stream asks to wait (Node's default
 * is 16 KiB). Above one socket read (64 KiB), so a large body relayed read by read does not
 * pause and resume the other side after every read; still a small bound per connection.
 */
const DOWNSTREAM_BUFFER_BYTES = 128 * 1024;

/** How often Node sweeps connections for header/request timeouts: a quarter of headersTimeout, 50 ms to 1 s. */
function checkingIntervalFor(headersTimeout: number): number {
  return Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4)));
}

class NodeProxyServer<C> implements ProxyServer {
  readonly server: Server;
  readonly retryBudget: RetryBudget | undefined;
  readonly #state: ServerState<C>;
  readonly #connections: DownstreamConnections;
  #closed: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  constructor(server: Server, state: ServerState<C>, connections: DownstreamConnections) {
    this.server = server;
    this.#state = state;
    this.#connections = connections;
    this.retryBudget = state.retryBudget;
  }

  get draining(): boolean {
    return this.#state.closing;
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

  stopAccepting(): void {
    this.#stopped ??= stopListening(this.server);
  }

  close(options: Partial<ProxyCloseOptions> = {}): Promise<void> {
    this.#closed ??= this.#close(
      options.deadlineMs ?? PROXY_CLOSE_DEFAULTS.deadlineMs,
      options.drainMs ?? PROXY_CLOSE_DEFAULTS.drainMs,
    );
    return this.#closed;
  }

  async #close(deadlineMs: number, drainMs: number): Promise<void> {
    validateCloseDeadline(deadlineMs);
    validateCloseDrain(drainMs);
    this.#state.closing = true;
    this.stopAccepting();
    await drain(this.server, this.#state, this.#connections, this.#stopped as Promise<void>, { deadlineMs, drainMs });
  }
}
