import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ProxyApp, ProxyServerOptions, UpstreamObserver } from '../../proxy-app.js';
import type { RetryBudget } from '../../retry-budget.js';
import type { FailureWarnings } from './failure-warnings.js';
import type { PoolCache } from './pool-cache.js';

/** What every request of one server shares, resolved once at start-up. */
export interface ServerState<C> {
  readonly app: ProxyApp<C>;
  readonly options: ProxyServerOptions;
  readonly pools: PoolCache;
  readonly logger: Logger;
  /** The access logger, or undefined when the access log is off (checked once per request). */
  readonly accessLog: Logger | undefined;
  readonly observers: readonly UpstreamObserver[];
  /** Why upstream attempts fail, at warn, once per backend per minute. */
  readonly warnings: FailureWarnings;
  readonly trusted: ReadonlySet<string>;
  readonly proto: 'http' | 'https';
  readonly maxAttempts: number;
  /** Every retry draws on it; undefined when the server has none. */
  readonly retryBudget: RetryBudget | undefined;
  /** Requests and tunnels not yet finished. */
  inflight: number;
  /** Set by close(): new responses get `Connection: close`. */
  closing: boolean;
  /** Called by close() while waiting; invoked whenever `inflight` drops. */
  onSettled: (() => void) | undefined;
  /** Open WebSocket/upgrade tunnels (both sockets), destroyed at the close deadline. */
  readonly tunnels: Set<Duplex>;
}
