import {
  denyUpgrades,
  HttpPeer,
  type HttpPeerInit,
  isLbError,
  type PeerOptions,
  preserve,
  standard,
} from '@switchyard/core';
import type { ConfigIssue } from './issues.js';
import { maskPassword, redactHeaders, redactText } from './redact.js';
import type { ParsedConfig } from './schema.js';
import { checkTlsPair } from './tls-pair.js';

type ParsedPeer = ParsedConfig['upstreams'][string]['peer'];

/** The peer settings as written, with file paths made absolute and proxy passwords masked (printable). */
export type ResolvedPeerSettings = ParsedPeer;

/** An upstream's peer: what `check` prints, and what `new HttpPeer(backend, tls, sni, init)` needs. */
export interface ResolvedPeer {
  readonly printable: ResolvedPeerSettings;
  /** PEM text loaded, proxy credentials intact. Never print it. */
  readonly init: HttpPeerInit;
}

const TIMEOUTS = ['connectionTimeout', 'totalConnectionTimeout', 'readTimeout', 'writeTimeout', 'idleTimeout'] as const;
const FLAGS = ['verifyCert', 'verifyHostname', 'useSystemCerts'] as const;

/**
 * Reads the files of an upstream's `peer` settings (`ca`, `clientCert`, checked to be a matching
 * pair), and validates the whole peer through core's `HttpPeer`, exactly as traffic builds it.
 * Problems go to `issues` under `at` (e.g. `upstreams.web.peer`); returns undefined when any.
 */
export function resolvePeer(
  at: string,
  p: ParsedPeer,
  tls: boolean,
  sni: string,
  issues: ConfigIssue[],
  file: (path: string) => string,
  read: (path: string, where: string) => string,
): ResolvedPeer | undefined {
  const before = issues.length;
  const options: { -readonly [K in keyof PeerOptions]?: PeerOptions[K] } = {
    httpUpstreamRequestPolicy:
      p.requestPolicy === 'preserve' ? preserve() : p.requestPolicy === 'deny-upgrades' ? denyUpgrades() : standard(),
  };
  for (const field of TIMEOUTS) if (p[field] !== undefined) options[field] = p[field];
  for (const field of FLAGS) if (p[field] !== undefined) options[field] = p[field];
  if (p.alternativeCn !== undefined) options.alternativeCn = p.alternativeCn;
  if (p.alpn !== undefined) options.alpn = p.alpn;
  if (p.bindTo !== undefined) options.bindTo = p.bindTo;
  if (p.tcpKeepalive !== undefined) options.tcpKeepalive = p.tcpKeepalive;
  const caPaths = p.ca === undefined ? undefined : typeof p.ca === 'string' ? [p.ca] : p.ca;
  if (caPaths !== undefined)
    options.ca = caPaths.map((path, i) => read(path, `${at}.ca${typeof p.ca === 'string' ? '' : `[${i}]`}`));
  const init: { -readonly [K in keyof HttpPeerInit]: HttpPeerInit[K] } = { options };
  if (p.clientCert !== undefined) {
    const cert = read(p.clientCert.cert, `${at}.clientCert.cert`);
    const key = read(p.clientCert.key, `${at}.clientCert.key`);
    init.clientCertKey = { cert, key };
    if (cert !== '' && key !== '') checkTlsPair(cert, key, `${at}.clientCert`, issues);
  }
  if (p.proxy !== undefined)
    init.proxy = p.proxyHeaders !== undefined ? { uri: p.proxy, headers: p.proxyHeaders } : { uri: p.proxy };
  if (issues.length > before) return undefined;
  try {
    // Core validates everything an HttpPeer holds; a throw-away peer checks it once, here.
    new HttpPeer('127.0.0.1:1', tls, sni, init);
  } catch (err) {
    if (!isLbError(err)) throw err;
    const match = /^peer option ([A-Za-z]+)\S*(?: \(ms\))?: (.*)$/s.exec(err.message);
    issues.push(
      match === null
        ? { path: at, message: redactText(err.message) }
        : { path: `${at}.${match[1]}`, message: redactText(match[2] ?? err.message) },
    );
    return undefined;
  }

  const printable: Record<string, unknown> = { ...p };
  if (caPaths !== undefined) printable.ca = caPaths.map(file);
  if (p.clientCert !== undefined) printable.clientCert = { cert: file(p.clientCert.cert), key: file(p.clientCert.key) };
  if (p.proxy !== undefined) printable.proxy = maskPassword(p.proxy);
  if (p.proxyHeaders !== undefined) printable.proxyHeaders = redactHeaders(p.proxyHeaders);
  return { printable: printable as ResolvedPeerSettings, init };
}
