/**
 * The reason a request or attempt failed, for logs: the error's message followed by each cause's
 * (certificate error text, connect errno, …), and which timeout expired. Messages may name
 * internal addresses: this goes to logs only, never to the client.
 */

/** How deep the `cause` chain is followed. */
const MAX_DEPTH = 4;

/** undici's timeout codes, said in the terms of the peer option that set them. */
const TIMEOUTS: Readonly<Record<string, string>> = Object.freeze({
  UND_ERR_HEADERS_TIMEOUT: 'readTimeout expired before the response head',
  UND_ERR_BODY_TIMEOUT: 'readTimeout expired during the response body',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
});

function describeOne(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return typeof err === 'string' && err !== '' ? err : undefined;
  const { code, message } = err as { code?: unknown; message?: unknown };
  const c = typeof code === 'string' ? code : undefined;
  if (c !== undefined && TIMEOUTS[c] !== undefined) return TIMEOUTS[c];
  if (typeof message !== 'string' || message === '') return c;
  return c === undefined || c.startsWith('LB_ERR_') || message.includes(c) ? message : `${message} (${c})`;
}

/**
 * `err`'s message and those of its causes, each once, joined with `: ` (`"TLS handshake with
 * 127.0.0.1:8443 failed: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)"`), or
 * `undefined` when nothing describes it.
 */
export function failureCause(err: unknown): string | undefined {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < MAX_DEPTH && e !== undefined && e !== null; depth++) {
    const text = describeOne(e);
    if (text !== undefined && !parts.some((p) => p.includes(text))) parts.push(text);
    e = typeof e === 'object' ? (e as { cause?: unknown }).cause : undefined;
  }
  return parts.length === 0 ? undefined : parts.join(': ');
}
