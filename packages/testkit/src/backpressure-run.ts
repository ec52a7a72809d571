import { downloadPaced, type PacedBackend, patternLength, startPacedBackend, uploadPattern } from './paced-stream.js';
import { type ServeProcess, startServe } from './serve-process.js';
import { sleep } from './wait.js';

const MIB = 1024 * 1024;

/** One direction of a backpressure run. */
export interface DirectionResult {
  readonly bytes: number;
  readonly expected: number;
  readonly firstBadOffset: number;
  readonly status: number;
  readonly elapsedMs: number;
  /** Highest proxy RSS while the transfer ran, bytes. */
  readonly peakRss: number;
}

/** What {@link runBackpressure} measured. */
export interface BackpressureResult {
  /** Proxy RSS after start-up, before any transfer, bytes. */
  readonly coldRss: number;
  /** Proxy RSS after a small transfer each way (heap and pools warmed), bytes: the idle figure. */
  readonly idleRss: number;
  readonly upload: DirectionResult;
  readonly download: DirectionResult;
}

/**
 * `switchyard serve` in front of a paced backend: an upload of `bytes` read by the backend at
 * `bytesPerSecond`, and a download of `bytes` read by the client at `bytesPerSecond` — one after
 * the other, or at the same time with `concurrent` — with the proxy's RSS sampled every 100 ms.
 * Used by the regular suite (scaled) and by the soak (1 GiB at 1 MB/s).
 */
export async function runBackpressure(
  bytes: number,
  bytesPerSecond: number,
  concurrent = false,
): Promise<BackpressureResult> {
  let backend: PacedBackend | undefined;
  let serve: ServeProcess | undefined;
  try {
    backend = await startPacedBackend(bytesPerSecond);
    const id = backend.id;
    serve = await startServe({
      config: (port) => ({
        listen: `127.0.0.1:${port}`,
        accessLog: false,
        logLevel: 'warn',
        upstreams: { web: { backends: [id], selector: { type: 'round-robin' } } },
        server: { requestTimeout: 0 },
      }),
    });
    const proxy = serve;
    const coldRss = proxy.rss();
    // Warm-up: JIT, pools, and the young generation's pages (a fixed cost, not buffering).
    const warm = patternLength(32 * MIB);
    backend.uploadRate = 1024 * MIB;
    await uploadPattern(proxy.port, '/warm', warm);
    await downloadPaced(proxy.port, `/bytes/${warm}`, 1024 * MIB);
    backend.uploadRate = bytesPerSecond;
    await sleep(500);
    const idleRss = proxy.rss();

    const measure = async (transfer: () => Promise<{ status: number; bytes: number; bad: number; ms: number }>) => {
      let peakRss = proxy.rss();
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, proxy.rss());
      }, 100);
      try {
        const r = await transfer();
        peakRss = Math.max(peakRss, proxy.rss());
        return { bytes: r.bytes, firstBadOffset: r.bad, status: r.status, elapsedMs: r.ms, peakRss };
      } finally {
        clearInterval(sampler);
      }
    };
    const expected = patternLength(bytes);
    const paced = backend;
    const upload = () =>
      measure(async () => {
        const reply = await uploadPattern(proxy.port, '/upload', expected);
        const read = paced.uploads.at(-1);
        return {
          status: reply.status,
          bytes: read?.bytes ?? 0,
          bad: read?.firstBadOffset ?? 0,
          ms: read?.elapsedMs ?? 0,
        };
      });
    const download = () =>
      measure(async () => {
        const { status, read } = await downloadPaced(proxy.port, `/bytes/${expected}`, bytesPerSecond);
        return { status, bytes: read.bytes, bad: read.firstBadOffset, ms: read.elapsedMs };
      });
    const [up, down] = concurrent ? await Promise.all([upload(), download()]) : [await upload(), await download()];
    return {
      coldRss,
      idleRss,
      upload: { ...up, expected },
      download: { ...down, expected },
    };
  } finally {
    await serve?.stop();
    await backend?.stop();
  }
}
