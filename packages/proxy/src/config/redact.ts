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
 * password and every `proxyHeaders` value (e.g. `Proxy-Authorization`) and the admin token are hidden; other
 * fields are shown as they are.
 */
export function redactAt(path: readonly PropertyKey[], value: unknown): unknown {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  if (field === 'proxy' && typeof value === 'string') return maskPassword(value);
  if (parent === 'proxyHeaders') return REDACTED;
  if (field === 'token' && parent === 'admin') return REDACTED;
  if (field === 'proxyHeaders' && typeof value === 'object' && value !== null) return redactHeaders(value);
  if (typeof value === 'string') return redactText(value);
  return value;
}

// `scheme://user:password@` and a bare `user:password@host` (a backend or listen address
// written with credentials, or a URL whose `//` a file path resolution folded into one `/`):
// the password is whatever follows the first colon up to the `@`.
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/"']*):[^\s@/"']*@/gi;
const BARE_USERINFO = /(^|[\s"'(,=[/])([^\s:@/"'(,=[\]]+):[^\s@/"']+@/g;

/**
 * `text` with every password written as URL or address userinfo replaced by `***`
 * (`http://u:pw@h` → `http://u:***@h`, `u:pw@h:80` → `u:***@h:80`). Applied to every config
 * error and every start-up message, so a credential typed anywhere in a config value never echoes.
 */
export function redactText(text: string): string {
  return text.replace(URL_USERINFO, '$1:***@').replace(BARE_USERINFO, '$1$2:***@');
}

/** A copy of `headers` with every value replaced by {@link REDACTED}. */
export function redactHeaders(headers: object): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED]));
}
