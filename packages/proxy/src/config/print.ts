import { REDACTED, redactText } from './redact.js';
import type { ResolvedConfig } from './resolve.js';

// Fields that hold loaded secrets (PEM keys, proxy credentials): never printed.
const SECRET_FIELDS = new Set(['peerInit', 'serverTls']);

/**
 * The resolved config as indented JSON for `switchyard check`: defaults filled in,
 * paths absolute, backends as `"host:port"` (or `{ address, weight }`), and without
 * the loaded certificates, keys or proxy passwords; a password written as userinfo in any value
 * is masked.
 */
export function formatConfig(config: ResolvedConfig): string {
  return JSON.stringify(
    config,
    (key, value: unknown) => {
      if (SECRET_FIELDS.has(key)) return undefined;
      if (key === 'token' && typeof value === 'string') return REDACTED;
      if (isBackend(value)) return value.weight === 1 ? value.id : { address: value.id, weight: value.weight };
      return typeof value === 'string' ? redactText(value) : value;
    },
    2,
  );
}

function isBackend(value: unknown): value is { id: string; weight: number } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === 'string' && typeof v.host === 'string' && typeof v.port === 'number' && 'meta' in v;
}
