import { readFileSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { type Backend, backend, type HttpPeerInit, isLbError } from '@switchyard/core';
import { type ConfigIssue, configError, fromZodIssues, valueAt } from './issues.js';
import { libraryConfigIssues } from './library-checks.js';
import { type ResolvedPeerSettings, resolvePeer } from './peer.js';
import { type ResolvedRoute, resolveRoutes } from './routes.js';
import { buildCheck } from './runtime.js';
import { configSchema, type ParsedConfig, peerSchema, serverTlsSchema, upstreamSchema } from './schema.js';
import { selectorIssues } from './selector-check.js';
import { checkTlsPair } from './tls-pair.js';

type ParsedUpstream = ParsedConfig['upstreams'][string];

/** Where backends come from when not listed: a watched file or DNS. Paths are absolute. */
export type ResolvedDiscovery = NonNullable<ParsedUpstream['discovery']>;
/** Active health check settings of an upstream. */
export type ResolvedHealth = NonNullable<ParsedUpstream['health']>;
/** Outlier detection settings of an upstream. */
export type ResolvedOutlier = NonNullable<ParsedUpstream['outlier']>;

/** The selector of an upstream: its type, its key spec and the options for its factory. */
export interface ResolvedSelector {
  readonly type: string;
  readonly key: string;
  /** Slow-start window: joining or recovering backends ramp from 10% to full weight over it (ms). */
  readonly slowStartMs: number | undefined;
  readonly options: Readonly<Record<string, unknown>>;
}

export type { ResolvedPeerSettings } from './peer.js';

/** One upstream, ready to build a balancer from. */
export interface ResolvedUpstream {
  readonly name: string;
  /** The listed backends; empty when `discovery` supplies them. */
  readonly backends: readonly Backend[];
  readonly discovery: ResolvedDiscovery | undefined;
  readonly selector: ResolvedSelector;
  readonly health: ResolvedHealth | undefined;
  readonly outlier: ResolvedOutlier | undefined;
  readonly tls: boolean;
  readonly sni: string;
  readonly maxIterations: number;
  /** Printable peer settings. */
  readonly peer: ResolvedPeerSettings;
  /** What `new HttpPeer(backend, tls, sni, peerInit)` needs: PEM text loaded, proxy credentials intact. Never print it. */
  readonly peerInit: HttpPeerInit;
}

export type { ResolvedRoute } from './routes.js';

/** A validated config with defaults filled in. Deeply frozen. */
export interface ResolvedConfig {
  /** The file it came from, when loaded from one. */
  readonly source: string | undefined;
  readonly listen: { readonly host: string; readonly port: number };
  readonly upstreams: Readonly<Record<string, ResolvedUpstream>>;
  /** Longest prefix first; a single `/` route to the only upstream when the file has no `routes`. */
  readonly routes: readonly ResolvedRoute[];
  /** Attempts per request and the retry budget (`RetryBudget` options). */
  readonly retries: {
    readonly maxAttempts: number;
    readonly budgetPercent: number;
    readonly budgetWindowMs: number;
    readonly minPerSecond: number;
  };
  readonly accessLog: boolean;
  /** Bytes of log output held before one write; 0 writes each event-loop turn's lines at its end. */
  readonly logBufferBytes: number;
  /** With a buffer, the longest a line waits before it is written, ms. */
  readonly logFlushMs: number;
  readonly logLevel: ParsedConfig['logLevel'];
  readonly trustedProxies: readonly string[];
  readonly forwardedHeaders: ParsedConfig['forwardedHeaders'];
  readonly workers: number;
  readonly server: ParsedConfig['server'];
  /** Downstream TLS certificate and key (PEM), loaded from `server.tls`. Never print it. */
  readonly serverTls: { readonly cert: string; readonly key: string } | undefined;
}

/**
 * Validates a parsed config file (`raw`, from JSON or YAML) and resolves it: defaults
 * filled in, backends parsed, relative file paths (`ca`, `clientCert`, `server.tls`,
 * file discovery) resolved against `baseDir` and read, routes checked against the
 * upstreams. Returns a deeply frozen {@link ResolvedConfig}. Throws `LbError`
 * `LB_ERR_INVALID_CONFIG` whose message has one `path: expected …, got …` line per problem,
 * all of the file's problems at once: the schema's, the library validators' (the ranges
 * `serve` enforces), and the rules between fields (routes, files, TLS pairs); never any other error.
 */
export function resolveConfig(raw: unknown, baseDir: string, source?: string): ResolvedConfig {
  const parsed = configSchema.safeParse(raw);
  const issues: ConfigIssue[] = parsed.success ? [] : fromZodIssues(parsed.error.issues, raw);
  issues.push(...libraryConfigIssues(raw, issues));
  const file = (path: string): string => (isAbsolute(path) ? path : resolvePath(baseDir, path));
  const read = (path: string, where: string): string => {
    try {
      return readFileSync(file(path), 'utf8');
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      issues.push({ path: where, message: `cannot read ${JSON.stringify(file(path))} (${String(code ?? err)})` });
      return '';
    }
  };

  // Each part is checked on its own, so one bad part does not hide the problems of another.
  const rawUpstreams = valueAt(raw, ['upstreams']);
  const names = typeof rawUpstreams === 'object' && rawUpstreams !== null ? Object.keys(rawUpstreams) : [];
  if (parsed.success && names.length === 0)
    issues.push({ path: 'upstreams', message: 'expected at least one upstream, got none' });
  const upstreams: Record<string, ResolvedUpstream> = {};
  for (const name of names) {
    const u = upstreamSchema.safeParse(valueAt(rawUpstreams, [name]));
    if (!u.success) {
      // The rest of the upstream is reported by the schema; its peer files are still read.
      const peer = peerSchema.safeParse(valueAt(rawUpstreams, [name, 'peer']) ?? {});
      const tls = valueAt(rawUpstreams, [name, 'tls']) === true;
      const sni = valueAt(rawUpstreams, [name, 'sni']);
      if (peer.success)
        resolvePeer(`upstreams.${name}.peer`, peer.data, tls, typeof sni === 'string' ? sni : '', issues, file, read);
      continue;
    }
    const resolved = resolveUpstream(name, u.data, issues, file, read);
    if (resolved !== undefined) upstreams[name] = resolved;
  }
  const routes = resolveRoutes(valueAt(raw, ['routes']), names, issues);
  let serverTls: ResolvedConfig['serverTls'];
  const tls = serverTlsSchema.safeParse(valueAt(raw, ['server', 'tls']));
  if (tls.success) {
    const before = issues.length;
    serverTls = { cert: read(tls.data.cert, 'server.tls.cert'), key: read(tls.data.key, 'server.tls.key') };
    if (issues.length === before) checkTlsPair(serverTls.cert, serverTls.key, 'server.tls', issues);
  }
  if (!parsed.success || issues.length > 0) throw configError(dedupe(issues), source);
  const config = parsed.data;

  const colon = config.listen.lastIndexOf(':');
  const host = config.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const server =
    config.server.tls === undefined
      ? config.server
      : { ...config.server, tls: { cert: file(config.server.tls.cert), key: file(config.server.tls.key) } };
  return deepFreeze({
    source,
    listen: { host, port: Number(config.listen.slice(colon + 1)) },
    upstreams,
    routes,
    retries: config.retries,
    accessLog: config.accessLog,
    logBufferBytes: config.logBufferBytes,
    logFlushMs: config.logFlushMs,
    logLevel: config.logLevel,
    trustedProxies: config.trustedProxies,
    forwardedHeaders: config.forwardedHeaders,
    workers: config.workers,
    server,
    serverTls,
  });
}

/** Each path once: a value the schema rejected is not reported again by a later check. */
function dedupe(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    if (seen.has(i.path)) return false;
    seen.add(i.path);
    return true;
  });
}

function resolveUpstream(
  name: string,
  u: ParsedUpstream,
  issues: ConfigIssue[],
  file: (path: string) => string,
  read: (path: string, where: string) => string,
): ResolvedUpstream | undefined {
  const at = `upstreams.${name}`;
  const before = issues.length;
  if ((u.backends === undefined) === (u.discovery === undefined)) {
    issues.push({ path: at, message: 'expected exactly one of "backends" and "discovery"' });
  }
  const backends: Backend[] = [];
  const seen = new Set<string>();
  (u.backends ?? []).forEach((entry, i) => {
    const where = `${at}.backends[${i}]`;
    const b = typeof entry === 'string' ? backend(entry) : backend(entry.address, entry.weight);
    if (seen.has(b.id)) issues.push({ path: where, message: `expected each backend once, got ${b.id} again` });
    seen.add(b.id);
    backends.push(b);
  });
  if (u.backends !== undefined && u.backends.length === 0) {
    issues.push({ path: `${at}.backends`, message: 'expected at least one backend, got an empty list' });
  }
  let discovery = u.discovery;
  if (discovery?.type === 'file') discovery = { ...discovery, path: file(discovery.path) };
  const { type, key, slowStartMs, ...selectorOptions } = u.selector as Record<string, unknown> & {
    type: string;
    key: string;
    slowStartMs?: number;
  };
  if (issues.length === before) selectorIssues(at, { type, slowStartMs, options: selectorOptions }, backends, issues);
  const peer = resolvePeer(`${at}.peer`, u.peer, u.tls, u.sni, issues, file, read);
  if (peer === undefined || issues.length > before) return undefined;
  const resolved: ResolvedUpstream = {
    name,
    backends,
    discovery,
    selector: { type, key, slowStartMs, options: selectorOptions },
    health: u.health,
    outlier: u.outlier,
    tls: u.tls,
    sni: u.sni,
    maxIterations: u.maxIterations,
    peer: peer.printable,
    peerInit: peer.init,
  };
  return healthIssues(resolved, issues) ? undefined : resolved;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Builds `u`'s health check as its balancer will (then drops it): true when the check's factory rejected it. */
function healthIssues(u: ResolvedUpstream, issues: ConfigIssue[]): boolean {
  if (u.health === undefined) return false;
  try {
    void buildCheck(u).close?.();
    return false;
  } catch (err) {
    if (!isLbError(err)) throw err;
    const at = `upstreams.${u.name}.health`;
    // Already a config problem (`upstreams.web.health.reset: …`): keep its path.
    const own = /^(upstreams\.\S+): (.*)$/s.exec(err.message);
    if (own?.[1] !== undefined && own[2] !== undefined) {
      issues.push({ path: own[1], message: own[2] });
      return true;
    }
    const match = /^\S+ ([A-Za-z]+)[^:]*: (.*)$/s.exec(err.message);
    const option = match?.[1];
    issues.push(
      option !== undefined && match !== null && Object.hasOwn(u.health, option)
        ? { path: `${at}.${option}`, message: match[2] ?? err.message }
        : { path: at, message: err.message },
    );
    return true;
  }
}
