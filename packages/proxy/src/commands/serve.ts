import cluster from 'node:cluster';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Logger, pino } from 'pino';
import { joinSharedHealth } from '../cluster/shared-health.js';
import { configError } from '../config/issues.js';
import { loadConfig } from '../config/load.js';
import { redactText } from '../config/redact.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { resolveConfig } from '../config/resolve.js';
import { LogSink } from '../internal/log-sink.js';
import { accessLineObserver } from './access-line.js';
import { type Command, EXIT_USAGE, errorText } from './command.js';
import { type ConfigWatch, watchConfigFile } from './config-watch.js';
import { type DemoBackend, embeddedConfig, startDemoBackends } from './embedded.js';
import { startPrimaryHealth } from './primary-health.js';
import { relaunch, relaunchFlags, watchLauncher } from './relaunch.js';
import { logAdmin, serveAdmin, servePrimaryAdmin } from './serve-admin.js';
import { stopWorkersAccepting, trackListeningWorkers, whenPrimaryAsksToStopAccepting } from './serve-drain.js';
import { startServing } from './serve-start.js';

const USAGE = `Usage: switchyard serve [--config FILE] [--workers N]

Runs the reverse proxy described by FILE (JSON or YAML; see \`switchyard check\`).
Without --config it runs the embedded default: three demo backends on loopback and
the proxy in front of them (http://127.0.0.1:8080, or a free port if that is taken).

  --config, -c FILE   config file; an invalid one exits 1 before any port is opened
  --workers, -w N     N processes sharing the listen port (node:cluster); health checks
                      run once, in the primary, and every worker shares their view
  --help, -h          this text

Signals: SIGTERM / SIGINT shut down gracefully: the listener closes, requests on open
connections are still served (with Connection: close) for server.drainMs, idle
connections are then closed, in-flight requests finish (exit 0);
SIGHUP, or saving the config file, reloads it: balancers are rebuilt with the new
backend set and swapped in without dropping in-flight requests. Listen address,
workers, TLS and server timeouts need a restart.

Exit codes: 0 after a graceful shutdown, 1 invalid config or failed start, 64 usage error.`;

/** How long a starting worker waits for the primary's health view before it gives up. */
const WORKER_VIEW_TIMEOUT_MS = 10_000;

/** Workers that die are replaced, at most this many times, so a crash loop ends. */
const MAX_WORKER_RESTARTS = 10;

/** `switchyard serve`. */
export const serveCommand: Command = {
  summary: 'run the reverse proxy from a config file (or the embedded demo default)',
  usage: USAGE,
  async run(args) {
    let configPath: string | undefined;
    let workers: number | undefined;
    try {
      const { values } = parseArgs({
        args: [...args],
        options: {
          config: { type: 'string', short: 'c' },
          workers: { type: 'string', short: 'w' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      });
      if (values.help === true) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      }
      configPath = values.config;
      if (values.workers !== undefined) {
        workers = Number(values.workers);
        if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
          throw new Error(`--workers: expected an integer from 1 to 256, got ${JSON.stringify(values.workers)}`);
        }
      }
    } catch (err) {
      process.stderr.write(`switchyard serve: ${errorText(err)}\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }

    let config: ResolvedConfig | undefined;
    if (configPath !== undefined) {
      try {
        config = loadConfig(configPath);
      } catch (err) {
        process.stderr.write(`switchyard serve: invalid config\n${errorText(err)}\n`);
        return 1;
      }
    }
    const count = workers ?? config?.workers ?? 1;
    if (count > 1 && config === undefined) {
      process.stderr.write('switchyard serve: --workers needs --config (the embedded default runs in one process)\n');
      return EXIT_USAGE;
    }
    if (cluster.isPrimary) {
      const flags = relaunchFlags();
      if (flags.length > 0) return relaunch(flags, ['serve', ...args]);
      watchLauncher();
      if (count > 1 && config !== undefined) return runPrimary(count, config, resolve(configPath as string));
    }
    return runServer(config, configPath === undefined ? undefined : resolve(configPath));
  },
};

/**
 * The cluster primary: runs the shared health checks, forks workers, forwards SIGHUP, shuts them
 * down on SIGTERM/SIGINT. It logs through the same JSON logger as the workers
 * (`component: 'primary'`), so stdout stays one JSON stream.
 */
async function runPrimary(count: number, config: ResolvedConfig, configPath: string): Promise<number> {
  const sink = logSink(config);
  const logger = serveLogger(config, sink).child({ component: 'primary' });
  const health = await startPrimaryHealth(config, configPath, logger);
  if ('issues' in health) {
    sink.close();
    process.stderr.write(`switchyard serve: cannot start\n${errorText(configError(health.issues, configPath))}\n`);
    return 1;
  }
  const admin = servePrimaryAdmin(config, logger);
  let stopping = false;
  let restarts = 0;
  trackListeningWorkers();
  for (let i = 0; i < count; i++) cluster.fork();
  logger.info({ workers: count }, `started ${count} workers`);
  const finished = new Promise<number>((done) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      // Every worker stops accepting before any starts draining, so no client told to reconnect
      // by one worker's `Connection: close` lands on the shared listener while it is closing.
      void stopWorkersAccepting().then(() => {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
      void health.reload('SIGHUP');
    });
    cluster.on('exit', (worker, code, signal) => {
      const left = Object.keys(cluster.workers ?? {}).length;
      if (stopping) {
        if (left === 0) void Promise.all([health.close(), admin.then((server) => server?.close())]).then(() => done(0));
        return;
      }
      logger.warn(
        { worker: worker.process.pid, code, signal },
        `worker ${worker.process.pid} exited (${signal ?? code})`,
      );
      if (restarts < MAX_WORKER_RESTARTS) {
        restarts++;
        cluster.fork();
      } else if (left === 0) {
        void health.close().then(() => done(1));
      }
    });
  });
  // Lines still buffered reach stdout before the process exits.
  return finished.then((code) => {
    sink.close();
    return code;
  });
}

/** One serving process: the embedded default when `config` is undefined. */
async function runServer(initial: ResolvedConfig | undefined, configPath: string | undefined): Promise<number> {
  // Installed first: a SIGHUP's default action would kill a process still starting up.
  let pendingHup = false;
  let onReload: (why: string) => void = () => {
    pendingHup = true;
  };
  const onHup = () => onReload('SIGHUP');
  process.on('SIGHUP', onHup);
  const stopAcceptingOnRequest = cluster.isWorker ? whenPrimaryAsksToStopAccepting() : undefined;
  let demo: DemoBackend[] = [];
  let config = initial;
  let fallbackPort = false;
  if (config === undefined) {
    demo = await startDemoBackends();
    config = resolveConfig(embeddedConfig(demo, '127.0.0.1:8080'), process.cwd());
    fallbackPort = true;
  }
  const log = logSink(config);
  const logger = serveLogger(config, log);
  // A --workers worker takes health from the primary, and serves only once it has the current view.
  const shared = cluster.isWorker ? await joinSharedHealth(logger, WORKER_VIEW_TIMEOUT_MS) : undefined;
  const admin = await serveAdmin(config);
  // Access lines skip pino (same line shape, a third of the cost), only when info is logged.
  const accessLines = logger.isLevelEnabled('info') ? accessLineObserver(log, process.pid, redactText) : undefined;
  const started = await startServing(config, logger, fallbackPort, shared, admin.observers, accessLines);
  if ('issues' in started) {
    await Promise.all(demo.map((b) => b.stop()));
    process.off('SIGHUP', onHup);
    log.close();
    process.stderr.write(`switchyard serve: cannot start\n${errorText(configError(started.issues, configPath))}\n`);
    return 1;
  }
  const { configured, proxy, address } = started;
  let adminUrl: string | undefined;
  try {
    adminUrl = await admin.start(configured, proxy);
  } catch (err) {
    await Promise.all([proxy.close({ deadlineMs: 0 }), configured.close(), ...demo.map((b) => b.stop())]);
    process.off('SIGHUP', onHup);
    log.close();
    process.stderr.write(`switchyard serve: cannot start\nadmin.listen: ${errorText(err)}\n`);
    return 1;
  }
  logAdmin(logger, adminUrl);
  const url = `${config.serverTls === undefined ? 'http' : 'https'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  logger.info(
    { url, upstreams: Object.keys(config.upstreams), config: configPath ?? 'embedded default' },
    'switchyard listening',
  );
  if (demo.length > 0) {
    log.flush();
    process.stdout.write(
      `\nSwitchyard is proxying ${url} to ${demo.length} demo backends (${demo.map((b) => `${b.name} ${b.address}`).join(', ')}).\nTry: curl ${url}/hello   (Ctrl-C to stop)\n\n`,
    );
  }

  let reloading: Promise<void> = Promise.resolve();
  onReload = (why: string): void => {
    if (configPath === undefined) return;
    reloading = reloading.then(async () => {
      try {
        const next = loadConfig(configPath);
        await configured.reload(next);
        admin.sync(configured, next);
        const restartOnly = restartNeeded(config as ResolvedConfig, next);
        config = next;
        logger.info(
          {
            why,
            upstreams: Object.keys(next.upstreams),
            ...(restartOnly.length > 0 ? { restartNeededFor: restartOnly } : {}),
          },
          'config reloaded',
        );
      } catch (err) {
        logger.error({ why, err: errorText(err) }, 'config reload failed; still serving the previous config');
      }
    });
  };
  let watcher: ConfigWatch | undefined;
  if (configPath !== undefined) {
    try {
      watcher = watchConfigFile(configPath, {
        onChange: () => onReload('file changed'),
        onError: (err) => logger.warn({ err: errorText(err) }, 'config file watch stopped; SIGHUP still reloads'),
      });
    } catch (err) {
      logger.warn({ err: errorText(err) }, 'cannot watch the config file; SIGHUP still reloads');
    }
  }
  if (pendingHup) onReload('SIGHUP during startup');
  stopAcceptingOnRequest?.serving(proxy);

  return new Promise((done) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) {
        // A worker gets Ctrl-C's SIGINT and the primary's SIGTERM: only a second signal to a
        // lone process means the operator does not want to wait.
        if (cluster.isWorker) return;
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down: draining connections, finishing in-flight requests');
      watcher?.close();
      process.off('SIGHUP', onHup);
      await reloading;
      const { shutdownTimeoutMs, drainMs } = (config as ResolvedConfig).server;
      await proxy.close({ deadlineMs: shutdownTimeoutMs, drainMs });
      await admin.close();
      await configured.close();
      await Promise.all(demo.map((b) => b.stop()));
      logger.info('stopped');
      log.close();
      done(0);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
  });
}

/** The JSON logger of a serving process and of the `--workers` primary, writing to `sink`. */
function serveLogger(config: ResolvedConfig, sink: LogSink): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { pid: process.pid },
      // A password written into a config value (a discovery path, an address) never reaches the log;
      // the test for '@' keeps the cost off the lines that cannot hold one.
      hooks: { streamWrite: (line) => (line.includes('@') ? redactText(line) : line) },
    },
    sink,
  );
}

/**
 * Where the logs go: stdout, in batches ({@link LogSink}): like nginx's `access_log … buffer=
 * flush=`, lines gather until the buffer holds `logBufferBytes` or `logFlushMs` passes (by
 * default 16 KiB or 100 ms); with `logBufferBytes` 0, the lines of one event-loop turn in one write.
 */
function logSink(config: ResolvedConfig): LogSink {
  return new LogSink({
    fd: 1,
    bufferBytes: config.logBufferBytes,
    flushMs: config.logFlushMs,
    onDrop: (lines, reason) => {
      process.stderr.write(`switchyard serve: ${lines} log lines dropped: ${reason}\n`);
    },
  });
}

/** Settings a reload cannot apply to a running server. */
function restartNeeded(before: ResolvedConfig, after: ResolvedConfig): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(before.listen, after.listen)) out.push('listen');
  if (before.workers !== after.workers) out.push('workers');
  if (!same(before.admin, after.admin)) out.push('admin');
  if (!same(before.server, after.server)) out.push('server');
  if (before.accessLog !== after.accessLog) out.push('accessLog');
  if (!same(before.retries, after.retries)) out.push('retries');
  if (!same(before.trustedProxies, after.trustedProxies)) out.push('trustedProxies');
  if (before.forwardedHeaders !== after.forwardedHeaders) out.push('forwardedHeaders');
  if (before.logLevel !== after.logLevel) out.push('logLevel');
  if (before.logBufferBytes !== after.logBufferBytes) out.push('logBufferBytes');
  if (before.logFlushMs !== after.logFlushMs) out.push('logFlushMs');
  return out;
}
