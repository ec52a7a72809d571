// nginx for the benchmark, from generated configs in the run's temp dir: as the shared upstreams
// (one server block listening on every upstream port) and as a reverse-proxy target. One worker,
// no daemon, every file (pid, logs, temp bodies) inside the temp dir.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BIG_PATH, BIG_SIZE, KEY_HEADER, SMALL_BODY, UPSTREAM_HEADER } from './bodies.mjs';
import { HOST, startChild, waitForPort } from './children.mjs';

/** Where Debian installs nginx; the benchmark uses nginx only when this exists. */
export const NGINX_PATH = '/usr/sbin/nginx';

/** True when nginx is installed. */
export function hasNginx() {
  return existsSync(NGINX_PATH);
}

function preamble(dir, name, { connections = 4096 } = {}) {
  const tmp = path.join(dir, `${name}-tmp`);
  return `daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile ${connections * 2 + 1024};
pid ${path.join(dir, `${name}.pid`)};
error_log ${path.join(dir, `${name}-error.log`)} warn;
events { worker_connections ${connections}; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 65s;
  default_type text/plain;
  # 64 KiB request bodies stay in memory (no temp files) in every nginx here.
  client_body_buffer_size 128k;
`;
}

// nginx string literal: backslashes and double quotes escaped, the newline written as \\n.
function nginxString(text) {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * Upstreams: one server block listening on every port. `/` answers SMALL_BODY; BIG_PATH answers
 * a BIG_SIZE file — also to POST, through `error_page 405 =200 $uri` (the static module refuses
 * POST; the internal redirect re-serves the file as GET after the request body was read).
 */
export async function upstreamConfig(dir, name, ports) {
  const www = path.join(dir, `${name}-www`);
  await mkdir(www, { recursive: true });
  await writeFile(path.join(www, BIG_PATH.slice(1)), Buffer.alloc(BIG_SIZE, 'y'));
  const listens = ports.map((port) => `    listen ${HOST}:${port};`).join('\n');
  return `${preamble(dir, name, { connections: Math.max(4096, ports.length * 4) })}
  server {
${listens}
    add_header ${UPSTREAM_HEADER} $server_port always;
    location = ${BIG_PATH} {
      root ${www};
      error_page 405 =200 $uri;
    }
    location / {
      return 200 ${nginxString(SMALL_BODY)};
    }
  }
}
`;
}

/**
 * nginx as a reverse proxy: round-robin on `port`, consistent hashing on the key header on
 * `keyedPort`, keep-alive to the upstreams, response buffering in memory.
 */
export function proxyConfig(dir, name, { port, keyedPort, upstreams }) {
  const servers = upstreams.map((address) => `    server ${address};`).join('\n');
  const location = (pool) => `    location / {
      proxy_pass http://${pool};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffer_size 16k;
      proxy_buffers 16 16k;
    }`;
  return `${preamble(dir, name)}
  upstream rr {
${servers}
    keepalive 64;
  }
  upstream keyed {
    hash $http_${KEY_HEADER.replace(/-/g, '_')} consistent;
${servers}
    keepalive 64;
  }
  server {
    listen ${HOST}:${port};
${location('rr')}
  }
  server {
    listen ${HOST}:${keyedPort};
${location('keyed')}
  }
}
`;
}

/** Writes `config` and starts nginx on it; resolves once `waitPort` accepts connections. */
export async function startNginx(dir, name, config, waitPort) {
  const file = path.join(dir, `${name}.conf`);
  await writeFile(file, config);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    await mkdir(path.join(dir, `${name}-tmp`, sub), { recursive: true });
  }
  const child = startChild(name, NGINX_PATH, ['-p', dir, '-c', file], {
    stdoutFile: path.join(dir, `${name}.stdout`),
    stderrFile: path.join(dir, `${name}-error.log`),
  });
  await waitForPort(waitPort, { child });
  return child;
}
