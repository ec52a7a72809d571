import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AdminListenOptions } from './admin-defaults.js';
import type { StatusDocument } from './status-model.js';
import { STATUS_PAGE, STATUS_PAGE_CSP } from './status-page.js';

/** What an admin listener serves: one process's data, or a cluster primary's merged view. */
export interface AdminSource {
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  status(): Promise<StatusDocument>;
}

/** A running admin listener. */
export interface AdminServer {
  /** The underlying `node:http` server. */
  readonly server: Server;
  /** Starts listening on the configured host and port; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>;
  /** Stops listening and closes every admin connection. Idempotent. */
  close(): Promise<void>;
}

/** Longest admin request target, bytes; longer ones get 414. */
const MAX_TARGET = 1024;
const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * True when `authorization` carries `token` as `Bearer <token>` or as the password of HTTP Basic.
 * Both sides are hashed first, so the comparison is constant-time whatever the lengths.
 */
export function authorized(authorization: string | undefined, expected: Buffer): boolean {
  if (authorization === undefined) return false;
  const space = authorization.indexOf(' ');
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  let given: string | undefined;
  if (scheme === 'bearer') given = value;
  else if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    given = colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  // Compared even when absent, so a malformed header costs what a wrong token costs.
  return timingSafeEqual(digest(given ?? ''), expected) && given !== undefined;
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const text = (res: ServerResponse, status: number, body: string, extra?: Record<string, string | string[]>) =>
  send(res, status, 'text/plain; charset=utf-8', `${body}\n`, extra);

/**
 * The admin listener's HTTP side, shared by the single-process and the cluster-primary servers:
 * GET/HEAD only, no request bodies, bounded heads and targets, the token checked before anything
 * else, exact paths (`/metrics`, `/status`, `/status.json`, `/healthz`, `/readyz`), everything
 * else 404. It never proxies.
 */
export function serveAdmin(o: AdminListenOptions, source: AdminSource): AdminServer {
  const expected = o.token === undefined ? undefined : digest(o.token);
  const server = createServer({
    maxHeaderSize: o.maxHeaderSize,
    headersTimeout: Math.min(o.requestTimeout, 5000),
    requestTimeout: o.requestTimeout,
    insecureHTTPParser: false,
  });
  server.maxHeadersCount = 64;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
    );
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) text(res, 500, `admin error: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (expected !== undefined && !authorized(req.headers.authorization, expected)) {
      res.shouldKeepAlive = false;
      return text(res, 401, 'unauthorized: send Authorization: Bearer <token>', {
        'www-authenticate': ['Bearer realm="switchyard admin"', 'Basic realm="switchyard admin", charset="UTF-8"'],
      });
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody) {
      res.shouldKeepAlive = false;
      return text(res, 413, 'admin requests carry no body');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return text(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    const target = req.url ?? '';
    if (target.length > MAX_TARGET) return text(res, 414, 'request target too long');
    const query = target.indexOf('?');
    const path = query < 0 ? target : target.slice(0, query);
    switch (path) {
      case '/healthz':
        return text(res, 200, 'ok');
      case '/readyz': {
        const status = await source.status();
        return text(res, status.ready ? 200 : 503, status.ready ? 'ready' : status.draining ? 'draining' : 'not ready');
      }
      case '/metrics':
        return send(res, 200, PROMETHEUS_TYPE, await source.metrics());
      case '/status.json':
        return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(await source.status()));
      case '/status':
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', STATUS_PAGE, { 'content-security-policy': STATUS_PAGE_CSP });
      default:
        return text(res, 404, 'not found: the admin endpoints are /metrics, /status, /status.json, /healthz, /readyz');
    }
  }

  let closed: Promise<void> | undefined;
  return {
    server,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.port, o.host, () => {
          server.off('error', reject);
          const address = server.address();
          if (address === null || typeof address === 'string') reject(new Error('admin server has no TCP address'));
          else resolve({ host: address.address, port: address.port });
        });
      });
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        if (!server.listening) resolve();
        else server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
