import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@switchyard/testkit';

/** A loopback HTTP server that answers every request with its own id (`host:port`, `[v6]:port`) in `x-backend`. */
export async function labelledServer(host: string): Promise<{ server: Server; id: string }> {
  const shown = host.includes(':') ? `[${host}]` : host;
  const server = createServer((_req, res) => {
    res.setHeader('x-backend', `${shown}:${(server.address() as { port: number }).port}`);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, id: `${shown}:${(server.address() as { port: number }).port}` };
}

/**
 * Debian's nginx, which a non-root user's PATH (without the sbin folders) does not find;
 * elsewhere whatever `nginx` PATH names. The test preflight has already checked it is installed.
 */
const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

/** A real nginx (single process, foreground) with the given `http {}` body, on loopback. */
export interface Nginx {
  readonly port: number;
  /** GET `path` through nginx; resolves with the `x-backend` that answered. */
  get(path: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startNginx(httpBody: (listen: string) => string): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-nginx-'));
  const port = await freePort();
  const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${httpBody(`127.0.0.1:${port}`)}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', `${dir}/error.log`], {
    stdio: 'ignore',
  });
  const get = (path: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const id = res.headers['x-backend'];
          if (typeof id === 'string') resolve(id);
          else reject(new Error(`nginx answered ${res.statusCode} without x-backend for ${path}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error('nginx request timed out')));
      req.on('error', reject);
      req.end();
    });
  // Wait (bounded: 50 × 100 ms) until nginx accepts connections.
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/__ready', agent: false, timeout: 500 }, (res) => {
          res.resume();
          resolve();
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end();
      });
      break;
    } catch (err) {
      if (attempt >= 50 || child.exitCode !== null) {
        let log = '';
        try {
          log = readFileSync(join(dir, 'error.log'), 'utf8');
        } catch {}
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`nginx did not start: ${String(err)}\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port,
    get,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
