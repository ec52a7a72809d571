import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DNSMASQ = '/usr/sbin/dnsmasq';
const INSTALL_HINT =
  "install Debian's dnsmasq-base package (apt-get install dnsmasq-base), which provides /usr/sbin/dnsmasq";

/** One SRV record: `_service._proto.domain` → target:port. */
export interface SrvRecord {
  readonly name: string;
  readonly target: string;
  readonly port: number;
  readonly priority?: number;
  readonly weight?: number;
}

export interface DnsRecords {
  /** Name → addresses (A for IPv4, AAAA for IPv6), served from an addn-hosts file (reloadable). */
  readonly hosts: Readonly<Record<string, readonly string[]>>;
  readonly srv?: readonly SrvRecord[];
  /** TTL of every answer, in seconds. @defaultValue 0 (dnsmasq's default for local records) */
  readonly ttl?: number;
}

/** A real dnsmasq serving only local records on 127.0.0.1:`port`, in the foreground, under the test's control. */
export interface Dnsmasq {
  readonly port: number;
  /** `127.0.0.1:port`, for `dnsDiscovery({ servers })`. */
  readonly server: string;
  /** Rewrites the hosts file and makes dnsmasq re-read it (SIGHUP). */
  setHosts(hosts: DnsRecords['hosts']): Promise<void>;
  /** Stops dnsmasq: queries then time out (or are refused). */
  stop(): Promise<void>;
  /** Stops dnsmasq and removes its files. */
  close(): Promise<void>;
  /** Starts dnsmasq again on the same port with new records (SRV records are only read at start). */
  restart(records: DnsRecords): Promise<void>;
}

/**
 * A port on 127.0.0.1 free for both UDP and TCP (dnsmasq binds both; exit code 2 means one was
 * busy). Chosen below Linux's default ephemeral range (32768–60999), so the test suite's own
 * outgoing connections cannot take its TCP twin between this check and dnsmasq's bind.
 */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    if ((await bindable(createSocket('udp4'), port)) && (await bindable(createServer(), port))) return port;
  }
  throw new Error('no port in 10000-31999 was free for both UDP and TCP on 127.0.0.1 in 50 tries');
}

/** Whether `socket` can bind 127.0.0.1:`port`; closes it either way. */
function bindable(socket: Socket | Server, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      socket.close(() => resolve(ok));
    };
    socket.once('error', () => {
      // A socket whose bind failed still holds a handle; a server whose listen failed does not.
      if (!(socket instanceof Server)) socket.close();
      resolve(false);
    });
    if (socket instanceof Server) socket.listen(port, '127.0.0.1', () => done(true));
    else socket.bind(port, '127.0.0.1', () => done(true));
  });
}

function hostsText(hosts: DnsRecords['hosts']): string {
  return Object.entries(hosts)
    .flatMap(([name, addresses]) => addresses.map((a) => `${a} ${name}`))
    .join('\n')
    .concat('\n');
}

/**
 * Starts `/usr/sbin/dnsmasq --keep-in-foreground` with no upstream, no /etc/hosts and no
 * config file, listening only on 127.0.0.1:<free port>, answering for `*.test` from the
 * given records. Throws, saying what to install, when dnsmasq cannot be started.
 */
export async function startDnsmasq(records: DnsRecords, binary = DNSMASQ): Promise<Dnsmasq> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-dnsmasq-'));
  const hostsFile = join(dir, 'hosts');
  let port = 0;
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (r: DnsRecords): Promise<void> => {
    output = '';
    writeFileSync(hostsFile, hostsText({ ...r.hosts, 'ready.test': ['127.0.0.1'] }));
    const args = [
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--conf-file=/dev/null',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      // Tests run as root; keep root rather than dropping to a "nobody" user that may not exist.
      '--user=root',
      '--group=root',
      '--pid-file',
      '--log-facility=-',
      '--local=/test/',
      `--local-ttl=${r.ttl ?? 0}`,
      `--addn-hosts=${hostsFile}`,
      ...(r.srv ?? []).map((s) => `--srv-host=${s.name},${s.target},${s.port},${s.priority ?? 0},${s.weight ?? 0}`),
    ];
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    let exited: string | undefined;
    proc.once('error', (err) => {
      exited = `could not run ${binary}: ${err.message}`;
    });
    proc.once('exit', (code, signal) => {
      exited ??= `dnsmasq exited with ${code ?? signal}`;
    });
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    const deadline = Date.now() + 5000;
    for (;;) {
      if (exited !== undefined) break;
      try {
        await resolver.resolve4('ready.test');
        return;
      } catch {
        if (Date.now() > deadline) {
          exited = 'dnsmasq did not answer within 5 s';
          proc.kill('SIGKILL');
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(
      `DNS tests need a real dnsmasq and it could not be started (${exited}); ${INSTALL_HINT}.\n${output}`,
    );
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  };

  // A port found free can be taken (e.g. its TCP twin) before dnsmasq binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch(records);
      break;
    } catch (err) {
      if (attempt >= 3 || !/exited with 2/.test((err as Error).message)) throw err;
    }
  }
  return {
    port,
    server: `127.0.0.1:${port}`,
    setHosts: async (hosts) => {
      writeFileSync(hostsFile, hostsText({ ...hosts, 'ready.test': ['127.0.0.1'] }));
      child?.kill('SIGHUP');
      // dnsmasq re-reads addn-hosts on SIGHUP; give it a moment, then the next query sees the change.
      await new Promise((r) => setTimeout(r, 100));
    },
    stop: kill,
    close: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async (r) => {
      await kill();
      await launch(r);
    },
  };
}
