import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type Backend, backend, checkInteger, formatHostPort, invalidOption, LbError } from '@switchyard/core';
import type { Logger } from 'pino';
import type { Discovery } from './discovery.js';
import { LastGood } from './internal/backend-set.js';
import { checkLogger, componentLogger } from './internal/logger.js';
import { MAX_TIMER_MS } from './internal/timer.js';

/** Options of {@link dnsDiscovery}. `name` and `type` are required; `port` too for A/AAAA. */
export interface DnsDiscoveryOptions {
  /** The name to resolve, e.g. `_http._tcp.api.service.consul` for SRV. */
  readonly name: string;
  /** Record type: A/AAAA give addresses (add `port`); SRV gives targets, ports and weights. */
  readonly type: 'A' | 'AAAA' | 'SRV';
  /** Port of every backend for A/AAAA; ignored for SRV. @defaultValue undefined (required for A/AAAA) */
  readonly port?: number;
  /** DNS servers as `ip:port` (or `ip`, `[v6]:port`), passed to `Resolver#setServers`. @defaultValue the system's */
  readonly servers?: readonly string[];
  /** Longest time between two resolutions, in ms (integer, 1 to 2^31 - 1); a shorter record TTL wins. @defaultValue 30000 */
  readonly refreshMs?: number;
  /** Shortest time between two resolutions, whatever the TTL (TTL 0 is common), in ms (1 to 2^31 - 1). @defaultValue 1000 */
  readonly minRefreshMs?: number;
  /** Per-query timeout of the resolver, in ms (integer, 1 to 2^31 - 1). @defaultValue 2000 */
  readonly timeoutMs?: number;
  /** Attempts per query (integer, 1 to 2^31 - 1, node:dns's range). @defaultValue 2 */
  readonly tries?: number;
  /** Failed refreshes are logged at warn with the reason. @defaultValue a disabled logger */
  readonly logger?: Logger;
}

/** Defaults of the optional numbers of {@link dnsDiscovery}. */
export const DNS_DISCOVERY_DEFAULTS = Object.freeze({
  refreshMs: 30_000,
  minRefreshMs: 1000,
  timeoutMs: 2000,
  tries: 2,
});

// Answers meaning "this name has no such records", as opposed to a server or network failure.
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

interface Resolved {
  readonly backends: Backend[];
  /** Smallest TTL seen, in seconds; undefined when no record carried one. */
  readonly ttl: number | undefined;
}

/**
 * Backends from DNS through a `node:dns` `Resolver`. A/AAAA: one backend per address, on
 * `port`. SRV: each record's target is resolved (A and AAAA) and every address becomes a
 * backend `address:srvPort` weighted by the SRV weight (0 counts as 1; meta carries
 * `srvTarget` and `srvPriority`). After the first `discover()` the name is resolved again
 * every `refreshMs`, or after the smallest record TTL when shorter (but not sooner than
 * `minRefreshMs`); a failed refresh is retried after the same delay as the last good one. A
 * changed list emits `change`. A failed or empty resolution keeps the
 * last good list and logs why; `discover()` rejects with `LB_ERR_DISCOVERY_FAILED` only while
 * no good list is known. Throws `LB_ERR_INVALID_OPTION` on bad options.
 */
export function dnsDiscovery(options: DnsDiscoveryOptions): Discovery {
  const o = validate(options);
  const log = componentLogger(options.logger, 'dns-discovery').child({ name: o.name, type: o.type });
  const resolver = new Resolver({ timeout: o.timeoutMs, tries: o.tries });
  if (o.servers !== undefined) setServers(resolver, o.servers);
  const good = new LastGood(log);
  let timer: NodeJS.Timeout | undefined;
  let nextMs = o.refreshMs;
  let inflight: Promise<readonly Backend[]> | undefined;
  let started = false;
  let closed = false;

  const schedule = (ms: number): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), ms);
    timer.unref();
  };

  const once = async (): Promise<readonly Backend[]> => {
    try {
      const { backends, ttl } = await (o.type === 'SRV'
        ? resolveSrv(resolver, o.name, log)
        : resolveAddresses(resolver, o));
      if (backends.length === 0) throw new Error(`${o.type} ${o.name}: no usable records`);
      const ttlMs = ttl === undefined ? o.refreshMs : ttl * 1000;
      nextMs = Math.max(o.minRefreshMs, Math.min(o.refreshMs, ttlMs));
      schedule(nextMs);
      return good.accept(backends);
    } catch (err) {
      // Retry on the cadence of the last good answer: a short TTL means a quick recovery too.
      schedule(nextMs);
      const reason = err instanceof Error ? err.message : String(err);
      const kept = good.list;
      if (kept === undefined) {
        throw new LbError('LB_ERR_DISCOVERY_FAILED', `dnsDiscovery ${o.type} ${o.name}: ${reason}`, { cause: err });
      }
      if (!closed) log.warn({ err }, `DNS resolution failed, keeping the last good ${kept.length} backends: ${reason}`);
      return kept;
    }
  };

  const refresh = (): Promise<readonly Backend[]> => {
    inflight ??= once().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const discovery: Discovery = {
    discover: async () => {
      if (closed) throw new LbError('LB_ERR_CLOSED', `dnsDiscovery ${o.name} is closed`);
      started = true;
      return refresh();
    },
    on: (_event, listener) => {
      good.on(listener);
      if (!started && !closed) {
        started = true;
        refresh().catch((err: unknown) => log.warn({ err }, 'first DNS resolution failed'));
      }
      return discovery;
    },
    off: (_event, listener) => {
      good.off(listener);
      return discovery;
    },
    close: async () => {
      closed = true;
      clearTimeout(timer);
      resolver.cancel();
    },
  };
  return discovery;
}

type Settings = Required<Omit<DnsDiscoveryOptions, 'servers' | 'logger' | 'port'>> &
  Pick<DnsDiscoveryOptions, 'servers' | 'port'>;

function validate(options: DnsDiscoveryOptions): Settings {
  if (typeof options !== 'object' || options === null) invalidOption('dnsDiscovery options', 'an object', options);
  const { name, type, port, servers, logger, ...rest } = options;
  const known = new Set(Object.keys(DNS_DISCOVERY_DEFAULTS));
  for (const key of Object.keys(rest)) {
    if (!known.has(key))
      invalidOption(
        'dnsDiscovery options',
        'name, type, port, servers, refreshMs, minRefreshMs, timeoutMs, tries, logger',
        key,
      );
  }
  if (typeof name !== 'string' || name === '') invalidOption('dnsDiscovery name', 'a DNS name', name);
  if (type !== 'A' && type !== 'AAAA' && type !== 'SRV')
    invalidOption('dnsDiscovery type', '"A", "AAAA" or "SRV"', type);
  if (type !== 'SRV' || port !== undefined) {
    if (port === undefined) invalidOption(`dnsDiscovery port`, `a port for ${type} records (they carry none)`, port);
    checkInteger('dnsDiscovery port', port, 1, 65535);
  }
  if (servers !== undefined && (!Array.isArray(servers) || servers.some((s) => typeof s !== 'string'))) {
    invalidOption('dnsDiscovery servers', 'an array of "ip:port" strings', servers);
  }
  checkLogger('dnsDiscovery logger', logger);
  const s = { ...DNS_DISCOVERY_DEFAULTS, ...definedOnly(rest) };
  // Upper bounds: the refresh delays go to setTimeout, timeoutMs and tries to node:dns, and
  // both reject (or, for timers, silently shorten) anything above 2^31 - 1.
  checkInteger('dnsDiscovery refreshMs', s.refreshMs, 1, MAX_TIMER_MS);
  checkInteger('dnsDiscovery minRefreshMs', s.minRefreshMs, 1, MAX_TIMER_MS);
  checkInteger('dnsDiscovery timeoutMs', s.timeoutMs, 1, MAX_TIMER_MS);
  checkInteger('dnsDiscovery tries', s.tries, 1, MAX_TIMER_MS);
  return { name, type, ...s, ...(port === undefined ? {} : { port }), ...(servers === undefined ? {} : { servers }) };
}

/** `Resolver#setServers`, whose TypeError for a malformed address becomes `LB_ERR_INVALID_OPTION`. */
function setServers(resolver: Resolver, servers: readonly string[]): void {
  try {
    resolver.setServers([...servers]);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    invalidOption('dnsDiscovery servers', `IP addresses as "ip", "ip:port" or "[v6]:port" (${reason})`, servers);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function resolveAddresses(resolver: Resolver, o: Settings): Promise<Resolved> {
  const records =
    o.type === 'A' ? await resolver.resolve4(o.name, { ttl: true }) : await resolver.resolve6(o.name, { ttl: true });
  const port = o.port as number;
  return {
    backends: dedupe(records.map((r) => backend(formatHostPort(r.address, port)))),
    ttl: minTtl(records.map((r) => r.ttl)),
  };
}

async function resolveSrv(resolver: Resolver, name: string, log: Logger): Promise<Resolved> {
  const records = await resolver.resolveSrv(name);
  const ttls: number[] = [];
  const found: Backend[] = [];
  for (const srv of records) {
    // RFC 2782: a target of "." means the service is decidedly not available here.
    if (srv.name === '' || srv.name === '.' || srv.port === 0) continue;
    const addresses =
      isIP(srv.name) !== 0 ? [{ address: srv.name, ttl: undefined }] : await targetAddresses(resolver, srv.name);
    if (addresses.length === 0) log.warn({ target: srv.name }, `SRV target ${srv.name} has no A/AAAA records; skipped`);
    const meta = { srvTarget: srv.name, srvPriority: srv.priority };
    for (const a of addresses) {
      if (a.ttl !== undefined) ttls.push(a.ttl);
      found.push(backend(formatHostPort(a.address, srv.port), Math.max(1, srv.weight), meta));
    }
  }
  return { backends: dedupe(found), ttl: minTtl(ttls) };
}

/** A and AAAA addresses of an SRV target; "no such records" in one family is not an error. */
async function targetAddresses(
  resolver: Resolver,
  target: string,
): Promise<Array<{ address: string; ttl: number | undefined }>> {
  const results = await Promise.allSettled([
    resolver.resolve4(target, { ttl: true }),
    resolver.resolve6(target, { ttl: true }),
  ]);
  const out: Array<{ address: string; ttl: number | undefined }> = [];
  for (const r of results) {
    if (r.status === 'fulfilled') out.push(...r.value);
    else if (!NO_RECORDS.has((r.reason as { code?: string }).code ?? '')) throw r.reason;
  }
  return out;
}

function dedupe(backends: Backend[]): Backend[] {
  const seen = new Set<string>();
  return backends.filter((b) => !seen.has(b.id) && seen.add(b.id) !== undefined);
}

function minTtl(ttls: readonly number[]): number | undefined {
  return ttls.length === 0 ? undefined : Math.min(...ttls);
}
