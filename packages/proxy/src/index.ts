export { ADMIN_LISTEN_DEFAULTS, type AdminListenOptions, isLoopbackHost } from './admin/admin-defaults.js';
export type { AdminServer } from './admin/admin-http.js';
export { type AdminServerOptions, createAdminServer } from './admin/admin-server.js';
export { createMetrics, type Metrics } from './admin/metrics.js';
export { METRICS_DEFAULTS, type MetricsOptions } from './admin/metrics-defaults.js';
export type {
  StatusBackend,
  StatusDocument,
  StatusRates,
  StatusRoute,
} from './admin/status-model.js';
export {
  type AcceptBackend,
  type Balancer,
  type BalancerHealth,
  type BalancerOptions,
  type CheckListener,
  createBalancer,
  DEFAULT_MAX_ITERATIONS,
} from './balancer.js';
export { SERVE_NODE_FLAGS } from './commands/relaunch.js';
export { loadConfig, parseConfigText } from './config/load.js';
export { formatConfig } from './config/print.js';
export {
  type ResolvedConfig,
  type ResolvedRoute,
  type ResolvedSelector,
  type ResolvedUpstream,
  resolveConfig,
} from './config/resolve.js';
export { type ConfiguredApp, type ConfiguredAppOptions, createConfiguredApp } from './config/runtime.js';
export {
  SELECTOR_TYPES,
  type SelectorContext,
  type SelectorType,
  type SelectorTypeName,
  type SelectorTypeSpec,
  type SelectorVariant,
  selectorType,
} from './config/selector-types.js';
export type { AccessRecord } from './internal/server/access-log.js';
export { haproxyKeyExtractor, type KeyExtractor, type KeySpec, keyExtractor } from './keys.js';
export type {
  ForwardedHeaders,
  ProxyApp,
  ProxyCloseOptions,
  ProxyCtx,
  ProxyServer,
  ProxyServerOptions,
  ProxyTlsOptions,
  Session,
  UpstreamObserver,
  UpstreamOutcome,
  UpstreamRequest,
  UpstreamResponse,
} from './proxy-app.js';
export { createProxyServer } from './proxy-server.js';
export { RETRY_BUDGET_DEFAULTS, RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export {
  FORWARDED_HEADERS_VALUES,
  PROXY_CLOSE_DEFAULTS,
  PROXY_SERVER_DEFAULTS,
  SERVE_CLOSE_DEFAULTS,
} from './server-defaults.js';
export {
  type BalancerTiers,
  createUpstreamPeer,
  type UpstreamPeerFn,
  type UpstreamPeerOptions,
} from './upstream-peer.js';
