// nginx for the benchmark, from generated configs in the run's temp dir: as the shared upstreams
// (one server block listening on every upstream port) and as a reverse-proxy target. One worker,
// no daemon, every file (pid, logs, temp bodies) inside the temp dir.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BIG_PATH,
  BIG_SIZE,
  DOWNLOAD_PATH,
  HUGE_BODY,
  KEY_HEADER,
  SMALL_BODY,
  UPLOAD_PATH,
  UPSTREAM_HEADER,
} from './bodies.mjs';
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
  # Request bodies up to 1 MiB (the upload run) stay in memory (no temp files) in every nginx here.
  client_max_body_size 2m;
  client_body_buffer_size 2m;
`;
}

// nginx string literal: backslashes and double quotes escaped, the newline written as \\n.
function nginxString(text) {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

// The large body as a variable, 64 copies of a 1 KiB piece (config tokens are limited to a few KiB).
function bigBodyVariables() {
  const piece = 1024;
  if (BIG_SIZE % piece !== 0) throw new Error(`BIG_SIZE ${BIG_SIZE} is not a multiple of ${piece}`);
  const copies = '$big_piece'.repeat(BIG_SIZE / piece);
  return `      set $big_piece "${'y'.repeat(piece)}";\n      set $big_body "${copies}";`;
}

/**
 * Upstreams: one server block listening on every port. `/` answers SMALL_BODY; BIG_PATH answers
 * BIG_SIZE bytes of 'y' to any method, only after reading the whole request body, with
 * keep-alive. nginx's `return` answers before it has read a request body (the rest is discarded
 * afterwards), which no application does and which makes careful proxies close the downstream
 * connection; so BIG_PATH goes through nginx's proxy module, which reads the body first, to an
 * internal server on a unix socket that answers it. UPLOAD_PATH is answered the same way, with
 * SMALL_BODY; DOWNLOAD_PATH is a 1 MiB static file (HUGE_BODY).
 */
export async function upstreamConfig(dir, name, ports) {
  const listens = ports.map((port) => `    listen ${HOST}:${port};`).join('\n');
  const socket = path.join(dir, `${name}-big.sock`);
  const download = path.join(dir, `${name}-download.bin`);
  await writeFile(download, HUGE_BODY);
  const viaBody = `      proxy_pass http://big_body;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffer_size 16k;
      proxy_buffers 16 16k;`;
  // Every target's pools keep their connections to these ports alive for 65 s, and each 64 KiB or
  // 1 MiB request in flight holds three (client, proxy module, internal server): room for all.
  return `${preamble(dir, name, { connections: Math.max(16_384, ports.length * 4) })}
  upstream big_body {
    server unix:${socket};
    keepalive 16;
  }
  server {
    listen unix:${socket};
    location = ${UPLOAD_PATH} {
      return 200 ${nginxString(SMALL_BODY)};
    }
    location / {
${bigBodyVariables()}
      return 200 $big_body;
    }
  }
  server {
${listens}
    add_header ${UPSTREAM_HEADER} $server_port always;
    location = ${BIG_PATH} {
${viaBody}
    }
    location = ${UPLOAD_PATH} {
${viaBody}
    }
    location = ${DOWNLOAD_PATH} {
      alias ${download};
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
 * `keyedPort`, keep-alive to the upstreams, response buffering in memory. `keepalive` (idle
 * upstream connections nginx caches per worker, across the whole upstream group) is at least
 * one per upstream, so with many upstreams nginx keeps a connection to each, as the Node
 * proxies do.
 */
export function proxyConfig(dir, name, { port, keyedPort, upstreams }) {
  const keepalive = Math.max(64, upstreams.length);
  const servers = upstreams.map((address) => `    server ${address};`).join('\n');
  const location = (pool) => `    location / {
      proxy_pass http://${pool};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffer_size 16k;
      proxy_buffers 16 16k;
      # A 1 MiB response streams through the buffers instead of spilling to a temp file.
      proxy_max_temp_file_size 0;
    }`;
  return `${preamble(dir, name)}
  upstream rr {
${servers}
    keepalive ${keepalive};
  }
  upstream keyed {
    hash $http_${KEY_HEADER.replace(/-/g, '_')} consistent;
${servers}
    keepalive ${keepalive};
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
