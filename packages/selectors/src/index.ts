export { BOUNDED_LOAD_DEFAULTS, type BoundedLoadOptions, boundedLoad, boundedLoadSlots } from './bounded-load.js';
export {
  CONSISTENT_HASH_DEFAULTS,
  type ConsistentHashAlgorithm,
  type ConsistentHashOptions,
  consistentHash,
  MAX_RING_POINTS,
  NGINX_POINTS_PER_WEIGHT,
} from './consistent-hash.js';
export { envoyCombineHashes, envoyCookieHash, envoyHeaderHash, envoySourceIpHash } from './envoy-hash-policy.js';
export { FAILOVER_DEFAULTS, type FailoverOptions, failover } from './failover.js';
export { FNV_HASH_DEFAULTS, type FnvHashOptions, fnvHash } from './fnv-hash.js';
export {
  HAPROXY_HASH_DEFAULTS,
  HAPROXY_MAX_SERVER_ID,
  HAPROXY_MAX_WEIGHT,
  type HaproxyBalance,
  type HaproxyHashFunction,
  type HaproxyHashKey,
  type HaproxyHashOptions,
  type HaproxyHashType,
  type HaproxySelector,
  haproxyHash,
} from './haproxy-hash.js';
export { haproxyFirstValue } from './haproxy-sample.js';
export type { FallbackDraw } from './internal/weighted.js';
export {
  LEAST_REQUEST_DEFAULTS,
  type LeastRequestOptions,
  type LoadAwareSelector,
  leastRequest,
} from './least-request.js';
export {
  MAGLEV_DEFAULTS,
  MAGLEV_MAX_TABLE_SIZE,
  type MaglevOptions,
  type MaglevSelector,
  maglev,
  nextPrime,
} from './maglev.js';
export type { EnvoyMaglevSelector } from './maglev-envoy.js';
export { PATH_ROUTER_DEFAULTS, type PathRoute, type PathRouterOptions, pathRouter } from './path-router.js';
export { PEAK_EWMA_DEFAULTS, PEAK_EWMA_PENALTY, type PeakEwmaOptions, peakEwma } from './peak-ewma.js';
export {
  PREFIX_TABLE_DEFAULTS,
  type PrefixEntry,
  type PrefixTableOptions,
  prefixTable,
} from './prefix-table.js';
export {
  DEFAULT_OVERPROVISIONING_FACTOR,
  pickPriority,
  priorityLoad,
  type TierHealth,
} from './priority-load.js';
export { RANDOM_DEFAULTS, type RandomOptions, random } from './random.js';
export {
  RING_HASH_DEFAULTS,
  RING_HASH_MAX_SIZE,
  type RingHashOptions,
  type RingHashSelector,
  ringHash,
} from './ring-hash.js';
export {
  ROUND_ROBIN_DEFAULTS,
  type RoundRobinMode,
  type RoundRobinOptions,
  roundRobin,
  SMOOTH_SCHEDULE_LIMIT,
} from './round-robin.js';
export { SLOW_START_DEFAULTS, type SlowStartFactory, type SlowStartOptions, withSlowStart } from './slow-start.js';
