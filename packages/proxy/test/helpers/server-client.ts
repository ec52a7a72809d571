import { type Agent, type ClientRequest, type IncomingHttpHeaders, request } from 'node:http';
import { Writable } from 'node:stream';
import { HttpPeer, LbError } from '@switchyard/core';
import pino, { type Logger } from 'pino';
import type { ProxyApp, ProxyCtx } from '../../src/index.js';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: string;
  /** The body as received, byte for byte. */
  readonly bytes: Buffer;
}

export interface SendOptions {
  readonly method?: string;
  /** Raw header pairs (flat) or an object. */
  readonly headers?: string[] | Record<string, string>;
  readonly body?: string | Buffer;
  /** Give up after this long, ms. @defaultValue 10000 */
  readonly timeoutMs?: number;
  readonly localAddress?: string;
  /** Send over this agent (e.g. keep-alive) instead of a fresh connection. */
  readonly agent?: Agent;
}

/** One request over a fresh connection (or `options.agent`), body read as UTF-8 and as bytes. */
export function send(port: number, path: string, options: SendOptions = {}, host = '127.0.0.1'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host,
      port,
      path,
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      agent: options.agent ?? false,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error('test client timeout')));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: bytes.toString('utf8'),
          bytes,
        });
      });
    });
    req.end(options.body);
  });
}

/** GETs `path` through the proxy on `port` over a fresh connection; the status and the `X-Backend` that answered. */
export async function get(port: number, path = '/'): Promise<{ status: number; backend: string | undefined }> {
  const reply = await send(port, path, { timeoutMs: 5000 });
  const backend = reply.headers['x-backend'];
  return { status: reply.status, backend: typeof backend === 'string' ? backend : undefined };
}

/**
 * A minimal app over fixed peers, as `createUpstreamPeer` would behave: each attempt takes the
 * next peer whose id is not in `ctx.triedBackends`, and throws `LB_ERR_NO_HEALTHY_BACKEND` when none is left.
 */
export function peersApp(peers: readonly HttpPeer[], extra: Partial<ProxyApp<ProxyCtx>> = {}): ProxyApp<ProxyCtx> {
  return {
    upstreamPeer(_session, ctx) {
      for (const peer of peers) {
        if (!ctx.triedBackends.has(peer.id)) {
          ctx.triedBackends.add(peer.id);
          return peer;
        }
      }
      throw new LbError('LB_ERR_NO_HEALTHY_BACKEND', 'every backend was tried');
    },
    ...extra,
  };
}

/** An HttpPeer for a loopback upstream `id`. */
export function peer(id: string, options: ConstructorParameters<typeof HttpPeer>[3] = {}): HttpPeer {
  return new HttpPeer(id, false, '', options);
}

/** A pino logger at info whose lines are collected in `lines` (raw JSON text). */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** The response body of `req` (HTTP or HTTPS) as text; rejects on a request error. Attach before sending. */
export function responseText(req: ClientRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve(text));
    });
  });
}
