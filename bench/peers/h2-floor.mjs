// The HTTP/2 floor: the least a Node HTTP/2 reverse proxy can do. node:http2 in (h2c), round-robin,
// out over HTTP/2 (`--mode h2`: one h2c session per upstream, trailers relayed) or HTTP/1.1
// (`--mode h1`: one undici.Pool per upstream) — and nothing else: no header policy, no retries, no
// health, no logging. Switchyard's HTTP/2 path is measured as its cost over this.
import http2 from 'node:http2';
import { parseArgs } from 'node:util';
import { requireFromProxy } from '../lib/deps.mjs';
import { exitOnSignal } from './args.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    upstreams: { type: 'string' },
    mode: { type: 'string', default: 'h2' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const port = Number(values.port);
const upstreams = (values.upstreams ?? '').split(',').filter(Boolean);
if (!Number.isInteger(port) || upstreams.length === 0) throw new Error('usage: --port N --upstreams a,b --mode h1|h2');
const { HTTP2_HEADER_STATUS } = http2.constants;

// Fields a hop may not forward (RFC 9113 §8.2.2), and the pseudo-header fields rebuilt per hop.
const DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);
function forward(headers, keepPseudo) {
  const out = {};
  for (const name in headers) {
    if (DROP.has(name) || (!keepPseudo && name.startsWith(':'))) continue;
    out[name] = headers[name];
  }
  return out;
}

let next = 0;
const pick = () => {
  const i = next;
  next = (next + 1) % upstreams.length;
  return i;
};

function viaH2() {
  const sessions = upstreams.map(() => undefined);
  const session = (i) => {
    let s = sessions[i];
    if (s === undefined || s.closed || s.destroyed) {
      s = http2.connect(`http://${upstreams[i]}`);
      s.on('error', () => undefined);
      sessions[i] = s;
    }
    return s;
  };
  return (stream, headers) => {
    const out = session(pick()).request(forward(headers, true), { endStream: stream.readableEnded });
    out.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('error', () => out.close(http2.constants.NGHTTP2_CANCEL));
    stream.pipe(out);
    let trailers;
    out.on('trailers', (t) => {
      trailers = t;
    });
    out.on('response', (h) => {
      // The client may have gone (h2load closes its connections at the end of a run).
      if (stream.destroyed || stream.closed) {
        out.close(http2.constants.NGHTTP2_CANCEL);
        return;
      }
      // Only a gRPC answer is known to end with trailers; anything else ends with its last DATA frame.
      const grpc = String(h['content-type'] ?? '').startsWith('application/grpc');
      stream.respond(
        { ...forward(h, false), [HTTP2_HEADER_STATUS]: h[HTTP2_HEADER_STATUS] },
        { waitForTrailers: grpc },
      );
      if (grpc) stream.once('wantTrailers', () => stream.sendTrailers(trailers ?? { 'grpc-status': '2' }));
      out.pipe(stream);
    });
  };
}

function viaH1() {
  const { Pool } = requireFromProxy('undici');
  const pools = upstreams.map((address) => new Pool(`http://${address}`));
  return (stream, headers) => {
    const method = headers[':method'];
    const hasBody = !stream.readableEnded && method !== 'GET' && method !== 'HEAD';
    const h1 = forward(headers, false);
    delete h1.te;
    h1.host = headers[':authority'];
    pools[pick()].stream(
      { method, path: headers[':path'], headers: h1, body: hasBody ? stream : null },
      ({ statusCode, headers: got }) => {
        if (stream.destroyed || stream.closed) throw new Error('client gone');
        const h = {};
        for (const name in got) if (!DROP.has(name) && name !== 'te' && name !== 'trailer') h[name] = got[name];
        stream.respond({ ...h, [HTTP2_HEADER_STATUS]: statusCode });
        return stream;
      },
      (err) => {
        if (err && !stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      },
    );
  };
}

const handle = values.mode === 'h1' ? viaH1() : viaH2();
const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on('stream', (stream, headers) => {
  stream.on('error', () => undefined);
  handle(stream, headers);
});
server.listen(port, values.host);
exitOnSignal(() => new Promise((resolve) => server.close(resolve)));
