import { headerNameIs, LbError } from '@switchyard/core';

/**
 * Checks the transfer codings of a downstream request (every `Transfer-Encoding` field, in
 * order) against RFC 9112 §6: only `chunked` is understood. A list whose final coding is not
 * `chunked`, or that applies it twice, leaves the body length undeterminable → 400 (§6.3); a
 * list ending in `chunked` with another coding before it (`gzip, chunked`) → 501 (§6.1), since
 * forwarding that body re-framed as plain chunked would drop the other coding silently.
 *
 * @throws LbError `LB_ERR_BAD_REQUEST` or `LB_ERR_NOT_IMPLEMENTED` naming the problem.
 */
export function checkTransferCodings(rawHeaders: readonly string[]): void {
  let codings: string[] | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length !== 17 || !headerNameIs(name, 'transfer-encoding')) continue;
    codings ??= [];
    for (const token of (rawHeaders[i + 1] as string).split(',')) codings.push(token.trim().toLowerCase());
  }
  if (codings === undefined) return;
  const chunked = codings.filter((c) => c === 'chunked').length;
  if (codings[codings.length - 1] !== 'chunked' || chunked > 1) {
    throw new LbError('LB_ERR_BAD_REQUEST', 'Transfer-Encoding must end with chunked, applied once');
  }
  const other = codings.find((c) => c !== 'chunked');
  if (other !== undefined) {
    throw new LbError(
      'LB_ERR_NOT_IMPLEMENTED',
      `transfer coding ${JSON.stringify(other)} is not supported (only chunked is)`,
    );
  }
}
