// The programs outside Node that the test suite (and the fixture script) start, and the Debian
// package providing each. One list, read by `npm run setup` (which installs them), by the test
// preflight (which names what is missing) and, through the setup script, by .ci/run.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * One required program: where the tests look for it, the Debian package that installs it there,
 * and what needs it. `scope` is `tests` for what `pnpm test` starts, `fixtures` for what only
 * `pnpm fixtures:nginx` needs.
 */
export const SYSTEM_REQUIREMENTS = Object.freeze([
  {
    program: 'nginx',
    debianPackage: 'nginx-light',
    paths: ['/usr/sbin/nginx'],
    scope: 'tests',
    usedBy: 'the live nginx compatibility tests of the selectors and the proxy benchmark',
  },
  {
    program: 'dnsmasq',
    debianPackage: 'dnsmasq-base',
    paths: ['/usr/sbin/dnsmasq'],
    scope: 'tests',
    usedBy: 'the DNS discovery tests (a real DNS server on loopback)',
  },
  {
    program: 'chromium',
    debianPackage: 'chromium',
    paths: ['/usr/bin/chromium'],
    scope: 'tests',
    usedBy: 'the test that renders the simulate HTML report',
  },
  {
    program: 'openssl',
    debianPackage: 'openssl',
    paths: ['/usr/bin/openssl'],
    scope: 'tests',
    usedBy: 'the certificates generated for the TLS tests',
  },
  {
    program: 'haproxy',
    debianPackage: 'haproxy',
    paths: ['/usr/sbin/haproxy'],
    scope: 'tests',
    usedBy: 'the live HAProxy comparison tests',
  },
  {
    program: 'etcd',
    debianPackage: 'etcd-server',
    paths: ['/usr/bin/etcd'],
    scope: 'tests',
    usedBy: 'the etcd discovery tests (a real etcd on loopback)',
  },
  {
    program: 'ss',
    debianPackage: 'iproute2',
    paths: ['/usr/bin/ss', '/bin/ss'],
    scope: 'tests',
    usedBy: 'the proxy tests that count open upstream connections',
  },
  {
    program: 'wrk',
    debianPackage: 'wrk',
    paths: ['/usr/bin/wrk'],
    scope: 'tests',
    usedBy: 'the drain test (SIGTERM in the middle of a wrk run)',
  },
  {
    program: 'python3',
    debianPackage: 'python3-minimal',
    paths: ['/usr/bin/python3'],
    scope: 'tests',
    usedBy: 'the connect-timeout tests (a listener that never accepts)',
  },
  {
    program: 'mkfifo',
    debianPackage: 'coreutils',
    paths: ['/usr/bin/mkfifo', '/bin/mkfifo'],
    scope: 'tests',
    usedBy: 'the access-log test that writes to a named pipe',
  },
  {
    program: 'ip',
    debianPackage: 'iproute2',
    paths: ['/usr/sbin/ip', '/usr/bin/ip', '/sbin/ip', '/bin/ip'],
    scope: 'fixtures',
    usedBy: 'pnpm fixtures:nginx (addresses inside its private network namespace)',
  },
  {
    program: 'unshare',
    debianPackage: 'util-linux',
    paths: ['/usr/bin/unshare', '/bin/unshare'],
    scope: 'tests',
    usedBy: 'the preflight test (hides programs in a private mount namespace) and pnpm fixtures:nginx',
  },
]);

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where `requirement` is installed: the first of its known paths that is executable, else the
 * first match on PATH (plus the sbin folders, which a non-root PATH often lacks); undefined when
 * it is nowhere.
 */
export function locate(requirement) {
  const known = requirement.paths.find(executable);
  if (known !== undefined) return known;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  return dirs
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, requirement.program))
    .find(executable);
}

/** The requirements of the given scopes (of `list`, by default all of them) that are not installed, in list order. */
export function missingRequirements(scopes = ['tests'], list = SYSTEM_REQUIREMENTS) {
  return list.filter((r) => scopes.includes(r.scope) && locate(r) === undefined);
}

/** The distinct Debian packages providing `requirements`, in list order. */
export function debianPackagesOf(requirements) {
  return [...new Set(requirements.map((r) => r.debianPackage))];
}

/** One line per missing program: the program, the package that provides it, and what needs it. */
export function describeMissing(requirements) {
  return requirements.map((r) => `  ${r.program}: install Debian's ${r.debianPackage} package (needed by ${r.usedBy})`);
}
