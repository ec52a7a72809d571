// Regenerates packages/selectors/test/fixtures/nginx-chash-trace.csv from the installed nginx:
// `pnpm fixtures:nginx` rewrites it, `pnpm fixtures:nginx --check` only compares, and
// `--fresh N` asks about N new random URIs instead of the committed ones.
//
// nginx runs with the committed config (test/fixtures/nginx/nginx.conf) inside a private network
// namespace made for this run (`unshare --net --map-root-user`). There the nine backends
// 10.0.0.1-9:443 are addresses on the namespace's own loopback interface, served by nginx itself;
// the namespace has no other interface, so nothing can reach, or come from, any real network.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMissing, locate, SYSTEM_REQUIREMENTS } from './system-requirements.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'packages/selectors/test/fixtures');
const TRACE = join(FIXTURES, 'nginx-chash-trace.csv');
const CONFIG = join(FIXTURES, 'nginx/nginx.conf');
const INSIDE_FLAG = '--inside-private-netns';
const BACKENDS = 9;
const LISTEN = { host: '127.0.0.1', port: 8080 };

const { values } = parseArgs({
  options: {
    check: { type: 'boolean', default: false },
    fresh: { type: 'string' },
    'inside-private-netns': { type: 'boolean', default: false },
  },
});

function need(program) {
  const requirement = SYSTEM_REQUIREMENTS.find((r) => r.program === program);
  const found = locate(requirement);
  if (found === undefined) {
    console.error(`fixtures:nginx: a program is missing:\n${describeMissing([requirement]).join('\n')}`);
    process.exit(1);
  }
  return found;
}

/** The URIs to ask about: the committed trace's, or `count` new random ones like Pingora's trace.sh. */
function uris() {
  if (values.fresh === undefined) {
    return readFileSync(TRACE, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.slice(0, line.lastIndexOf(',')));
  }
  const count = Number(values.fresh);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) {
    console.error(`fixtures:nginx: --fresh takes a whole number of URIs from 1 to 100000, not '${values.fresh}'`);
    process.exit(64);
  }
  return Array.from({ length: count }, () => `/${randomBytes(20).toString('hex')}`);
}

function run(file, args) {
  const result = spawnSync(file, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${result.stderr ?? result.error}`);
  return result.stdout;
}

function get(agent, path) {
  return new Promise((resolve, reject) => {
    const req = request({ ...LISTEN, path, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function waitReady(agent, nginx) {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (nginx.exitCode !== null) break;
    try {
      if ((await get(agent, '/__ready')) === 204) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('nginx did not answer on 127.0.0.1:8080 within 5 s');
}

/** Inside the namespace: set up the addresses, run nginx, ask it about every URI, return its log. */
async function traceInNamespace(list) {
  const ip = need('ip');
  const links = run(ip, ['-o', 'link', 'show']).trim().split('\n');
  if (links.length !== 1 || !/^\d+: lo:/.test(links[0])) {
    throw new Error(`refusing to add addresses: this is not a private network namespace (links: ${links.join('; ')})`);
  }
  run(ip, ['link', 'set', 'lo', 'up']);
  for (let i = 1; i <= BACKENDS; i++) run(ip, ['addr', 'add', `10.0.0.${i}/32`, 'dev', 'lo']);

  const dir = mkdtempSync(join(tmpdir(), 'switchyard-fixtures-nginx-'));
  mkdirSync(join(dir, 'temp'));
  const nginx = spawn(need('nginx'), ['-p', dir, '-c', CONFIG, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await waitReady(agent, nginx);
    for (const uri of list) {
      const status = await get(agent, uri);
      if (status !== 204) throw new Error(`GET ${uri} through nginx answered ${status}, not the backends' 204`);
    }
  } finally {
    agent.destroy();
    const exited = new Promise((resolve) => nginx.once('exit', resolve));
    if (nginx.exitCode === null) nginx.kill('SIGQUIT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (nginx.exitCode === null) nginx.kill('SIGKILL');
  }
  try {
    return readFileSync(join(dir, 'trace.csv'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function inside() {
  const list = uris();
  const trace = await traceInNamespace(list);
  const rows = trace.split('\n').filter((line) => line !== '');
  if (rows.length !== list.length) throw new Error(`nginx logged ${rows.length} requests, not ${list.length}`);
  rows.forEach((row, i) => {
    if (!row.startsWith(`${list[i]},10.0.0.`)) throw new Error(`row ${i + 1} is '${row}', not a pick for ${list[i]}`);
  });
  const committed = readFileSync(TRACE, 'utf8');
  const before = committed.split('\n').filter((line) => line !== '');
  const changed = values.fresh === undefined ? rows.filter((row, i) => row !== before[i]).length : undefined;
  if (values.check) {
    if (trace !== committed) {
      const what = changed === undefined ? 'asked about new URIs' : `${changed} picks differ`;
      console.error(`fixtures:nginx: the installed nginx disagrees with ${TRACE} (${what})`);
      process.exit(1);
    }
    console.log(`fixtures:nginx: the installed nginx reproduces all ${rows.length} rows of ${TRACE}`);
    return;
  }
  writeFileSync(TRACE, trace);
  const what = changed === undefined ? 'new URIs' : `${changed} picks differ from before`;
  console.log(`fixtures:nginx: wrote ${rows.length} rows to ${TRACE} (${what})`);
}

if (values['inside-private-netns']) {
  await inside();
} else {
  need('nginx');
  const unshare = need('unshare');
  const args = process.argv.slice(2);
  const result = spawnSync(
    unshare,
    ['--net', '--map-root-user', process.execPath, fileURLToPath(import.meta.url), INSIDE_FLAG, ...args],
    {
      stdio: 'inherit',
    },
  );
  if (result.error !== undefined) throw result.error;
  process.exit(result.status ?? 1);
}
