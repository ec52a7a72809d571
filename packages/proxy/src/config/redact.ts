/** What printed configs and config errors show instead of a secret. */
export const REDACTED = '<redacted>';

/** `http://user:secret@host` → `http://user:***@host`, so printed configs never show credentials. */
export function maskPassword(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.password === '') return uri;
    url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * The value to show for the config field at `path` in messages: proxy URIs lose their
 * password and every `proxyHeaders` value (e.g. `Proxy-Authorization`) is hidden; other
 * fields are shown as they are.
 */
export function redactAt(path: readonly PropertyKey[], value: unknown): unknown {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  if (field === 'proxy' && typeof value === 'string') return maskPassword(value);
  if (parent === 'proxyHeaders') return REDACTED;
  if (field === 'proxyHeaders' && typeof value === 'object' && value !== null) return redactHeaders(value);
  return value;
}

/** A copy of `headers` with every value replaced by {@link REDACTED}. */
export function redactHeaders(headers: object): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED]));
}
