// What every upstream answers, so every target is checked against the same bytes.

/** The small fixed response body (round-robin and keyed runs). */
export const SMALL_BODY = 'switchyard benchmark: a small fixed body\n';

/** Size of the request and response bodies of the large-body run. */
export const BIG_SIZE = 64 * 1024;

/** Path the large-body run POSTs to; upstreams answer it with BIG_SIZE bytes. */
export const BIG_PATH = '/big';

/** The large response body: BIG_SIZE bytes of 'y' (the request body is BIG_SIZE bytes of 'x'). */
export const BIG_BODY = Buffer.alloc(BIG_SIZE, 'y');

/** Header the upstreams set to their own port, so a check can see which one answered. */
export const UPSTREAM_HEADER = 'x-upstream';

/** Header the keyed run hashes on. */
export const KEY_HEADER = 'x-key';

/** Distinct key values the keyed run rotates through. */
export const KEY_COUNT = 10_000;
