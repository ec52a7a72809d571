import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type Backend, backend } from '@switchyard/core';
import { close, listen } from '@switchyard/testkit';

/** What a {@link RecordingServer} saw of one connection. */
export interface SeenConnection {
  /** The client's source address. */
  readonly remoteAddress: string | undefined;
  /** The SNI the client sent; `false` (or `null`) when it sent none; `undefined` on plain HTTP. */
  readonly servername: string | false | null | undefined;
  /** Common name of the client certificate presented, if any. */
  readonly clientCn: string | undefined;
}

/** A real HTTP(S) server on 127.0.0.1 that answers 200 and records every connection. */
export interface RecordingServer {
  readonly port: number;
  readonly backend: Backend;
  readonly seen: SeenConnection[];
  close(): Promise<void>;
}

/** Starts a {@link RecordingServer}: HTTPS with `tls` (node:https server options), else HTTP. */
export async function startRecordingServer(tls?: ServerOptions): Promise<RecordingServer> {
  const seen: SeenConnection[] = [];
  const handler = (_req: IncomingMessage, res: ServerResponse): void => {
    res.end('ok');
  };
  const server: Server = tls === undefined ? createHttpServer(handler) : createHttpsServer(tls, handler);
  if (tls === undefined) {
    server.on('connection', (socket: Socket) =>
      seen.push({ remoteAddress: socket.remoteAddress, servername: undefined, clientCn: undefined }),
    );
  } else {
    server.on('secureConnection', (socket: TLSSocket) => {
      const cn = socket.getPeerCertificate().subject?.CN;
      seen.push({
        remoteAddress: socket.remoteAddress,
        servername: socket.servername,
        clientCn: typeof cn === 'string' ? cn : undefined,
      });
    });
  }
  const port = await listen(server);
  return { port, backend: backend(`127.0.0.1:${port}`), seen, close: () => close(server) };
}
