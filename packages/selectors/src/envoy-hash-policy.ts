import { invalidOption } from '@switchyard/core';
import { xxh64 } from './internal/xxhash.js';

const MASK_64 = 0xffffffffffffffffn;

/**
 * Envoy's `header` hash policy for a header with one value: xxHash64 of the value's
 * bytes (a string as UTF-8; pass the raw bytes for other octets). Envoy hashes a
 * repeated header's values together, sorted; that case is not reproduced here.
 */
export function envoyHeaderHash(value: string | Uint8Array): bigint {
  return xxh64(value);
}

/** Envoy's `cookie` hash policy for a cookie that is present: xxHash64 of its value. */
export function envoyCookieHash(value: string | Uint8Array): bigint {
  return xxh64(value);
}

/**
 * Envoy's `connection_properties.source_ip` hash policy: xxHash64 of the client
 * address as Envoy prints it without a port (`10.0.0.1`, `::1` without brackets).
 */
export function envoySourceIpHash(address: string): bigint {
  if (typeof address !== 'string' || address === '')
    invalidOption('envoySourceIpHash address', 'an IP address', address);
  return xxh64(address);
}

/**
 * Combines the hashes of several policies in route order as Envoy does: each new
 * hash is XORed into the previous result rotated left by one bit (so two equal
 * policies do not cancel). Policies that produced no hash are left out by the caller.
 */
export function envoyCombineHashes(hashes: readonly bigint[]): bigint | undefined {
  let combined: bigint | undefined;
  for (const h of hashes) {
    const previous = combined === undefined ? 0n : ((combined << 1n) | (combined >> 63n)) & MASK_64;
    combined = previous ^ h;
  }
  return combined;
}
