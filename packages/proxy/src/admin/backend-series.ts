import { RollingWindow } from './rolling-window.js';

/** Status codes are counted in a flat array indexed by the code (HTTP codes are three digits). */
const MAX_STATUS = 1000;

/**
 * What the metrics of one upstream hold: the request-duration histogram (non-cumulative counts per
 * bucket, cumulated when scraped), the retries and the per-backend series. Updated with plain
 * number writes: prom-client's children hash their labels on every update, so the hot path
 * never touches prom-client; the exposition reads these fields when scraped.
 */
export class UpstreamSeries {
  readonly name: string;
  /** Upper bounds in seconds, ascending. */
  readonly bounds: readonly number[];
  readonly bucketCounts: Float64Array;
  durationSum = 0;
  durationCount = 0;
  retries = 0;
  /** Retries the retry budget refused. */
  retriesRefused = 0;
  /** By backend id. */
  readonly backends = new Map<string, BackendSeries>();

  constructor(name: string, bounds: readonly number[]) {
    this.name = name;
    this.bounds = bounds;
    this.bucketCounts = new Float64Array(bounds.length + 1);
  }

  /** One time-to-headers sample, seconds. */
  observe(seconds: number): void {
    const bounds = this.bounds;
    let b = 0;
    while (b < bounds.length && (bounds[b] as number) < seconds) b++;
    this.bucketCounts[b] = (this.bucketCounts[b] as number) + 1;
    this.durationSum += seconds;
    this.durationCount++;
  }
}

/** The counters of one backend of one upstream (the pre-bound "child" of every per-backend metric). */
export class BackendSeries {
  readonly upstream: UpstreamSeries;
  readonly id: string;
  inflight = 0;
  /** Attempts answered, by status code (index = status). */
  readonly byStatus = new Float64Array(MAX_STATUS);
  /** Attempts without a response, by `LB_ERR_*` code. */
  readonly errors = new Map<string, number>();
  /** Active health checks by result. */
  checksPassed = 0;
  checksFailed = 0;
  /** The last minute, for the status page. */
  readonly window: RollingWindow;

  constructor(upstream: UpstreamSeries, id: string, windowSeconds: number, second: () => number) {
    this.upstream = upstream;
    this.id = id;
    this.window = new RollingWindow(windowSeconds, second);
  }

  /** The attempt got its response head with `status` after `ms`. */
  answered(status: number, ms: number): void {
    const i = status >= 0 && status < MAX_STATUS ? status : 0;
    this.byStatus[i] = (this.byStatus[i] as number) + 1;
    this.upstream.observe(ms / 1000);
    this.window.answered(ms, status >= 500);
  }

  /** The attempt ended without a response, with `code`. */
  failed(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    this.window.failed();
  }
}
