export {
  CONSISTENT_HASH_DEFAULTS,
  type ConsistentHashAlgorithm,
  type ConsistentHashOptions,
  consistentHash,
  MAX_RING_POINTS,
  NGINX_POINTS_PER_WEIGHT,
} from './consistent-hash.js';
export { FAILOVER_DEFAULTS, type FailoverOptions, failover } from './failover.js';
export { FNV_HASH_DEFAULTS, type FnvHashOptions, fnvHash } from './fnv-hash.js';
export { PATH_ROUTER_DEFAULTS, type PathRoute, type PathRouterOptions, pathRouter } from './path-router.js';
export { RANDOM_DEFAULTS, type RandomOptions, random } from './random.js';
export {
  ROUND_ROBIN_DEFAULTS,
  type RoundRobinMode,
  type RoundRobinOptions,
  roundRobin,
  SMOOTH_SCHEDULE_LIMIT,
} from './round-robin.js';
