// HTTP/2 upstreams with prior knowledge (h2c), one node:http2 server per port, for the h2 runs.
// A gRPC call (content-type application/grpc) is answered as a unary gRPC server does: the
// request's one message echoed back, then trailers with grpc-status 0. Anything else gets the
// small fixed body every other upstream in the benchmark sends.
import http2 from 'node:http2';
import { parseArgs } from 'node:util';
import { SMALL_BODY, UPSTREAM_HEADER } from '../lib/bodies.mjs';
import { exitOnSignal } from './args.mjs';

const { values } = parseArgs({
  options: { ports: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const ports = (values.ports ?? '').split(',').map(Number);
if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p <= 0))
  throw new Error('--ports: expected p1,p2,…');

const servers = ports.map((port) => {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (String(headers['content-type'] ?? '').startsWith('application/grpc')) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        if (stream.destroyed) return;
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', [UPSTREAM_HEADER]: String(port) },
          { waitForTrailers: true },
        );
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat(chunks));
      });
      return;
    }
    stream.resume();
    stream.respond({ ':status': 200, 'content-type': 'text/plain', [UPSTREAM_HEADER]: String(port) });
    stream.end(SMALL_BODY);
  });
  server.listen(port, values.host);
  return server;
});

exitOnSignal(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));
