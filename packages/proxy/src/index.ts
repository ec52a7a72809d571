export {
  type AcceptBackend,
  type Balancer,
  type BalancerHealth,
  type BalancerOptions,
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
