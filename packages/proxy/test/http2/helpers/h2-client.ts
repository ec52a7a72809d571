import { type ClientHttp2Session, connect, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';

/** One HTTP/2 exchange as the client saw it. */
export interface H2Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: IncomingHttpHeaders | undefined;
}

/** Opens an HTTP/2 session to `url` (`http:` is h2c with prior knowledge), closed by the caller. */
export async function h2Connect(url: string, ca?: string | Buffer): Promise<ClientHttp2Session> {
  const session = connect(url, ca === undefined ? {} : { ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

/** Sends one request on `session` and collects the whole response. */
export function h2Request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: Buffer | string,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    let head: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('close', () => {
      if (head[':status'] === undefined) reject(new Error(`stream closed with code ${stream.rstCode}`));
      else resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks), trailers });
    });
  });
}

/** Closes `session` and waits until it is gone. */
export function h2Close(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    if (session.closed || session.destroyed) resolve();
    else session.close(() => resolve());
  });
}
