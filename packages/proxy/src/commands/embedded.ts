import { createServer, type Server } from 'node:http';

/** One of the demo backends the embedded default starts in-process on loopback. */
export interface DemoBackend {
  readonly name: string;
  /** `127.0.0.1:port`. */
  readonly address: string;
  readonly port: number;
  /** Requests it answered, health checks excluded. */
  readonly served: () => number;
  readonly running: () => boolean;
  /** Stops accepting connections; requests already inside finish. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/** The names of the embedded demo backends. */
export const DEMO_BACKEND_NAMES = ['alpha', 'bravo', 'charlie'] as const;

/** Health-check path of the demo backends. */
export const DEMO_HEALTH_PATH = '/healthz';

/**
 * Starts one small HTTP backend per name on 127.0.0.1 (OS-assigned ports). Each answers
 * `Hello from <name>` with an `X-Served-By` header, and `ok` on {@link DEMO_HEALTH_PATH}.
 * Responses say `Connection: close`: with no idle keep-alive connections, stopping a
 * backend makes new connections fail at once (a retryable connect error), which is the
 * outage the demo shows — not a reset in the middle of a reused connection.
 */
export async function startDemoBackends(names: readonly string[] = DEMO_BACKEND_NAMES): Promise<DemoBackend[]> {
  return Promise.all(names.map((name) => startDemoBackend(name)));
}

async function startDemoBackend(name: string): Promise<DemoBackend> {
  let served = 0;
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const s = createServer((req, res) => {
      const health = req.url === DEMO_HEALTH_PATH;
      if (!health) served++;
      const body = health ? 'ok\n' : `Hello from ${name} (you asked for ${req.url ?? '/'})\n`;
      req.resume();
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'x-served-by': name,
        connection: 'close',
      });
      res.end(body);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        const address = s.address();
        if (address !== null && typeof address === 'object') port = address.port;
        resolve();
      });
    });
    server = s;
  };
  await listen();
  return {
    name,
    get address() {
      return `127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    served: () => served,
    running: () => server !== undefined,
    async stop() {
      const s = server;
      if (s === undefined) return;
      server = undefined;
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async start() {
      if (server === undefined) await listen();
    },
  };
}

/**
 * The embedded default config (raw, as a file would hold it): one upstream `demo` over
 * `backends`, consistent hashing on the request URI, HTTP health checks every
 * `healthIntervalMs`, and the proxy on `listen`.
 */
export function embeddedConfig(
  backends: readonly DemoBackend[],
  listen: string,
  healthIntervalMs = 500,
  accessLog = true,
): Record<string, unknown> {
  return {
    listen,
    upstreams: {
      demo: {
        backends: backends.map((b) => b.address),
        selector: { type: 'consistent', algorithm: 'nginx', key: 'uri' },
        health: {
          type: 'http',
          path: DEMO_HEALTH_PATH,
          intervalMs: healthIntervalMs,
          // Refused connections fail at once; the long timeout only guards against false alarms on a busy machine.
          timeoutMs: 1000,
          healthyThreshold: 1,
          unhealthyThreshold: 1,
        },
        peer: { connectionTimeout: 1000, readTimeout: 5000 },
      },
    },
    retries: { maxAttempts: 3 },
    accessLog,
  };
}
