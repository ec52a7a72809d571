import { createServer, type Server as NetServer, type Socket } from 'node:net';
import {
  type ConnectionInjector,
  Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatusMap } from 'grpc-health-check';
import { ECHO_SERVICE, type EchoReply, type EchoRequest } from './grpc-echo.js';
import type { LoopbackBackend } from './loopback-backend.js';
import { close, hostPort, listen } from './net.js';
import type { CertKey } from './pki.js';

/** One call a {@link GrpcBackend} received. */
export interface GrpcCallSeen {
  /** `unary`, `serverStream`, `clientStream` or `bidi`. */
  readonly method: string;
  /** The deadline the call arrived with (from `grpc-timeout`), `Infinity` when none. */
  readonly deadline: number;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Becomes true when the client (or a proxy for it) cancelled the call. */
  cancelled: boolean;
  /** Becomes true when the server finished the call itself. */
  finished: boolean;
  /** `serverStream`: writes that found the stream full (the client, or a proxy, applied backpressure). */
  blocked: number;
}

/** A real gRPC server (`@grpc/grpc-js`, h2c) on loopback with the test Echo service and grpc.health.v1. */
export interface GrpcBackend extends LoopbackBackend {
  /** The standard health service; `setStatus('', 'NOT_SERVING')` marks the whole server. */
  readonly health: HealthImplementation;
  /** Every Echo call received, in order (health calls are not counted). */
  readonly calls: readonly GrpcCallSeen[];
}

/** Options of {@link startGrpcBackend}. */
export interface GrpcBackendOptions {
  /** Reported in every reply and in the `x-backend` response metadata. @defaultValue 'grpc' */
  readonly name?: string;
  /** @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** The health service's initial statuses. @defaultValue { '': 'SERVING' } */
  readonly health?: ServingStatusMap;
  /** Serve over TLS (h2, ALPN) with this certificate instead of h2c. @defaultValue undefined (h2c) */
  readonly tls?: CertKey;
}

function reply(name: string, request: EchoRequest, index: number): EchoReply {
  return { backend: name, text: request.text ?? '', index, size: request.size ?? 0 };
}

/**
 * Starts a gRPC backend: `@grpc/grpc-js` serving {@link ECHO_SERVICE} and `grpc.health.v1.Health`
 * on a loopback port (h2c, or h2 over TLS with `tls`), fed by a `net.Server` of its own so connections can be counted and
 * killed. `stop()` destroys every connection at once (calls in flight end abruptly, as when a
 * process dies); `restart()` serves again on the same port.
 *
 * Echo methods: `unary` answers one reply; `serverStream` sends `count` replies `delayMs` apart
 * (default 1 reply, no delay; each carries the request's `pad`), honouring backpressure; `clientStream` answers once the client
 * ends, with `index` = messages received and `size` = the sum of their `size`; `bidi` answers each
 * message as it comes and ends when the client does. A request with `fail` ends the call with
 * that gRPC status instead.
 */
export async function startGrpcBackend(options: GrpcBackendOptions = {}): Promise<GrpcBackend> {
  const name = options.name ?? 'grpc';
  const host = options.host ?? '127.0.0.1';
  const health = new HealthImplementation(options.health ?? { '': 'SERVING' });
  const calls: GrpcCallSeen[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;

  const seen = (method: string, call: { getDeadline(): Date | number; metadata: Metadata }): GrpcCallSeen => {
    const d = call.getDeadline();
    const record: GrpcCallSeen = {
      method,
      deadline: d instanceof Date ? d.getTime() : d,
      metadata: call.metadata.getMap(),
      cancelled: false,
      finished: false,
      blocked: 0,
    };
    calls.push(record);
    return record;
  };
  const head = (): Metadata => {
    const m = new Metadata();
    m.set('x-backend', name);
    return m;
  };
  const failure = (request: EchoRequest) =>
    request.fail === undefined ? undefined : { code: request.fail, details: `failed by request at ${name}` };

  const grpc = new Server();
  health.addToServer(grpc);
  grpc.addService(ECHO_SERVICE, {
    unary: (call: ServerUnaryCall<EchoRequest, EchoReply>, done: sendUnaryData<EchoReply>) => {
      const record = seen('unary', call);
      call.sendMetadata(head());
      const fail = failure(call.request);
      const finish = () => {
        record.finished = true;
        if (fail !== undefined) done(fail);
        else done(null, reply(name, call.request, 0));
      };
      if ((call.request.delayMs ?? 0) > 0) {
        const timer = setTimeout(finish, call.request.delayMs);
        call.on('cancelled', () => {
          record.cancelled = true;
          clearTimeout(timer);
        });
      } else finish();
    },
    serverStream: (call: ServerWritableStream<EchoRequest, EchoReply>) => {
      const record = seen('serverStream', call);
      call.sendMetadata(head());
      call.on('cancelled', () => {
        record.cancelled = true;
      });
      const count = call.request.count ?? 1;
      const delay = call.request.delayMs ?? 0;
      let index = 0;
      const next = (): void => {
        if (record.cancelled) return;
        if (index >= count) {
          record.finished = true;
          const fail = failure(call.request);
          if (fail === undefined) call.end();
          else call.destroy(Object.assign(new Error(fail.details), fail));
          return;
        }
        const ok = call.write({ ...reply(name, call.request, index++), pad: call.request.pad });
        if (!ok) record.blocked++;
        if (delay > 0) setTimeout(next, delay);
        else if (ok) setImmediate(next);
        else call.once('drain', next);
      };
      next();
    },
    clientStream: (call: ServerReadableStream<EchoRequest, EchoReply>, done: sendUnaryData<EchoReply>) => {
      const record = seen('clientStream', call);
      call.sendMetadata(head());
      let count = 0;
      let size = 0;
      let text = '';
      call.on('data', (m: EchoRequest) => {
        count++;
        size += m.size ?? 0;
        text = m.text ?? text;
      });
      call.on('cancelled', () => {
        record.cancelled = true;
      });
      call.on('end', () => {
        record.finished = true;
        done(null, { backend: name, text, index: count, size });
      });
    },
    bidi: (call: ServerDuplexStream<EchoRequest, EchoReply>) => {
      const record = seen('bidi', call);
      call.sendMetadata(head());
      let index = 0;
      call.on('data', (m: EchoRequest) => {
        call.write(reply(name, m, index++));
      });
      call.on('cancelled', () => {
        record.cancelled = true;
      });
      call.on('end', () => {
        record.finished = true;
        call.end();
      });
    },
  });

  const credentials = (): ServerCredentials =>
    options.tls === undefined
      ? ServerCredentials.createInsecure()
      : ServerCredentials.createSsl(
          null,
          [{ cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) }],
          false,
        );
  let injector: ConnectionInjector = grpc.createConnectionInjector(credentials());
  const server: NetServer = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    injector.injectConnection(socket);
  });
  const port = await listen(server, host);
  let listening = true;

  return {
    name,
    host,
    port,
    id: hostPort(host, port),
    health,
    calls,
    traffic: () => calls.length,
    get connections() {
      return connections;
    },
    sockets,
    stop: async () => {
      if (!listening) return;
      listening = false;
      injector.destroy();
      for (const socket of sockets) socket.destroy();
      await close(server);
    },
    restart: async () => {
      if (listening) return;
      injector = grpc.createConnectionInjector(credentials());
      await listen(server, host, port);
      listening = true;
    },
  };
}
