import cluster, { type Worker } from 'node:cluster';
import type { BackendHealth, HealthChange } from '@switchyard/health';
import type { Logger } from 'pino';
import type { Balancer } from '../balancer.js';
import {
  HEALTH_CHANNEL,
  isHealthMessage,
  type SharedBackendState,
  type SharedUpstreamView,
  type ToPrimary,
  type ToWorker,
} from '../cluster/health-messages.js';
import type { ConfigIssue } from '../config/issues.js';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { type ConfiguredApp, createConfiguredApp } from '../config/runtime.js';
import { errorText } from './command.js';
import { type ConfigWatch, watchConfigFile } from './config-watch.js';

/** The health checking a `serve --workers N` primary does for all its workers. */
export interface PrimaryHealth {
  /** Reloads the config file: new monitors, checked once, then the full view goes to every worker. */
  reload(why: string): Promise<void>;
  /** Stops checking and discovery, and the config file watch. */
  close(): Promise<void>;
}

/**
 * Starts the one health view of a `serve --workers N` host in the cluster primary: balancers for
 * the upstreams with active checks or outlier detection (discovery and checks, no traffic);
 * every health transition goes to every worker at once, a worker's `hello` is answered with the
 * full view, and one worker's ejection is applied here (bounded by `maxEjectedPercent` across
 * the host) and passed on to the others, or refused back to it. The primary outlives its
 * workers, so the checking never moves: a worker that restarts gets the current view before it
 * serves. Returns config problems when the first discovery fails, as `serve` would.
 */
export async function startPrimaryHealth(
  config: ResolvedConfig,
  configPath: string,
  logger: Logger,
): Promise<PrimaryHealth | { issues: ConfigIssue[] }> {
  let configured: ConfiguredApp;
  try {
    configured = createConfiguredApp(shared(config), { logger });
    await configured.ready();
  } catch (err) {
    return { issues: [{ path: 'upstreams', message: errorText(err) }] };
  }
  /** Ejections in force, by `upstream\0id`: when each ends. */
  const ejections = new Map<string, number>();
  const broadcast = (message: ToWorker, except?: Worker): void => {
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker !== undefined && worker !== except && worker.isConnected()) worker.send(message);
    }
  };

  function subscribe(balancers: ReadonlyMap<string, Balancer>): void {
    for (const [upstream, balancer] of balancers) {
      const monitor = balancer.health;
      monitor?.on('change', (change: HealthChange) => {
        const entry = monitor.snapshot().find((h) => h.backend.id === change.backend.id);
        if (entry !== undefined)
          broadcast({ channel: HEALTH_CHANNEL, type: 'health', upstream, state: stateOf(entry), at: change.at });
      });
      balancer.outlier?.on('reinstate', (id) => {
        ejections.delete(`${upstream}\0${id}`);
        broadcast({ channel: HEALTH_CHANNEL, type: 'reinstate', upstream, id });
      });
    }
  }
  subscribe(configured.balancers());

  function view(): ToWorker {
    const now = Date.now();
    const upstreams: Record<string, SharedUpstreamView> = {};
    for (const [name, balancer] of configured.balancers()) {
      const ejected = (balancer.outlier?.ejected() ?? []).flatMap((id) => {
        const until = ejections.get(`${name}\0${id}`);
        return until === undefined || until <= now ? [] : [{ id, ms: until - now }];
      });
      upstreams[name] = { backends: (balancer.health?.snapshot() ?? []).map(stateOf), ejected };
    }
    return { channel: HEALTH_CHANNEL, type: 'view', upstreams };
  }

  const onMessage = (worker: Worker, message: unknown): void => {
    if (!isHealthMessage(message)) return;
    const m = message as ToPrimary;
    if (m.type === 'hello') {
      worker.send(view());
      return;
    }
    const balancer = configured.balancers().get(m.upstream);
    if (m.type === 'eject') {
      const detector = balancer?.outlier;
      if (detector?.eject(m.id, m.ms) === true) {
        ejections.set(`${m.upstream}\0${m.id}`, Date.now() + m.ms);
        broadcast({ channel: HEALTH_CHANNEL, type: 'eject', upstream: m.upstream, id: m.id, ms: m.ms }, worker);
      } else {
        // The host-wide cap is full (or the backend is no longer a member): the worker takes it back.
        worker.send({ channel: HEALTH_CHANNEL, type: 'reinstate', upstream: m.upstream, id: m.id });
      }
    } else if (m.type === 'check-now') {
      const done = () => {
        if (worker.isConnected()) worker.send({ channel: HEALTH_CHANNEL, type: 'checked', seq: m.seq });
      };
      void (balancer?.health?.checkNow() ?? Promise.resolve()).then(done, done);
    } else if (m.type === 'traffic') {
      for (const id of m.ids) balancer?.health?.reportTraffic(id);
    }
  };
  cluster.on('message', onMessage);

  let reloading: Promise<void> = Promise.resolve();
  const reload = (why: string): Promise<void> => {
    reloading = reloading.then(async () => {
      try {
        await configured.reload(shared(loadConfig(configPath)));
        subscribe(configured.balancers());
        const now = Date.now();
        for (const [key, until] of ejections) {
          const [upstream = '', id = ''] = key.split('\0');
          if (until > now)
            configured
              .balancers()
              .get(upstream)
              ?.outlier?.eject(id, until - now);
        }
        // Fresh monitors start healthy: send the view once every backend has been checked.
        await Promise.all([...configured.balancers().values()].map((b) => b.health?.checkNow()));
        broadcast(view());
        logger.info({ why }, 'health view reloaded');
      } catch (err) {
        logger.error({ why, err: errorText(err) }, 'health view reload failed; still checking the previous config');
      }
    });
    return reloading;
  };

  let watcher: ConfigWatch | undefined;
  try {
    watcher = watchConfigFile(configPath, {
      onChange: () => void reload('file changed'),
      onError: (err) => logger.warn({ err: errorText(err) }, 'config file watch stopped; SIGHUP still reloads'),
    });
  } catch (err) {
    logger.warn({ err: errorText(err) }, 'cannot watch the config file; SIGHUP still reloads');
  }
  logger.info({ upstreams: [...configured.balancers().keys()] }, 'health checks run here, shared with the workers');

  return {
    reload,
    async close() {
      watcher?.close();
      cluster.off('message', onMessage);
      await reloading;
      await configured.close();
    },
  };
}

/** The part of `config` whose health the primary keeps: upstreams with checks or outlier detection, no routes. */
function shared(config: ResolvedConfig): ResolvedConfig {
  const upstreams = Object.fromEntries(
    Object.entries(config.upstreams).filter(([, u]) => u.health !== undefined || u.outlier !== undefined),
  );
  return { ...config, upstreams, routes: [] };
}

function stateOf(h: BackendHealth): SharedBackendState {
  const reason = h.healthy ? undefined : h.lastResult?.reason;
  return {
    id: h.backend.id,
    healthy: h.healthy,
    consecutiveSuccesses: h.consecutiveSuccesses,
    consecutiveFailures: h.consecutiveFailures,
    ...(h.lastChangeAt === undefined ? {} : { lastChangeAt: h.lastChangeAt }),
    ...(reason === undefined ? {} : { reason }),
  };
}
