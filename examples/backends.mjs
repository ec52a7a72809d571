#!/usr/bin/env node
// Starts the loopback backends that the configs in this folder point at:
//   alpha 127.0.0.1:9001, bravo 127.0.0.1:9002, charlie 127.0.0.1:9003, standby 127.0.0.1:9004.
// Each answers every request with 200, its name in the body and in an `X-Served-By` header;
// `/healthz` is the health-check path the configs use. Ctrl-C (or SIGTERM) stops them.
//
//   node examples/backends.mjs                          # all four, on the ports the configs use
//   node examples/backends.mjs --only standby           # some of them
//   node examples/backends.mjs --ports 9101,9102,9103,9104   # other ports, one per backend
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const BACKENDS = { alpha: 9001, bravo: 9002, charlie: 9003, standby: 9004 };
const HOST = '127.0.0.1';
const USAGE = `Usage: node examples/backends.mjs [--only NAME,...] [--ports P1,P2,...]
  --only NAME,...    start only these (${Object.keys(BACKENDS).join(', ')})
  --ports P1,P2,...  listen on these ports instead, one per backend started, in order`;

function usageError(message) {
  process.stderr.write(`backends.mjs: ${message}\n${USAGE}\n`);
  process.exit(64);
}

function list(flag, text) {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) usageError(`${flag}: an empty item in ${JSON.stringify(text)}`);
  return items;
}

let values;
try {
  ({ values } = parseArgs({
    options: { only: { type: 'string' }, ports: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }));
} catch (err) {
  usageError(err instanceof Error ? err.message : String(err));
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const names = values.only === undefined ? Object.keys(BACKENDS) : list('--only', values.only);
for (const name of names) {
  if (!Object.hasOwn(BACKENDS, name)) usageError(`--only: unknown backend ${JSON.stringify(name)}`);
}
const ports =
  values.ports === undefined ? names.map((name) => BACKENDS[name]) : list('--ports', values.ports).map(Number);
if (ports.length !== names.length) usageError(`--ports: expected ${names.length} ports, got ${ports.length}`);
if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
  usageError(`--ports: expected ports from 1 to 65535, got ${JSON.stringify(values.ports)}`);
}

function listen(name, port) {
  const server = createServer((req, res) => {
    req.resume();
    const body = req.url === '/healthz' ? 'ok\n' : `hello from ${name} (${req.method} ${req.url})\n`;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-served-by': name });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`${name}: cannot listen on ${HOST}:${port}: ${err.message}`)));
    server.listen(port, HOST, () => resolve(server));
  });
}

const servers = [];
try {
  for (const [i, name] of names.entries()) servers.push(await listen(name, ports[i]));
} catch (err) {
  process.stderr.write(`backends.mjs: ${err.message}\n`);
  for (const server of servers) server.close();
  process.exit(1);
}
const started = names.map((name, i) => `${name} ${HOST}:${ports[i]}`).join(', ');
process.stdout.write(`Example backends listening: ${started}. Ctrl-C to stop.\n`);

function stop() {
  for (const server of servers) {
    server.close();
    server.closeAllConnections();
  }
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
