import {
  type Backend,
  backend,
  checkInteger,
  describe,
  invalidOption,
  LbError,
  parseHostPort,
  resolveOptions,
} from '@switchyard/core';
import { ExponentialBackoff } from 'cockatiel';
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { Discovery } from './discovery.js';
import { LastGood } from './internal/backend-set.js';
import { checkLogger, componentLogger } from './internal/logger.js';
import { MAX_TIMER_MS } from './internal/timer.js';

/** Options of {@link etcdDiscovery}. */
export interface EtcdDiscoveryOptions {
  /** etcd client endpoints, `"host:port"` or `http(s)://host:port`. Required, at least one. */
  readonly endpoints: readonly string[];
  /** The key prefix; every key under it describes one backend. Required, non-empty. */
  readonly prefix: string;
  /** Longest wait for a connection to etcd, in ms. @defaultValue 2000 */
  readonly dialTimeoutMs: number;
  /** First delay before re-opening a lost watch, in ms; doubles with jitter on each failure. @defaultValue 100 */
  readonly retryInitialMs: number;
  /** Longest delay between attempts to re-open a lost watch, in ms. @defaultValue 5000 */
  readonly retryMaxMs: number;
  /** A lost watch, its return and every skipped key are logged. @defaultValue a disabled logger */
  readonly logger: Logger | undefined;
}

/** Defaults of {@link etcdDiscovery}; `endpoints` and `prefix` have none. */
export const ETCD_DISCOVERY_DEFAULTS: EtcdDiscoveryOptions = Object.freeze({
  endpoints: Object.freeze([]) as readonly string[],
  prefix: '',
  dialTimeoutMs: 2000,
  retryInitialMs: 100,
  retryMaxMs: 5000,
  logger: undefined,
});

/**
 * Backends from an etcd v3 key prefix, the registry many clusters already run. Each key
 * under `prefix` holds JSON `{"address": "host:port", "weight": n}` (`weight` optional,
 * default 1). The first `discover()` lists the prefix, then a watch from that revision
 * applies every put and delete as it happens, emitting `change` when membership (ids or
 * weights) changes. A value that is not such JSON is skipped with a warn line naming the
 * key; of two keys with the same address the first by key order wins. When etcd restarts
 * or cannot be reached, the last known list stays in force and the watch is re-opened with
 * exponential backoff (`retryInitialMs` doubling up to `retryMaxMs`), with one warn line per
 * outage and an info line when it resumes; on resuming the prefix is listed again (merged
 * by revision with what the watch replays), so nothing changed meanwhile is missed. etcd's
 * data is expected to survive its restarts, as a cluster's does. `discover()` rejects with `LB_ERR_DISCOVERY_FAILED`
 * only while no list was ever read.
 */
export function etcdDiscovery(options: Partial<EtcdDiscoveryOptions>): Discovery {
  const o = resolveOptions('etcdDiscovery', ETCD_DISCOVERY_DEFAULTS, options, validate);
  const log = componentLogger(o.logger, 'etcd-discovery');
  const good = new LastGood(log);
  const client = new Etcd3({
    hosts: o.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`)),
    dialTimeout: o.dialTimeoutMs,
    faultHandling: {
      // etcd3 calls next() on this factory itself; its declared type predates cockatiel 3.2's
      // split of backoff factories from backoff states, hence the cast.
      watchBackoff: new ExponentialBackoff({ initialDelay: o.retryInitialMs, maxDelay: o.retryMaxMs }) as never,
    },
  });
  // Each key's value and the revision it was written at; deletions seen by the watch are kept
  // as tombstones, so a listing that raced with the watch cannot bring back an older state.
  const entries = new Map<string, { readonly value: string; readonly revision: bigint }>();
  const tombstones = new Map<string, bigint>();
  const warned = new Map<string, string>();
  let watcher: Watcher | undefined;
  let starting: Promise<readonly Backend[]> | undefined;
  let outage = false;
  let closed = false;

  const publish = (): readonly Backend[] => good.accept(toBackends(entries, warned, log));

  const list = async (): Promise<bigint> => {
    const response = await client.getAll().prefix(o.prefix).exec();
    const at = BigInt(response.header.revision);
    const listed = new Map(response.kvs.map((kv) => [kv.key.toString(), kv] as const));
    for (const [key, entry] of entries) {
      if (entry.revision <= at && !listed.has(key)) entries.delete(key);
    }
    for (const [key, kv] of listed) {
      const revision = BigInt(kv.mod_revision);
      if ((entries.get(key)?.revision ?? -1n) > revision || (tombstones.get(key) ?? -1n) > at) continue;
      entries.set(key, { value: kv.value.toString(), revision });
    }
    for (const [key, revision] of tombstones) if (revision <= at) tombstones.delete(key);
    publish();
    return at;
  };

  const watch = async (after: bigint): Promise<void> => {
    const w = await client
      .watch()
      .prefix(o.prefix)
      .startRevision(String(after + 1n))
      .create();
    if (closed) return void (await w.cancel());
    watcher = w;
    w.on('put', (kv: IKeyValue) => {
      const key = kv.key.toString();
      tombstones.delete(key);
      entries.set(key, { value: kv.value.toString(), revision: BigInt(kv.mod_revision) });
      publish();
    });
    w.on('delete', (kv: IKeyValue) => {
      const key = kv.key.toString();
      entries.delete(key);
      tombstones.set(key, BigInt(kv.mod_revision));
      publish();
    });
    w.on('disconnected', (err: Error) => {
      if (outage || closed) return;
      outage = true;
      log.warn(
        { err, prefix: o.prefix },
        `etcd watch lost; keeping the last ${good.list?.length ?? 0} backends and retrying with backoff`,
      );
    });
    w.on('connected', () => {
      if (!outage || closed) return;
      outage = false;
      log.info({ prefix: o.prefix }, 'etcd watch resumed');
      // The watch replays from its last revision; listing again also covers history etcd compacted meanwhile.
      list().catch((err: unknown) => log.warn({ err, prefix: o.prefix }, 'listing after the watch resumed failed'));
    });
    w.on('error', (err: Error) => log.warn({ err, prefix: o.prefix }, 'etcd watch error'));
  };

  const start = async (): Promise<readonly Backend[]> => {
    await watch(await list());
    return good.list ?? [];
  };

  const discovery: Discovery = {
    discover: async () => {
      if (closed) throw new LbError('LB_ERR_CLOSED', `etcdDiscovery ${o.prefix} is closed`);
      if (good.list !== undefined) return good.list;
      starting ??= start().finally(() => {
        starting = undefined;
      });
      try {
        return await starting;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new LbError(
          'LB_ERR_DISCOVERY_FAILED',
          `etcdDiscovery ${o.prefix} at ${o.endpoints.join(', ')}: ${reason}`,
          {
            cause: err,
          },
        );
      }
    },
    on: (_event, listener) => {
      good.on(listener);
      return discovery;
    },
    off: (_event, listener) => {
      good.off(listener);
      return discovery;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await watcher?.cancel().catch(() => undefined);
      client.close();
    },
  };
  return discovery;
}

function validate(o: EtcdDiscoveryOptions): void {
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) {
    invalidOption('etcdDiscovery endpoints', 'a non-empty list of "host:port" or http(s):// URLs', o.endpoints);
  }
  for (const e of o.endpoints) {
    if (typeof e !== 'string') invalidOption('etcdDiscovery endpoints[]', 'a "host:port" string', e);
    const bare = e.replace(/^https?:\/\//, '');
    parseHostPort(bare);
  }
  if (typeof o.prefix !== 'string' || o.prefix === '')
    invalidOption('etcdDiscovery prefix', 'a non-empty key prefix', o.prefix);
  checkInteger('etcdDiscovery dialTimeoutMs', o.dialTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger('etcdDiscovery retryInitialMs', o.retryInitialMs, 1, MAX_TIMER_MS);
  checkInteger('etcdDiscovery retryMaxMs', o.retryMaxMs, o.retryInitialMs, MAX_TIMER_MS);
  checkLogger('etcdDiscovery logger', o.logger);
}

/**
 * The backends the entries describe, by key order. A bad value or a repeated address is
 * skipped, with a warn line the first time each key holds that value.
 */
function toBackends(
  entries: ReadonlyMap<string, { readonly value: string }>,
  warned: Map<string, string>,
  log: Logger,
): Backend[] {
  const keys = [...entries.keys()].sort();
  const seen = new Set<string>();
  const out: Backend[] = [];
  for (const key of warned.keys()) if (!entries.has(key)) warned.delete(key);
  for (const key of keys) {
    const value = entries.get(key)!.value;
    try {
      const b = parseValue(value);
      if (seen.has(b.id)) throw new Error(`address ${b.id} is already listed under an earlier key`);
      seen.add(b.id);
      out.push(b);
      warned.delete(key);
    } catch (err) {
      if (warned.get(key) === value) continue;
      warned.set(key, value);
      log.warn({ key }, `skipping etcd key ${key}: ${(err as Error).message}`);
    }
  }
  return out;
}

function parseValue(text: string): Backend {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`expected JSON {"address": "host:port", "weight": n}, got ${describe(text)}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`expected an object {"address", "weight"?}, got ${describe(data)}`);
  }
  const { address, weight, ...rest } = data as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new Error(`unknown field "${extra[0]}" (expected address, weight)`);
  if (typeof address !== 'string') throw new Error(`address: expected a "host:port" string, got ${describe(address)}`);
  return backend(address, (weight ?? 1) as number);
}
