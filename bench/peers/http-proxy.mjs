// node-http-proxy as a user would run it for this job: round-robin over the upstreams with a
// keep-alive agent (without one, every request opens a new upstream connection).
import http from 'node:http';
import { requireFromProxy } from '../lib/deps.mjs';
import { exitOnSignal, peerArgs } from './args.mjs';

const httpProxy = requireFromProxy('http-proxy');
const { port, host, upstreams } = peerArgs();
const targets = upstreams.map((address) => `http://${address}`);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
proxy.on('error', (_error, _req, res) => {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'content-type': 'text/plain' });
  res.end('bad gateway\n');
});

let next = 0;
const server = http.createServer((req, res) => {
  const target = targets[next];
  next = (next + 1) % targets.length;
  proxy.web(req, res, { target });
});
server.keepAliveTimeout = 65_000;
server.listen(port, host);
exitOnSignal(() => {
  server.close();
  agent.destroy();
});
