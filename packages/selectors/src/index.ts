export {
  CONSISTENT_HASH_DEFAULTS,
  type ConsistentHashAlgorithm,
  type ConsistentHashOptions,
  consistentHash,
  MAX_RING_POINTS,
  NGINX_POINTS_PER_WEIGHT,
} from './consistent-hash.js';
