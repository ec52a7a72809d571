// The floor: the least a Node reverse proxy on undici can do. node:http in, one undici.Pool per
// upstream out, round-robin, keep-alive, hop-by-hop headers dropped — and nothing else: no header
// policy, no X-Forwarded-*, no retries, no health, no logging. Switchyard's features are measured
// as their cost over this.
import http from 'node:http';
import { requireFromProxy } from '../lib/deps.mjs';
import { exitOnSignal, peerArgs } from './args.mjs';

const { Pool } = requireFromProxy('undici');
const { port, host, upstreams } = peerArgs();
const pools = upstreams.map((address) => new Pool(`http://${address}`));

// RFC 9110 §7.6.1 connection-specific fields; undici refuses some of them outright.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function forwardHeaders(headers) {
  const out = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  return out;
}

let next = 0;
const server = http.createServer((req, res) => {
  const pool = pools[next];
  next = (next + 1) % pools.length;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.stream(
    { method: req.method, path: req.url, headers: forwardHeaders(req.headers), body: hasBody ? req : null },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, forwardHeaders(headers));
      return res;
    },
    (error) => {
      if (!error) return;
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway\n');
      } else {
        res.destroy(error);
      }
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(port, host);
exitOnSignal(async () => {
  server.close();
  await Promise.all(pools.map((pool) => pool.close()));
});
