export { type Backend, type BackendMeta, backend, formatHostPort, type HostPort, parseHostPort } from './backend.js';
export {
  type ConnectCallback,
  type ConnectLimits,
  type Connector,
  connectPeer,
  createConnector,
} from './connector.js';
export {
  describe,
  ERROR_CODES,
  invalidOption,
  isLbError,
  LbError,
  type LbErrorCode,
  type LbErrorOptions,
} from './errors.js';
export { type ClientCertKey, HttpPeer, type HttpPeerInit, type PeerProxy } from './http-peer.js';
export type { LivePeerOptions } from './live-peer-options.js';
export { LOAD_TRACKER_DEFAULTS, LoadTracker, type LoadTrackerOptions } from './load-tracker.js';
export { checkInteger, checkNonNegative, resolveOptions } from './options.js';
export {
  type Alpn,
  PEER_OPTIONS_DEFAULTS,
  type PeerOptions,
  resolvePeerOptions,
  type TcpKeepalive,
} from './peer-options.js';
export { headerNameIs, rawHeadersHaveBody, rawHeaderValue } from './raw-headers.js';
export { candidates, emptyIterator, type RequestInfo, type Selector, type SelectorFactory } from './selector.js';
export {
  applyUpstreamRequestPolicy,
  denyUpgrades,
  finalizeUpstreamFraming,
  type H1UpgradePolicy,
  HOP_BY_HOP_HEADERS,
  MAX_CONNECTION_NOMINATIONS,
  PROTECTED_NOMINATIONS,
  preserve,
  standard,
  type UpstreamRequestHead,
  type UpstreamRequestPolicy,
  type UpstreamRequestPolicyResult,
} from './upstream-request-policy.js';
