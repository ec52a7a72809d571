import { isIP } from 'node:net';
import { checkInteger, invalidOption } from '@switchyard/core';
import type { ForwardedHeaders, ProxyServerOptions } from './proxy-app.js';
import { RetryBudget } from './retry-budget.js';

/** Longest timer Node accepts, ms (larger values fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Defaults of {@link createProxyServer}. The downstream limits are chosen against slow or
 * hostile clients: 20 s for a request head (slowloris), 16 KiB heads, 5 s idle keep-alive.
 * The config file's `server`, `retries`, `accessLog` and `trustedProxies` defaults are these.
 */
export const PROXY_SERVER_DEFAULTS: ProxyServerOptions = Object.freeze({
  tls: undefined,
  maxAttempts: 3,
  retryBudget: Object.freeze({}),
  logger: undefined,
  accessLog: true,
  trustedProxies: Object.freeze([]) as readonly string[],
  forwardedHeaders: 'x-forwarded',
  observers: Object.freeze([]) as readonly never[],
  maxPools: 1024,
  // Pingora's upstream_keepalive_pool_size.
  connectionsPerPool: 128,
  poolIdleMs: 300_000,
  headersTimeout: 20_000,
  requestTimeout: 300_000,
  maxHeaderSize: 16_384,
  maxHeadersCount: 2000,
  keepAliveTimeout: 5_000,
});

/** The values `forwardedHeaders` accepts. */
export const FORWARDED_HEADERS_VALUES: readonly ForwardedHeaders[] = Object.freeze(['x-forwarded', 'rfc7239', 'both']);

/**
 * Defaults of `ProxyServer.close()` (both ms, 0 to 2^31 - 1): in-flight requests get `deadlineMs`
 * to finish; idle keep-alive connections are kept for `drainMs` so that requests already on their
 * way still get an answer (with `Connection: close`). The library closes idle connections at once;
 * `switchyard serve` drains for {@link SERVE_CLOSE_DEFAULTS}`.drainMs`.
 */
export const PROXY_CLOSE_DEFAULTS: Readonly<{ deadlineMs: number; drainMs: number }> = Object.freeze({
  deadlineMs: 10_000,
  drainMs: 0,
});

/**
 * What `switchyard serve` passes to `close()` on SIGTERM/SIGINT unless the config says otherwise
 * (`server.shutdownTimeoutMs`, `server.drainMs`): a process being replaced (a rolling deploy)
 * keeps answering clients that have not yet noticed for 5 s.
 */
export const SERVE_CLOSE_DEFAULTS: Readonly<{ deadlineMs: number; drainMs: number }> = Object.freeze({
  deadlineMs: PROXY_CLOSE_DEFAULTS.deadlineMs,
  drainMs: 5_000,
});

/** Throws `LB_ERR_INVALID_OPTION` unless `deadlineMs` is a valid `close()` deadline. */
export function validateCloseDeadline(deadlineMs: unknown): void {
  checkInteger('proxy server close deadlineMs', deadlineMs, 0, MAX_TIMER_MS);
}

/** Throws `LB_ERR_INVALID_OPTION` unless `drainMs` is a valid `close()` drain window. */
export function validateCloseDrain(drainMs: unknown): void {
  checkInteger('proxy server close drainMs', drainMs, 0, MAX_TIMER_MS);
}

/** The budget a server with these (validated) options draws its retries on; throws `LB_ERR_INVALID_OPTION` for bad budget options. */
export function serverRetryBudget(o: ProxyServerOptions): RetryBudget | undefined {
  const budget = o.retryBudget;
  if (budget === false) return undefined;
  return budget instanceof RetryBudget ? budget : new RetryBudget(budget);
}

/**
 * The validation `createProxyServer` runs on its merged options: throws `LbError`
 * `LB_ERR_INVALID_OPTION` naming the first invalid field (`proxy server <field>: expected …`).
 */
export function validateProxyServerOptions(o: ProxyServerOptions): void {
  // Each attempt goes to a backend not tried yet; past a handful, retrying only adds load to a failing pool.
  checkInteger('proxy server maxAttempts', o.maxAttempts, 1, 16);
  const budget = o.retryBudget as unknown;
  if (budget !== false && !(budget instanceof RetryBudget)) {
    if (typeof budget !== 'object' || budget === null || Array.isArray(budget)) {
      invalidOption('proxy server retryBudget', 'retry budget options, a RetryBudget or false', budget);
    }
  }
  checkInteger('proxy server maxPools', o.maxPools, 1, 1_000_000);
  checkInteger('proxy server connectionsPerPool', o.connectionsPerPool, 1, 1_000_000);
  checkInteger('proxy server poolIdleMs', o.poolIdleMs, 1, MAX_TIMER_MS);
  checkInteger('proxy server headersTimeout', o.headersTimeout, 1, MAX_TIMER_MS);
  checkInteger('proxy server requestTimeout', o.requestTimeout, 0, MAX_TIMER_MS);
  checkInteger('proxy server maxHeaderSize', o.maxHeaderSize, 1024, 1 << 24);
  checkInteger('proxy server maxHeadersCount', o.maxHeadersCount, 1, 100_000);
  checkInteger('proxy server keepAliveTimeout', o.keepAliveTimeout, 0, MAX_TIMER_MS);
  if (o.requestTimeout !== 0 && o.headersTimeout > o.requestTimeout) {
    invalidOption('proxy server headersTimeout', `at most requestTimeout (${o.requestTimeout})`, o.headersTimeout);
  }
  if (typeof o.accessLog !== 'boolean') invalidOption('proxy server accessLog', 'a boolean', o.accessLog);
  if (!Array.isArray(o.trustedProxies)) {
    invalidOption('proxy server trustedProxies', 'an array of IP address strings', o.trustedProxies);
  }
  o.trustedProxies.forEach((ip, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0)
      invalidOption(`proxy server trustedProxies[${i}]`, 'an IP address', ip);
  });
  if (!FORWARDED_HEADERS_VALUES.includes(o.forwardedHeaders)) {
    invalidOption(
      'proxy server forwardedHeaders',
      FORWARDED_HEADERS_VALUES.map((v) => `"${v}"`).join(', '),
      o.forwardedHeaders,
    );
  }
  if (!Array.isArray(o.observers)) {
    invalidOption('proxy server observers', 'an array of UpstreamObserver objects', o.observers);
  }
  o.observers.forEach((ob: unknown, i) => {
    const hooks = ob as { onStart?: unknown; onFinish?: unknown } | null;
    if (typeof hooks !== 'object' || hooks === null) {
      invalidOption(`proxy server observers[${i}]`, 'an object with onStart/onFinish', ob);
    }
    for (const hook of ['onStart', 'onFinish'] as const) {
      if (hooks[hook] !== undefined && typeof hooks[hook] !== 'function') {
        invalidOption(`proxy server observers[${i}].${hook}`, 'a function', hooks[hook]);
      }
    }
  });
  const logger = o.logger as unknown;
  if (logger !== undefined && !isLogger(logger)) {
    invalidOption('proxy server logger', 'a pino Logger', logger);
  }
  if (o.tls !== undefined) {
    const tls = o.tls as unknown as { cert?: unknown; key?: unknown } | null;
    if (typeof tls !== 'object' || tls === null) invalidOption('proxy server tls', '{ cert, key } (PEM)', tls);
    for (const field of ['cert', 'key'] as const) {
      const v = tls[field];
      if (!(typeof v === 'string' || Buffer.isBuffer(v)) || v.length === 0) {
        // Never echo the value: it may be a private key.
        invalidOption(`proxy server tls.${field}`, 'PEM text (a string or Buffer)', typeof v);
      }
    }
  }
}

function isLogger(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const l = value as Record<string, unknown>;
  return ['child', 'info', 'error', 'isLevelEnabled'].every((name) => typeof l[name] === 'function');
}
