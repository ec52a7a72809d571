// The HTTP/2 scenarios of the proxy benchmark, driven by h2load: the same three upstreams behind
// Switchyard (h2c in; HTTP/1.1 or h2c out), nginx (`listen … http2`; proxy_pass to HTTP/1.1,
// grpc_pass to h2c) and a minimal node:http2 proxy (the floor). Run with `--scenarios h2` or
// `--scenarios grpc`; they are not part of the default set (the JSON/SVG figures stay HTTP/1.1).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, freePorts, HOST, signalAll, startChild, stopChild, waitForPort } from './children.mjs';
import { importProxy, switchyardBin } from './deps.mjs';
import { NGINX_PATH } from './nginx.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where Debian's nghttp2-client installs h2load. */
export const H2LOAD_PATH = '/usr/bin/h2load';
/** 64 concurrent streams over 4 connections. */
const CONNECTIONS = 4;
const STREAMS_PER_CONNECTION = 16;
export const H2_SCENARIO_IDS = Object.freeze(['h2', 'grpc']);

/** One gRPC unary request message (JSON in gRPC's length-prefixed framing), as h2load sends it. */
function grpcBody() {
  const message = Buffer.from(JSON.stringify({ text: 'switchyard benchmark' }));
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function nginxConfig(dir, name, listenPort, h1Ports, h2Ports) {
  const tmp = path.join(dir, `${name}-tmp`);
  const servers = (ports) => ports.map((p) => `    server ${HOST}:${p};`).join('\n');
  return `daemon off;
master_process on;
worker_processes 1;
pid ${path.join(dir, `${name}.pid`)};
error_log ${path.join(dir, `${name}-error.log`)} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  keepalive_requests 10000000;
  upstream h1 {
${servers(h1Ports)}
    keepalive 64;
  }
  upstream grpc {
${servers(h2Ports)}
    keepalive 64;
  }
  server {
    listen ${HOST}:${listenPort} http2;
    location / {
      proxy_pass http://h1;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /switchyard.test.Echo/ {
      grpc_pass grpc://grpc;
    }
  }
}
`;
}

async function startSwitchyard(run, name, backends, alpn) {
  const [port] = await freePorts(1);
  const configFile = path.join(run.dir, `${name}.json`);
  const config = {
    listen: `${HOST}:${port}`,
    server: { h2c: true },
    accessLog: false,
    upstreams: {
      web: {
        backends,
        selector: { type: 'round-robin' },
        ...(alpn === 'h2' ? { peer: { alpn: 'h2' } } : {}),
        health: { type: 'tcp', intervalMs: 1000 },
      },
    },
  };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const { SERVE_NODE_FLAGS } = await importProxy();
  const child = startChild(
    name,
    process.execPath,
    [...SERVE_NODE_FLAGS, switchyardBin(), 'serve', '--config', configFile],
    {
      stderrFile: path.join(run.dir, `${name}.stderr.log`),
      cwd: run.dir,
    },
  );
  await waitForPort(port, { child });
  return { child, port };
}

async function startPeer(run, name, script, args) {
  const [port] = await freePorts(1);
  const child = startChild(
    name,
    process.execPath,
    [path.join(ROOT, 'bench/peers', script), '--port', String(port), ...args],
    {
      stderrFile: path.join(run.dir, `${name}.stderr.log`),
    },
  );
  await waitForPort(port, { child });
  return { child, port };
}

/** Runs h2load for `durationS` against `port`; resolves `{ rps, requests, failed, non2xx }`. */
function h2load(port, { durationS, grpc, bodyFile }) {
  const url = `http://${HOST}:${port}${grpc ? '/switchyard.test.Echo/Unary' : '/'}`;
  const args = ['-c', String(CONNECTIONS), '-m', String(STREAMS_PER_CONNECTION), '-t', '1', '-D', String(durationS)];
  if (grpc) args.push('-d', bodyFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers');
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(H2LOAD_PATH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.once('error', reject);
    child.once('exit', () => {
      const rps = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(out);
      const reqs = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(out);
      const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
      if (rps === null || reqs === null || codes === null) {
        reject(new Error(`h2load output not understood:\n${out}`));
        return;
      }
      const non2xx = Number(codes[2]) + Number(codes[3]) + Number(codes[4]);
      resolve({ rps: Number(rps[1]), requests: Number(reqs[2]), failed: Number(reqs[4]), non2xx });
    });
  });
}

/**
 * Runs the HTTP/2 scenarios asked for (`ids`, a subset of H2_SCENARIO_IDS): starts the upstreams
 * and targets, measures each target `rounds` times for `durationS` (order rotated per round, the
 * other targets paused), and resolves one `{ id, title, rows }` per scenario, rows carrying median
 * req/s, CPU µs per request and the ratio to the node:http2 floor.
 */
export async function runH2Scenarios(run, opts, ids, log) {
  if (!existsSync(H2LOAD_PATH)) throw new Error(`${H2LOAD_PATH} is missing: apt-get install nghttp2-client`);
  const started = [];
  const stopAllStarted = () => Promise.all(started.map((c) => stopChild(c)));
  try {
    const h1Ports = await freePorts(3);
    const h2Ports = await freePorts(3);
    const h1Up = startChild(
      'h2-h1-upstreams',
      process.execPath,
      [path.join(ROOT, 'bench/peers/node-upstream.mjs'), '--ports', h1Ports.join(',')],
      {
        stderrFile: path.join(run.dir, 'h2-h1-upstreams.stderr.log'),
      },
    );
    const h2Up = startChild(
      'h2-upstreams',
      process.execPath,
      [path.join(ROOT, 'bench/peers/h2-upstream.mjs'), '--ports', h2Ports.join(',')],
      {
        stderrFile: path.join(run.dir, 'h2-upstreams.stderr.log'),
      },
    );
    started.push(h1Up, h2Up);
    await Promise.all([
      ...h1Ports.map((p) => waitForPort(p, { child: h1Up })),
      ...h2Ports.map((p) => waitForPort(p, { child: h2Up })),
    ]);
    const h1 = h1Ports.map((p) => `${HOST}:${p}`);
    const h2 = h2Ports.map((p) => `${HOST}:${p}`);
    const bodyFile = path.join(run.dir, 'grpc-unary.bin');
    await writeFile(bodyFile, grpcBody());

    const targets = new Map();
    const add = async (id, label, start) => {
      const t = await start();
      started.push(t.child);
      targets.set(id, { id, label, ...t });
    };
    const wantH2 = ids.includes('h2');
    const wantGrpc = ids.includes('grpc');
    if (wantH2) {
      await add('switchyard-h2-h1', 'Switchyard, h2c in, HTTP/1.1 out', () =>
        startSwitchyard(run, 'sy-h2-h1', h1, 'h1'),
      );
      await add('floor-h2-h1', 'node:http2 floor, h2c in, undici HTTP/1.1 out', () =>
        startPeer(run, 'floor-h2-h1', 'h2-floor.mjs', ['--upstreams', h1.join(','), '--mode', 'h1']),
      );
    }
    await add('switchyard-h2c', 'Switchyard, h2c in, h2c out', () => startSwitchyard(run, 'sy-h2c', h2, 'h2'));
    await add('floor-h2c', 'node:http2 floor, h2c in, h2c out', () =>
      startPeer(run, 'floor-h2c', 'h2-floor.mjs', ['--upstreams', h2.join(','), '--mode', 'h2']),
    );
    if (existsSync(NGINX_PATH)) {
      const [port] = await freePorts(1);
      const conf = path.join(run.dir, 'nginx-h2.conf');
      await mkdir(path.join(run.dir, 'nginx-h2-tmp'), { recursive: true });
      await writeFile(conf, nginxConfig(run.dir, 'nginx-h2', port, h1Ports, h2Ports));
      const child = startChild('nginx-h2', NGINX_PATH, ['-c', conf, '-e', path.join(run.dir, 'nginx-h2-error.log')], {
        stderrFile: path.join(run.dir, 'nginx-h2.stderr.log'),
      });
      started.push(child);
      await waitForPort(port, { child });
      targets.set('nginx-h2', {
        id: 'nginx-h2',
        label: 'nginx 1 worker, http2 listener (proxy_pass / grpc_pass)',
        child,
        port,
      });
    }

    const scenarios = [];
    if (wantH2) {
      scenarios.push({
        id: 'h2',
        title: `HTTP/2: GET /, ${CONNECTIONS * STREAMS_PER_CONNECTION} streams over ${CONNECTIONS} connections (h2load)`,
        grpc: false,
        floorFor: { 'switchyard-h2-h1': 'floor-h2-h1', 'nginx-h2': 'floor-h2-h1', 'switchyard-h2c': 'floor-h2c' },
        ids: ['switchyard-h2-h1', 'floor-h2-h1', 'nginx-h2', 'switchyard-h2c', 'floor-h2c'],
      });
    }
    if (wantGrpc) {
      scenarios.push({
        id: 'grpc',
        title: `gRPC unary calls, ${CONNECTIONS * STREAMS_PER_CONNECTION} streams over ${CONNECTIONS} connections (h2load)`,
        grpc: true,
        floorFor: { 'switchyard-h2c': 'floor-h2c', 'nginx-h2': 'floor-h2c' },
        ids: ['switchyard-h2c', 'floor-h2c', 'nginx-h2'],
      });
    }
    const results = [];
    for (const scenario of scenarios) {
      log(`\n== ${scenario.title}`);
      const list = scenario.ids.map((id) => targets.get(id)).filter(Boolean);
      const chosen = opts.targets ? list.filter((t) => opts.targets.includes(t.id)) : list;
      const runs = new Map(chosen.map((t) => [t.id, []]));
      const pids = chosen.map((t) => t.child.proc.pid);
      for (let r = 0; r < opts.rounds; r++) {
        for (let i = 0; i < chosen.length; i++) {
          const target = chosen[(i + r) % chosen.length];
          const pid = target.child.proc.pid;
          signalAll(
            pids.filter((p) => p !== pid),
            'SIGSTOP',
          );
          try {
            await h2load(target.port, { durationS: 1, grpc: scenario.grpc, bodyFile });
            const before = await cpuSeconds(pid);
            const result = await h2load(target.port, { durationS: opts.durationS, grpc: scenario.grpc, bodyFile });
            const cpuUs = result.requests ? (((await cpuSeconds(pid)) - before) * 1e6) / result.requests : null;
            runs.get(target.id).push({ ...result, cpuUs });
            const bad = result.failed + result.non2xx ? `  FAILED ${result.failed} non-2xx ${result.non2xx}` : '';
            log(
              `   round ${r + 1}/${opts.rounds}  ${target.id.padEnd(18)} ${Math.round(result.rps).toLocaleString('en').padStart(8)} req/s${bad}`,
            );
          } finally {
            signalAll(
              pids.filter((p) => p !== pid),
              'SIGCONT',
            );
          }
        }
      }
      const median = (xs) => {
        const s = [...xs].sort((a, b) => a - b);
        return s.length === 0 ? null : s[Math.floor(s.length / 2)];
      };
      const rows = chosen.map((t) => ({
        id: t.id,
        label: t.label,
        rps: median(runs.get(t.id).map((x) => x.rps)),
        cpuUsPerRequest: median(runs.get(t.id).map((x) => x.cpuUs ?? 0)),
        errors: runs.get(t.id).reduce((n, x) => n + x.failed + x.non2xx, 0),
      }));
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (const row of rows) {
        const floor = byId.get(scenario.floorFor[row.id]);
        row.vsFloor = floor?.rps ? row.rps / floor.rps : null;
      }
      for (const row of rows) {
        const ratio = row.vsFloor === null ? '' : `  ${row.vsFloor.toFixed(2)}x floor`;
        log(
          `   ${row.label.padEnd(58)} ${Math.round(row.rps).toLocaleString('en').padStart(8)} req/s  ${row.cpuUsPerRequest?.toFixed(0)} µs CPU/req${ratio}`,
        );
      }
      results.push({ id: scenario.id, title: scenario.title, rows });
    }
    return results;
  } finally {
    await stopAllStarted();
  }
}
