/**
 * UTF-8 encoding of selection keys into one reused buffer, so hashing a string
 * key allocates nothing. Lone surrogates become U+FFFD, exactly as `Buffer`,
 * `TextEncoder` and `crypto.Hash#update(string)` encode them.
 */

const encoder = new TextEncoder();

/** The shared scratch buffer and how many bytes of it the last call filled. Valid until the next call. */
export interface Encoded {
  bytes: Uint8Array;
  length: number;
}

const scratch: Encoded = { bytes: new Uint8Array(256), length: 0 };
const view: Encoded = { bytes: scratch.bytes, length: 0 };

/** Encodes `key` as UTF-8 into the shared scratch buffer (ASCII fast path, `TextEncoder` otherwise). */
export function encodeUtf8(key: string): Encoded {
  const n = key.length;
  // Three bytes per UTF-16 unit is the worst case (a surrogate pair is 4 bytes for 2 units).
  if (scratch.bytes.length < n * 3) scratch.bytes = new Uint8Array(Math.max(n * 3, scratch.bytes.length * 2));
  const bytes = scratch.bytes;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) {
      scratch.length = encoder.encodeInto(key, bytes).written;
      return scratch;
    }
    bytes[i] = c;
  }
  scratch.length = n;
  return scratch;
}

/**
 * Resolves a selection key to bytes: a `Uint8Array` as is, a string as UTF-8 in
 * the scratch buffer. Throws `LB_ERR_INVALID_OPTION` for anything else.
 */
export function keyBytes(key: string | Uint8Array, invalid: (got: unknown) => never): Encoded {
  if (typeof key === 'string') return encodeUtf8(key);
  if (key instanceof Uint8Array) {
    view.bytes = key;
    view.length = key.length;
    return view;
  }
  return invalid(key);
}
