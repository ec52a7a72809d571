// The processes under test and how each is started. Every target runs in its own process
// (nginx: one master + one worker); they are started lazily, once, and stopped by the caller.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEY_HEADER } from './bodies.mjs';
import { freePorts, HOST, startChild, waitForPort } from './children.mjs';
import { importProxy, switchyardBin } from './deps.mjs';
import { proxyConfig, startNginx, upstreamConfig } from './nginx.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The compiled `switchyard` command (`tsc -b` builds it). */
export const SWITCHYARD_CLI = switchyardBin();

function peerVersion(name) {
  const file = path.join(ROOT, 'packages/proxy/node_modules', name, 'package.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : '?';
}

/** Versions shown in the table labels and recorded in the JSON. */
export const VERSIONS = Object.freeze({
  'http-proxy': peerVersion('http-proxy'),
  fastify: peerVersion('fastify'),
  '@fastify/reply-from': peerVersion('@fastify/reply-from'),
  undici: peerVersion('undici'),
  pino: peerVersion('pino'),
});

/**
 * A `switchyard serve` config file: one upstream `web` over `backends`,
 * round-robin or consistent hashing on the key header, the access log on or off (its buffer the
 * default unless `logBufferBytes` / `logFlushMs` are given). The features a
 * user would run with stay on: an active TCP health check every second and passive outlier
 * detection, on top of the request policy, X-Forwarded-* and retries the server always applies.
 * `health: false` drops the active check, to measure what it costs; `skipOnTraffic` turns on
 * the check's `skipOnTraffic` (busy backends skip checks their traffic made redundant).
 */
export function switchyardConfig({
  port,
  backends,
  selector,
  accessLog,
  health = true,
  skipOnTraffic = false,
  logBufferBytes,
  logFlushMs,
  adminPort,
}) {
  return {
    listen: `${HOST}:${port}`,
    upstreams: {
      web: {
        backends,
        selector:
          selector === 'consistent' ? { type: 'consistent', key: `header:${KEY_HEADER}` } : { type: 'round-robin' },
        ...(health ? { health: { type: 'tcp', intervalMs: 1000, ...(skipOnTraffic ? { skipOnTraffic } : {}) } } : {}),
        outlier: {},
      },
    },
    accessLog,
    ...(logBufferBytes === undefined ? {} : { logBufferBytes }),
    ...(logFlushMs === undefined ? {} : { logFlushMs }),
    ...(adminPort === undefined ? {} : { admin: { listen: `${HOST}:${adminPort}` } }),
  };
}

/** How often the "metrics on" target's /metrics is scraped, ms: Prometheus' usual fastest interval. */
const SCRAPE_EVERY_MS = 1000;

/**
 * Scrapes `http://HOST:port/metrics` every second until `child` exits, as a Prometheus would
 * (a scrape of a paused process times out and is skipped).
 */
function scrapeWhileRunning(child, port) {
  const timer = setInterval(() => {
    fetch(`http://${HOST}:${port}/metrics`, { signal: AbortSignal.timeout(SCRAPE_EVERY_MS - 100) })
      .then((res) => res.arrayBuffer())
      .catch(() => {});
  }, SCRAPE_EVERY_MS);
  timer.unref();
  void child.exitPromise.then(() => clearInterval(timer));
}

/**
 * Starts `switchyard serve` with a generated config. Its stdout (where the access log goes) is
 * a file in the run dir, so "access log on" costs a real file write per request.
 */
export async function startSwitchyard(
  run,
  name,
  {
    backends,
    selector = 'round-robin',
    accessLog = false,
    health = true,
    skipOnTraffic = false,
    logBufferBytes,
    logFlushMs,
    metrics = false,
    nodeArgs = [],
    workers = 1,
  },
) {
  if (!existsSync(SWITCHYARD_CLI)) throw new Error(`${SWITCHYARD_CLI} is missing: run \`npx tsc -b\` first`);
  const [port, adminPort] = await freePorts(2);
  const configFile = path.join(run.dir, `${name}.json`);
  const settings = { port, backends, selector, accessLog, health, skipOnTraffic, logBufferBytes, logFlushMs };
  if (metrics) settings.adminPort = adminPort;
  await writeFile(configFile, `${JSON.stringify(switchyardConfig(settings), null, 2)}\n`);
  const stdoutFile = path.join(run.dir, `${name}.stdout.log`);
  // The flags `switchyard serve` would relaunch itself with, given up front: the process started
  // here is then the one serving, and its CPU and RSS are what the tables report.
  const { SERVE_NODE_FLAGS } = await importProxy();
  const args = [...SERVE_NODE_FLAGS, ...nodeArgs, SWITCHYARD_CLI, 'serve', '--config', configFile];
  // With workers the process started here is the cluster primary; the workers are its children.
  if (workers > 1) args.push('--workers', String(workers));
  const child = startChild(name, process.execPath, args, {
    stdoutFile,
    stderrFile: path.join(run.dir, `${name}.stderr.log`),
    cwd: run.dir,
  });
  await waitForPort(port, { child });
  if (metrics) scrapeWhileRunning(child, adminPort);
  return { child, ports: { main: port }, stdoutFile, configFile };
}

async function startPeer(run, name, script, backends) {
  const [port] = await freePorts(1);
  const child = startChild(
    name,
    process.execPath,
    [
      ...(run.nodeArgs?.[name] ?? []),
      path.join(ROOT, 'bench/peers', script),
      '--port',
      String(port),
      '--upstreams',
      backends.join(','),
    ],
    { stdoutFile: path.join(run.dir, `${name}.stdout.log`), stderrFile: path.join(run.dir, `${name}.stderr.log`) },
  );
  await waitForPort(port, { child });
  return { child, ports: { main: port } };
}

/**
 * Shared upstreams on `count` ports: nginx when `kind` is 'nginx', else one Node process.
 * Resolves `{ child, ports: { main }, addresses }`.
 */
export async function startUpstreams(run, name, kind, count) {
  const ports = await freePorts(count);
  const addresses = ports.map((port) => `${HOST}:${port}`);
  let child;
  if (kind === 'nginx') {
    child = await startNginx(run.dir, name, await upstreamConfig(run.dir, name, ports), ports[0]);
  } else {
    child = startChild(
      name,
      process.execPath,
      [path.join(ROOT, 'bench/peers/node-upstream.mjs'), '--ports', ports.join(',')],
      { stdoutFile: path.join(run.dir, `${name}.stdout.log`), stderrFile: path.join(run.dir, `${name}.stderr.log`) },
    );
  }
  // Every port, not just the first: a half-started upstream would show up as proxy errors.
  for (const port of ports) await waitForPort(port, { child });
  return { child, ports: { main: ports[0] }, addresses };
}

/** A `switchyard serve` over the addresses of process `upstreams`, with these `startSwitchyard` settings. */
function switchyardOver(upstreams, settings = {}) {
  return {
    needs: [upstreams],
    start: (run, deps, id) =>
      startSwitchyard(run, id, {
        backends: deps[upstreams].addresses,
        nodeArgs: run.nodeArgs?.[id] ?? [],
        ...settings,
      }),
  };
}

/** nginx as a proxy over the addresses of process `upstreams`: round-robin on `main`, hashing on `keyed`. */
function nginxProxyOver(upstreams) {
  return {
    needs: [upstreams],
    async start(run, deps, id) {
      const [port, keyedPort] = await freePorts(2);
      const config = proxyConfig(run.dir, id, { port, keyedPort, upstreams: deps[upstreams].addresses });
      const child = await startNginx(run.dir, id, config, port);
      await waitForPort(keyedPort, { child });
      return { child, ports: { main: port, keyed: keyedPort } };
    },
  };
}

/** A peer script from bench/peers over the addresses of process `upstreams`. */
function peerOver(upstreams, script) {
  return {
    needs: [upstreams],
    start: (run, deps, id) => startPeer(run, id, script, deps[upstreams].addresses),
  };
}

/**
 * Process specs by id: `needs` lists processes that must run first, `start(run, deps, id)`
 * starts this one (its files are named after `id`). `run` carries `dir`, `upstreamKind`,
 * `backendsWide` and `nodeArgs` per id.
 */
export const PROCESSES = {
  upstreams: { needs: [], start: (run) => startUpstreams(run, 'upstreams', run.upstreamKind, 3) },
  // A reference, not a proxy: node:http serving the body itself, i.e. the inbound half of any
  // Node proxy built on node:http, with nothing behind it.
  'node-server': { needs: [], start: (run) => startUpstreams(run, 'node-server', 'node', 1) },
  'upstreams-wide': {
    needs: [],
    start: (run) => startUpstreams(run, 'upstreams-wide', run.upstreamKind, run.backendsWide),
  },
  'nginx-proxy': nginxProxyOver('upstreams'),
  'nginx-proxy-wide': nginxProxyOver('upstreams-wide'),
  switchyard: {
    needs: ['upstreams'],
    start: (run, deps) =>
      startSwitchyard(run, 'switchyard', {
        backends: deps.upstreams.addresses,
        nodeArgs: run.nodeArgs?.switchyard ?? [],
      }),
  },
  'switchyard-log': switchyardOver('upstreams', { accessLog: true }),
  'switchyard-log-turn': switchyardOver('upstreams', { accessLog: true, logBufferBytes: 0 }),
  'switchyard-log-buffered': switchyardOver('upstreams', { accessLog: true, logBufferBytes: 65_536, logFlushMs: 1000 }),
  // Admin listener on, /metrics scraped once a second during the run.
  'switchyard-metrics': switchyardOver('upstreams', { metrics: true }),
  'switchyard-keyed': switchyardOver('upstreams', { selector: 'consistent' }),
  'switchyard-wide': switchyardOver('upstreams-wide'),
  'switchyard-skip': switchyardOver('upstreams', { skipOnTraffic: true }),
  'switchyard-wide-skip': switchyardOver('upstreams-wide', { skipOnTraffic: true }),
  // A fresh process of its own for the RSS run, so earlier load does not count.
  'switchyard-rss': switchyardOver('upstreams'),
  floor: peerOver('upstreams', 'undici-floor.mjs'),
  'floor-wide': peerOver('upstreams-wide', 'undici-floor.mjs'),
  'http-proxy': peerOver('upstreams', 'http-proxy.mjs'),
  'reply-from': peerOver('upstreams', 'reply-from.mjs'),
};
