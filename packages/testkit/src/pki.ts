import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PEM certificate and its private key. */
export interface CertKey {
  readonly cert: string;
  readonly key: string;
}

/** A throwaway PKI for loopback TLS tests. */
export interface TestPki {
  /** The CA that signed `server` and `client`. */
  readonly ca: CertKey;
  /** Server certificate for the given DNS names and IPs. */
  readonly server: CertKey;
  /** Client certificate (for mutual TLS), signed by `ca`. */
  readonly client: CertKey;
  /** An unrelated CA: trusting only it must make verification fail. */
  readonly otherCa: CertKey;
}

export interface TestPkiOptions {
  /** DNS names in the server certificate's subjectAltName. @defaultValue ['localhost', 'upstream.test'] */
  readonly names?: readonly string[];
  /** IP addresses in the server certificate's subjectAltName. @defaultValue ['127.0.0.1', '::1'] */
  readonly ips?: readonly string[];
  /** Common name of the server certificate. @defaultValue the first name */
  readonly commonName?: string;
}

function openssl(cwd: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed (is Debian's openssl installed?): ${stderr}`, { cause: err });
  }
}

function makeCa(dir: string, name: string): CertKey {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

function makeLeaf(dir: string, name: string, cn: string, ext: string): CertKey {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
  ]);
  return { cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

/**
 * Generates a CA, a server certificate (SANs from `names` and `ips`), a client
 * certificate and an unrelated CA with the `openssl` command, in a temporary folder
 * that is removed before returning. Takes about 100 ms.
 */
export function generateTestPki(options: TestPkiOptions = {}): TestPki {
  const names = options.names ?? ['localhost', 'upstream.test'];
  const ips = options.ips ?? ['127.0.0.1', '::1'];
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-pki-'));
  try {
    const otherCa = makeCa(dir, 'other');
    const ca = makeCa(dir, 'ca');
    const san = [...names.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
    const server = makeLeaf(
      dir,
      'server',
      options.commonName ?? names[0] ?? 'localhost',
      `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`,
    );
    const client = makeLeaf(dir, 'client', 'switchyard-client', 'extendedKeyUsage=clientAuth\n');
    return { ca, server, client, otherCa };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
