import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ETCD = '/usr/bin/etcd';
const INSTALL_HINT = "install Debian's etcd-server package (apt-get install etcd-server), which provides /usr/bin/etcd";

/** A real single-member etcd on loopback, in a temporary data directory, under the test's control. */
export interface TestEtcd {
  /** `127.0.0.1:port` of the client listener, for `etcdDiscovery({ endpoints })`. */
  readonly endpoint: string;
  /** Writes `value` under `key` through etcd's JSON gateway. */
  put(key: string, value: string): Promise<void>;
  /** Deletes `key`. */
  delete(key: string): Promise<void>;
  /** Stops etcd (SIGTERM): clients then see the connection refused. The data stays. */
  stop(): Promise<void>;
  /** Starts etcd again on the same ports with the same data. */
  start(): Promise<void>;
  /** Stops etcd and removes its data directory. */
  close(): Promise<void>;
}

/**
 * Starts `/usr/bin/etcd` listening only on 127.0.0.1 (client and peer ports picked free,
 * below the ephemeral range), and waits until `/health` answers. Throws, saying what to
 * install, when etcd cannot be started.
 */
export async function startEtcd(binary = ETCD): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-etcd-'));
  const clientPort = await freeTcpPort();
  let peerPort = await freeTcpPort();
  while (peerPort === clientPort) peerPort = await freeTcpPort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    let output = '';
    const proc = spawn(
      binary,
      [
        '--name=test',
        `--data-dir=${join(dir, 'data')}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=test=${peer}`,
        '--log-level=error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    const collect = (d: Buffer): void => {
      output = (output + d.toString()).slice(-4000);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    let exited: string | undefined;
    proc.once('error', (err) => {
      exited = `could not run ${binary}: ${err.message}`;
    });
    proc.once('exit', (code, signal) => {
      exited ??= `etcd exited with ${code ?? signal}`;
    });
    const deadline = Date.now() + 10_000;
    while (exited === undefined) {
      try {
        const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(500) });
        if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        exited = 'etcd did not report healthy within 10 s';
        proc.kill('SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd tests need a real etcd and it could not be started (${exited}); ${INSTALL_HINT}.\n${output}`);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  };

  const call = async (path: string, body: Record<string, string>): Promise<void> => {
    const res = await fetch(`${client}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
  };
  const b64 = (text: string): string => Buffer.from(text).toString('base64');

  await start();
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    put: (key, value) => call('/v3/kv/put', { key: b64(key), value: b64(value) }),
    delete: (key) => call('/v3/kv/deleterange', { key: b64(key) }),
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago, below Linux's ephemeral range (32768–60999). */
async function freeTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no TCP port in 10000-31999 was free on 127.0.0.1 in 50 tries');
}
