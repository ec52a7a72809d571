// Upstreams in one Node process when nginx is not installed: one node:http server per port, each
// answering the same fixed body (64 KiB on BIG_PATH, 1 MiB on DOWNLOAD_PATH), always after reading
// the whole request body (UPLOAD_PATH gets the small body), and naming
// its port in `x-upstream`. One process serves any number of ports (the 1,000-backend run).
import http from 'node:http';
import { parseArgs } from 'node:util';
import { BIG_BODY, BIG_PATH, DOWNLOAD_PATH, HUGE_BODY, SMALL_BODY, UPSTREAM_HEADER } from '../lib/bodies.mjs';

const { values } = parseArgs({
  options: { ports: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const ports = (values.ports ?? '').split(',').filter(Boolean).map(Number);
if (ports.length === 0 || ports.some((port) => !Number.isInteger(port) || port <= 0)) {
  throw new Error(`--ports: expected a comma-separated list of ports, got ${values.ports}`);
}
const small = Buffer.from(SMALL_BODY);

function serve(port) {
  const server = http.createServer((req, res) => {
    const body = req.url === BIG_PATH ? BIG_BODY : req.url === DOWNLOAD_PATH ? HUGE_BODY : small;
    const headers = { 'content-type': 'text/plain', 'content-length': body.length, [UPSTREAM_HEADER]: String(port) };
    // Answer only after the whole request body has arrived, as nginx does.
    req.on('end', () => {
      res.writeHead(200, headers);
      res.end(body);
    });
    req.resume();
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, values.host, () => resolve(server));
  });
}

const servers = await Promise.all(ports.map(serve));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    setTimeout(() => process.exit(0), 2000).unref();
    for (const server of servers) server.closeAllConnections();
    Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))).finally(() =>
      process.exit(0),
    );
  });
}
