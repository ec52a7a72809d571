import type { Logger } from 'pino';
import type { ProxyServerOptions, UpstreamObserver } from '../proxy-app.js';
import { type ConfigIssue, formatPath, valueAt } from './issues.js';
import type { ResolvedConfig } from './resolve.js';

/**
 * Which config field feeds which `createProxyServer` option: `serve` builds the server's options
 * from this table and `check` validates the same fields through the server's own validator.
 */
export const SERVER_OPTION_PATHS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  maxAttempts: ['retries', 'maxAttempts'],
  accessLog: ['accessLog'],
  trustedProxies: ['trustedProxies'],
  forwardedHeaders: ['forwardedHeaders'],
  headersTimeout: ['server', 'headersTimeout'],
  requestTimeout: ['server', 'requestTimeout'],
  keepAliveTimeout: ['server', 'keepAliveTimeout'],
  maxHeaderSize: ['server', 'maxHeaderSize'],
  tls: ['server', 'tls'],
});

/** The `retries` fields that are `RetryBudget` options (checked by its constructor, `retry budget <field>`). */
export const RETRY_BUDGET_FIELDS: readonly string[] = Object.freeze([
  'budgetPercent',
  'budgetWindowMs',
  'minPerSecond',
]);

/** The `createProxyServer` options `serve` runs `config` with. */
export function proxyServerOptions(
  config: ResolvedConfig,
  observer: UpstreamObserver,
  logger: Logger,
): Partial<ProxyServerOptions> {
  const options: Record<string, unknown> = { observers: [observer], logger };
  for (const [option, path] of Object.entries(SERVER_OPTION_PATHS)) {
    if (option !== 'tls') options[option] = valueAt(config, path);
  }
  if (config.serverTls !== undefined) options.tls = config.serverTls;
  const { budgetPercent, budgetWindowMs, minPerSecond } = config.retries;
  options.retryBudget = { budgetPercent, budgetWindowMs, minPerSecond };
  return options as Partial<ProxyServerOptions>;
}

/**
 * A `createProxyServer` error as a config problem: `proxy server headersTimeout: expected …`
 * becomes `server.headersTimeout: expected …`; an error naming no config field is put at `server`.
 */
export function serverIssue(message: string): ConfigIssue {
  const match = /^proxy server ([A-Za-z]+)(\S*): (.*)$/s.exec(message);
  const path = match?.[1] === undefined ? undefined : SERVER_OPTION_PATHS[match[1]];
  if (match === null || path === undefined) return { path: 'server', message };
  return { path: `${formatPath(path)}${match[2] ?? ''}`, message: match[3] ?? message };
}
