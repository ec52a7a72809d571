import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { AdminListenOptions } from './admin-defaults.js';
import { type AdminServer, serveAdmin } from './admin-http.js';
import type { Metrics } from './metrics.js';
import { mergeRaw, type StatusRaw, statusDocument } from './status-model.js';

/** The IPC message a primary sends for a worker's status data, and the answer's type. */
const STATUS_REQUEST = 'switchyard:admin-status';
const STATUS_ANSWER = 'switchyard:admin-status-answer';
/** How long the primary waits for workers' status answers, ms; late workers are left out. */
const STATUS_WAIT_MS = 1000;

interface StatusAnswer {
  readonly type: typeof STATUS_ANSWER;
  readonly id: number;
  readonly raw: StatusRaw;
}

/**
 * In a `--workers` worker: answers the primary's metrics requests (prom-client's cluster
 * protocol, from `metrics.registry`) and status requests (from `status()`). Returns the function
 * that stops answering status requests.
 */
export function answerPrimary(metrics: Metrics, status: () => StatusRaw): () => void {
  AggregatorRegistry.setRegistries([metrics.registry]);
  // Constructing one installs prom-client's worker-side listener for metrics requests.
  new AggregatorRegistry();
  const onMessage = (message: unknown): void => {
    const m = message as { type?: unknown; id?: unknown } | null;
    if (m?.type !== STATUS_REQUEST || typeof m.id !== 'number') return;
    const answer: StatusAnswer = { type: STATUS_ANSWER, id: m.id, raw: status() };
    process.send?.(answer);
  };
  process.on('message', onMessage);
  return () => process.off('message', onMessage);
}

/** Asks every live worker for its status data; resolves with the answers that came within {@link STATUS_WAIT_MS}. */
function workersStatus(nextId: () => number): Promise<StatusRaw[]> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
  const id = nextId();
  return new Promise((resolve) => {
    const answers: StatusRaw[] = [];
    const done = () => {
      clearTimeout(timer);
      cluster.off('message', onMessage);
      resolve(answers);
    };
    const onMessage = (_worker: Worker, message: unknown) => {
      const m = message as Partial<StatusAnswer> | null;
      if (m?.type !== STATUS_ANSWER || m.id !== id || m.raw === undefined) return;
      answers.push(m.raw);
      if (answers.length === workers.length) done();
    };
    const timer = setTimeout(done, STATUS_WAIT_MS);
    cluster.on('message', onMessage);
    if (workers.length === 0) done();
    for (const w of workers) w.send({ type: STATUS_REQUEST, id });
  });
}

/**
 * The cluster primary's admin listener: `/metrics` is the sum over the workers (prom-client's
 * cluster aggregator; each worker's process metrics keep their `worker` label), `/status.json` and
 * `/readyz` the workers' status merged (ready when every worker that answered is ready).
 */
export function serveClusterAdmin(o: AdminListenOptions): AdminServer {
  const aggregator = new AggregatorRegistry();
  let ids = 0;
  return serveAdmin(o, {
    metrics: () => aggregator.clusterMetrics(),
    async status() {
      const raws = await workersStatus(() => ++ids);
      const merged = mergeRaw(raws);
      return statusDocument(raws.length === 0 ? { ...merged, listening: false } : merged, raws.length);
    },
  });
}
