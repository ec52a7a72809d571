import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  type Backend,
  backend,
  checkInteger,
  describe,
  invalidOption,
  LbError,
  resolveOptions,
} from '@switchyard/core';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import type { Discovery } from './discovery.js';
import { LastGood } from './internal/backend-set.js';
import { checkLogger, componentLogger } from './internal/logger.js';
import { MAX_TIMER_MS } from './internal/timer.js';

/** Options of {@link fileDiscovery}. */
export interface FileDiscoveryOptions {
  /** Reload the file when it changes. @defaultValue true */
  readonly watch: boolean;
  /** How often the file's stat is polled for changes (`fs.watchFile`), in ms (1 to 2^31 - 1). @defaultValue 1000 */
  readonly pollMs: number;
  /** A bad reload is logged at warn with the reason. @defaultValue a disabled logger */
  readonly logger: Logger | undefined;
}

/** Defaults of {@link fileDiscovery}. */
export const FILE_DISCOVERY_DEFAULTS: FileDiscoveryOptions = Object.freeze({
  watch: true,
  pollMs: 1000,
  logger: undefined,
});

/**
 * Backends listed in a JSON or YAML file: a list whose items are `"host:port"` strings or
 * `{ address, weight?, meta? }` objects (a `.json` file is parsed as JSON, anything else as
 * YAML). The file is read on every `discover()` and, when `watch`, reloaded when its stat
 * changes, emitting `change` when the list differs. A file that cannot be read or parsed,
 * or holds a bad or duplicate entry, keeps the last good list and logs why; `discover()`
 * rejects with `LB_ERR_DISCOVERY_FAILED` only while no good list was ever loaded.
 */
export function fileDiscovery(path: string, options?: Partial<FileDiscoveryOptions>): Discovery {
  if (typeof path !== 'string' || path === '') invalidOption('fileDiscovery path', 'a file path', path);
  const o = resolveOptions('fileDiscovery', FILE_DISCOVERY_DEFAULTS, options, (v) => {
    if (typeof v.watch !== 'boolean') invalidOption('fileDiscovery watch', 'a boolean', v.watch);
    checkInteger('fileDiscovery pollMs', v.pollMs, 1, MAX_TIMER_MS);
    checkLogger('fileDiscovery logger', v.logger);
  });
  const log = componentLogger(o.logger, 'file-discovery');
  const good = new LastGood(log);
  let watching = false;
  let closed = false;

  const load = async (): Promise<readonly Backend[]> => {
    try {
      return good.accept(parseBackends(path, await readFile(path, 'utf8')));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const kept = good.list;
      if (kept === undefined) {
        throw new LbError('LB_ERR_DISCOVERY_FAILED', `fileDiscovery ${path}: ${reason}`, { cause: err });
      }
      log.warn({ err, path }, `keeping the last good ${kept.length} backends: ${reason}`);
      return kept;
    }
  };

  const onStat = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    load().catch((err: unknown) => log.warn({ err, path }, 'reload failed and no good list is known yet'));
  };

  const startWatching = (): void => {
    if (watching || closed || !o.watch) return;
    watching = true;
    watchFile(path, { interval: o.pollMs, persistent: false }, onStat);
  };

  const discovery: Discovery = {
    discover: async () => {
      if (closed) throw new LbError('LB_ERR_CLOSED', `fileDiscovery ${path} is closed`);
      startWatching();
      return load();
    },
    on: (_event, listener) => {
      good.on(listener);
      startWatching();
      return discovery;
    },
    off: (_event, listener) => {
      good.off(listener);
      return discovery;
    },
    close: async () => {
      closed = true;
      if (watching) unwatchFile(path, onStat);
      watching = false;
    },
  };
  return discovery;
}

/** Parses a backend list file; throws an Error naming the entry that is wrong. */
function parseBackends(path: string, text: string): Backend[] {
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(data)) throw new Error(`expected a list of backends, got ${describe(data)}`);
  const seen = new Set<string>();
  return data.map((item: unknown, i) => {
    const b = entry(item, i);
    if (seen.has(b.id)) throw new Error(`entry ${i}: duplicate backend ${b.id}`);
    seen.add(b.id);
    return b;
  });
}

function entry(item: unknown, i: number): Backend {
  try {
    if (typeof item === 'string') return backend(item);
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      const { address, weight, meta, ...rest } = item as Record<string, unknown>;
      const extra = Object.keys(rest);
      if (extra.length > 0) throw new Error(`unknown field "${extra[0]}" (expected address, weight, meta)`);
      if (typeof address !== 'string')
        throw new Error(`address: expected a "host:port" string, got ${describe(address)}`);
      return backend(address, (weight ?? 1) as number, (meta ?? {}) as Record<string, unknown>);
    }
    throw new Error(`expected "host:port" or { address, weight }, got ${describe(item)}`);
  } catch (err) {
    throw new Error(`entry ${i}: ${(err as Error).message}`, { cause: err });
  }
}
