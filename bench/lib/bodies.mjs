// What every upstream answers, so every target is checked against the same bytes.

/** The small fixed response body (round-robin and keyed runs). */
export const SMALL_BODY = 'switchyard benchmark: a small fixed body\n';

/** Size of the request and response bodies of the large-body run. */
export const BIG_SIZE = 64 * 1024;

/** Path the large-body run POSTs to; upstreams answer it with BIG_SIZE bytes. */
export const BIG_PATH = '/big';

/** The large response body: BIG_SIZE bytes of 'y' (the request body is BIG_SIZE bytes of 'x'). */
export const BIG_BODY = Buffer.alloc(BIG_SIZE, 'y');

/** Size of the 1 MiB runs' bodies: the download's response, the upload's request. */
export const HUGE_SIZE = 1024 * 1024;

/** Path the 1 MiB download run GETs; upstreams answer it with HUGE_BODY. */
export const DOWNLOAD_PATH = '/download';

/** Path the 1 MiB upload run POSTs HUGE_SIZE bytes to; upstreams answer it with SMALL_BODY once all arrived. */
export const UPLOAD_PATH = '/upload';

/** The 1 MiB response body: HUGE_SIZE bytes of 'z' (the uploaded body is HUGE_SIZE bytes of 'x'). */
export const HUGE_BODY = Buffer.alloc(HUGE_SIZE, 'z');

/** Header the upstreams set to their own port, so a check can see which one answered. */
export const UPSTREAM_HEADER = 'x-upstream';

/** Header the keyed run hashes on. */
export const KEY_HEADER = 'x-key';

/** Distinct key values the keyed run rotates through. */
export const KEY_COUNT = 10_000;
