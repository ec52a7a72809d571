export type {
  ProxyApp,
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
export { createProxyServer, PROXY_SERVER_DEFAULTS } from './proxy-server.js';
