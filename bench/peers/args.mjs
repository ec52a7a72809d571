// Shared argument parsing for the peer processes: `--port N --upstreams host:port,host:port`.
import { parseArgs } from 'node:util';

/** `{ port, upstreams: ['127.0.0.1:9001', …] }` from a peer's argv; throws on missing values. */
export function peerArgs(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      upstreams: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`--port: expected a port number, got ${values.port}`);
  const upstreams = (values.upstreams ?? '').split(',').filter(Boolean);
  if (upstreams.length === 0) throw new Error('--upstreams: expected host:port[,host:port…]');
  return { port, host: values.host, upstreams };
}

/** Exits cleanly on SIGTERM/SIGINT after closing `server` (bounded: 2 s, then exit anyway). */
export function exitOnSignal(close) {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      setTimeout(() => process.exit(0), 2000).unref();
      Promise.resolve(close()).finally(() => process.exit(0));
    });
  }
}
