import { createSecureContext } from 'node:tls';
import type { ConfigIssue } from './issues.js';

/**
 * Checks that `cert` and `key` (PEM text, as loaded) make a usable TLS identity: both parse,
 * and the key is the certificate's. `node:https` and undici refuse the pair otherwise, so the
 * problem is reported at `where` (e.g. `server.tls`) before anything starts. Never echoes the key.
 */
export function checkTlsPair(cert: string, key: string, where: string, issues: ConfigIssue[]): void {
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^error:[0-9A-F]+:/, '') : String(err);
    issues.push({ path: where, message: `expected a PEM certificate and the private key that matches it (${reason})` });
  }
}
