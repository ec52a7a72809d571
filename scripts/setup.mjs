// `npm run setup`: everything a fresh Debian or Ubuntu machine with Node >= 20.18 and npm needs
// before `pnpm test`. Installs the Debian packages the tests start (as root, or through sudo
// when it needs no password), pnpm 10 when it is missing, the workspace's dependencies, builds,
// and runs the demo (`--no-demo` skips it). Plain Node with no dependencies, so it runs before
// anything is installed.
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { debianPackagesOf, describeMissing, locate, missingRequirements } from './system-requirements.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIN_NODE = [20, 18];
const PNPM_MAJOR = 10;

const { values } = parseArgs({ options: { 'no-demo': { type: 'boolean', default: false } } });

function step(text) {
  console.log(`\nsetup: ${text}`);
}

function fail(text) {
  console.error(`setup: ${text}`);
  process.exit(1);
}

/** Runs a command in the repository with the terminal attached; true when it exits 0. */
function run(command, args, env = process.env) {
  console.log(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
  return result.status === 0;
}

function quiet(command, args) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    fail(`Node ${process.versions.node} is too old; install Node >= ${MIN_NODE.join('.')} and run this again`);
  }
}

/** Installs the missing Debian packages when it can; returns the lines to repeat at the end otherwise. */
function installSystemPackages() {
  const missing = missingRequirements(['tests', 'fixtures']);
  if (missing.length === 0) {
    console.log('setup: every program the tests start is installed');
    return [];
  }
  const packages = debianPackagesOf(missing);
  const isRoot = process.getuid?.() === 0;
  const apt = locate({ program: 'apt-get', paths: ['/usr/bin/apt-get'] });
  const sudo = isRoot ? undefined : locate({ program: 'sudo', paths: ['/usr/bin/sudo'] });
  const canSudo = sudo !== undefined && quiet(sudo, ['-n', 'true']) !== undefined;
  if (apt !== undefined && (isRoot || canSudo)) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const prefix = isRoot ? [] : ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive'];
    const command = isRoot ? apt : sudo;
    const aptArgs = (args) => (isRoot ? args : [...prefix, apt, ...args]);
    if (!run(command, aptArgs(['update']), env)) fail('apt-get update failed');
    if (!run(command, aptArgs(['install', '-y', ...packages]), env))
      fail(`apt-get install ${packages.join(' ')} failed`);
    const still = missingRequirements(['tests', 'fixtures']);
    if (still.length > 0) fail(`still missing after apt-get install:\n${describeMissing(still).join('\n')}`);
    return [];
  }
  const why =
    apt === undefined
      ? 'this is not a Debian or Ubuntu system (no apt-get)'
      : 'this user is not root and sudo needs a password';
  const lines = [
    `setup: could not install the programs the tests start, because ${why}:`,
    ...describeMissing(missing),
    apt === undefined
      ? 'Install them with your system package manager; `pnpm test` stops until they are there.'
      : `Run as root: apt-get update && apt-get install -y ${packages.join(' ')}`,
  ];
  console.warn(lines.join('\n'));
  return lines;
}

/** The pnpm to use: one on PATH with major 10, else pnpm 10 installed with npm. */
function ensurePnpm() {
  const found = quiet('pnpm', ['--version']);
  if (found !== undefined && Number(found.split('.')[0]) === PNPM_MAJOR) {
    console.log(`setup: pnpm ${found} is installed`);
    return { pnpm: 'pnpm', notes: [] };
  }
  step(`installing pnpm ${PNPM_MAJOR} with npm`);
  if (run('npm', ['install', '--global', `pnpm@${PNPM_MAJOR}`]) && quiet('pnpm', ['--version']) !== undefined) {
    return { pnpm: 'pnpm', notes: [] };
  }
  // A global folder this user cannot write (Node from a system package): install under ~/.local.
  const prefix = join(homedir(), '.local');
  if (!run('npm', ['install', '--global', '--prefix', prefix, `pnpm@${PNPM_MAJOR}`])) fail('could not install pnpm');
  const bin = join(prefix, 'bin');
  const onPath = (process.env.PATH ?? '').split(delimiter).includes(bin);
  return {
    pnpm: join(bin, 'pnpm'),
    notes: onPath ? [] : [`setup: pnpm was installed in ${bin}; add it to PATH: export PATH="${bin}:$PATH"`],
  };
}

checkNode();
step('system packages the tests start');
const systemNotes = installSystemPackages();
step('pnpm');
const { pnpm, notes } = ensurePnpm();
step('dependencies');
if (!run(pnpm, ['install', '--frozen-lockfile'])) fail('pnpm install failed');
step('build');
if (!run(pnpm, ['build'])) fail('the build failed');
if (!values['no-demo']) {
  step('demo');
  if (!run(pnpm, ['demo'])) fail('the demo failed');
}
for (const line of [...systemNotes, ...notes]) console.warn(line);
console.log(
  systemNotes.length === 0
    ? '\nsetup: done. Run the tests with: pnpm test'
    : '\nsetup: done, but `pnpm test` will stop until the programs above are installed.',
);
