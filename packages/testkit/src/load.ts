import { Agent, request } from 'node:http';

/** One request the load generator sent. */
export interface LoadRecord {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly start: number;
  end: number;
  status?: number;
  /** The `X-Backend` response header, when the upstream set one. */
  backend?: string;
  body?: string;
  /** Transport error code (ECONNRESET, ECONNREFUSED, timeout). */
  error?: string;
}

/** Counts kept while the load runs. `retried` is filled by the scenario from the proxy's access log. */
export interface LoadCounts {
  sent: number;
  succeeded: number;
  failed: number;
  retried: number;
  byStatus: Record<string, number>;
  errors: Record<string, number>;
}

export interface LoadOptions {
  readonly port: number;
  readonly host?: string;
  /** Requests in flight at once. @defaultValue 8 */
  readonly concurrency?: number;
  /** Hard cap on requests sent. @defaultValue 100000 */
  readonly maxRequests?: number;
  /** Hard cap on run time, ms; the generator stops sending after it. @defaultValue 60000 */
  readonly maxDurationMs?: number;
  /** Per-request timeout, ms; an expired request counts as failed with error `timeout`. @defaultValue 10000 */
  readonly timeoutMs?: number;
  /** Method for request `seq`. @defaultValue 'GET' */
  readonly method?: (seq: number) => string;
  /** Path for request `seq`. @defaultValue `/load/${seq}` */
  readonly path?: (seq: number) => string;
  /** Status codes that count as success. @defaultValue 200–299 */
  readonly ok?: (status: number) => boolean;
  /** Pause between requests of one worker, ms. @defaultValue 0 */
  readonly pauseMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Keep every record in `records` (a long soak turns this off and uses `onRecord`). @defaultValue true */
  readonly keepRecords?: boolean;
  /** Called with each record when its request ends. */
  readonly onRecord?: (record: LoadRecord) => void;
}

/** A running load: live counts, every record, and `stop()`. */
export interface Load {
  readonly counts: LoadCounts;
  readonly records: LoadRecord[];
  /** Stops sending and waits for requests in flight (each bounded by `timeoutMs`). */
  stop(): Promise<LoadCounts>;
  /** Resolves when the load ended on its own (cap reached) or after `stop()`. */
  readonly done: Promise<LoadCounts>;
  /** Records of requests that started in `[from, to)`. */
  between(from: number, to: number): LoadRecord[];
}

/**
 * Starts a closed-loop HTTP/1.1 load against `port` with `concurrency` workers on a keep-alive
 * agent. It never retries: every failure it sees is a failure the client saw.
 */
export function startLoad(options: LoadOptions): Load {
  const concurrency = options.concurrency ?? 8;
  const maxRequests = options.maxRequests ?? 100_000;
  const deadline = Date.now() + (options.maxDurationMs ?? 60_000);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const methodOf = options.method ?? (() => 'GET');
  const pathOf = options.path ?? ((seq: number) => `/load/${seq}`);
  const isOk = options.ok ?? ((status: number) => status >= 200 && status < 300);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const counts: LoadCounts = { sent: 0, succeeded: 0, failed: 0, retried: 0, byStatus: {}, errors: {} };
  const records: LoadRecord[] = [];
  let stopping = false;

  function once(seq: number): Promise<void> {
    const method = methodOf(seq);
    const record: LoadRecord = { seq, method, path: pathOf(seq), start: Date.now(), end: 0 };
    if (options.keepRecords !== false) records.push(record);
    counts.sent++;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (error?: string): void => {
        if (settled) return;
        settled = true;
        record.end = Date.now();
        if (error !== undefined) {
          record.error = error;
          counts.failed++;
          counts.errors[error] = (counts.errors[error] ?? 0) + 1;
        } else if (record.status !== undefined && isOk(record.status)) {
          counts.succeeded++;
        } else {
          counts.failed++;
        }
        options.onRecord?.(record);
        resolve();
      };
      const req = request(
        {
          agent,
          host: options.host ?? '127.0.0.1',
          port: options.port,
          method,
          path: record.path,
          headers: { host: 'load.test', ...options.headers },
          timeout: timeoutMs,
        },
        (res) => {
          record.status = res.statusCode ?? 0;
          const key = String(record.status);
          counts.byStatus[key] = (counts.byStatus[key] ?? 0) + 1;
          const backend = res.headers['x-backend'];
          if (typeof backend === 'string') record.backend = backend;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            if (chunks.length < 16) chunks.push(c);
          });
          res.on('end', () => {
            record.body = Buffer.concat(chunks).toString('utf8').slice(0, 512);
            settle();
          });
          res.on('error', (err: NodeJS.ErrnoException) => settle(err.code ?? 'response-error'));
        },
      );
      req.on('timeout', () => {
        req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => settle(err.code ?? err.message));
      req.end(method === 'POST' || method === 'PUT' ? `body-${seq}` : undefined);
    });
  }

  let next = 0;
  async function worker(): Promise<void> {
    while (!stopping && next < maxRequests && Date.now() < deadline) {
      await once(next++);
      if (options.pauseMs !== undefined && options.pauseMs > 0) {
        await new Promise((r) => setTimeout(r, options.pauseMs));
      }
    }
  }

  const done = Promise.all(Array.from({ length: concurrency }, () => worker())).then(() => {
    agent.destroy();
    return counts;
  });

  return {
    counts,
    records,
    done,
    stop() {
      stopping = true;
      return done;
    },
    between(from, to) {
      return records.filter((r) => r.start >= from && r.start < to);
    },
  };
}

/** The p-th percentile (0–100) of `values`, nearest-rank; 0 for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}
