import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import {
  type ConnectionOptions,
  checkServerIdentity,
  createSecureContext,
  type PeerCertificate,
  rootCertificates,
  type SecureContext,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import { type HttpPeer, LbError } from '@switchyard/core';

/** What undici hands a custom connector. */
type ConnectCallback = (err: Error | null, socket: Socket | null) => void;
/** undici's `connect` option signature. */
export type Connector = (opts: unknown, callback: ConnectCallback) => void;

/** The CONNECT proxy of a peer, parsed once per pool. */
interface ProxyTarget {
  readonly https: boolean;
  readonly host: string;
  readonly port: number;
  /** Headers of the CONNECT request (Proxy-Authorization from the URI's userinfo included). */
  readonly headers: Record<string, string>;
  /** `host:port` of the proxy, for error messages (never the userinfo). */
  readonly label: string;
}

const ALPN: Record<HttpPeer['options']['alpn'], string[]> = {
  h1: ['http/1.1'],
  h2: ['h2'],
  h2h1: ['h2', 'http/1.1'],
};

/**
 * Builds undici's `connect` function for one pool: TCP (optionally bound to `bindTo`, with
 * keepalive), an optional CONNECT tunnel, then TLS with the peer's SNI, ALPN, CA, client
 * certificate and verification settings. Everything that depends only on the peer (the TLS
 * secure context, the parsed proxy) is computed here once, not per connection.
 *
 * Failures are `LbError`s so the server can tell connect failures (retryable) from the rest:
 * `LB_ERR_CONNECT_TIMEOUT` (`connectionTimeout` / `totalConnectionTimeout`),
 * `LB_ERR_TLS_HANDSHAKE`, `LB_ERR_CONNECT_FAILED`. With `writeTimeout`, a socket whose writes
 * stay blocked that long is destroyed with `LB_ERR_UPSTREAM_TIMEOUT`.
 */
export function createConnector(peer: HttpPeer): Connector {
  const host = peer.address.host;
  const port = peer.address.port;
  const proxy = peer.proxy ? parseProxy(peer.proxy.uri, peer.proxy.headers) : undefined;
  const tlsOptions = peer.tls ? buildTlsOptions(peer) : undefined;

  return function connect(_opts: unknown, callback: ConnectCallback): void {
    new Attempt(peer, host, port, proxy, tlsOptions, callback).start();
  };
}

class Attempt {
  #done = false;
  #tcpTimer: NodeJS.Timeout | undefined;
  #totalTimer: NodeJS.Timeout | undefined;
  #socket: Socket | undefined;
  #tlsSocket: TLSSocket | undefined;
  #proxyRequest: ReturnType<typeof httpRequest> | undefined;

  constructor(
    readonly peer: HttpPeer,
    readonly host: string,
    readonly port: number,
    readonly proxy: ProxyTarget | undefined,
    readonly tlsOptions: ConnectionOptions | undefined,
    readonly callback: ConnectCallback,
  ) {}

  start(): void {
    const o = this.peer.options;
    if (o.connectionTimeout !== undefined) {
      this.#tcpTimer = setTimeout(() => this.#timeout('connectionTimeout', o.connectionTimeout), o.connectionTimeout);
    }
    if (o.totalConnectionTimeout !== undefined) {
      this.#totalTimer = setTimeout(
        () => this.#timeout('totalConnectionTimeout', o.totalConnectionTimeout),
        o.totalConnectionTimeout,
      );
    }
    if (this.proxy) this.#viaProxy(this.proxy);
    else this.#tcp();
  }

  #tcp(): void {
    const o = this.peer.options;
    const socket = netConnect({
      host: this.host,
      port: this.port,
      noDelay: true,
      ...(o.bindTo === undefined ? {} : { localAddress: o.bindTo }),
    });
    this.#socket = socket;
    socket.once('error', (err) => this.#fail('LB_ERR_CONNECT_FAILED', `connect to ${this.peer.id} failed`, err));
    socket.once('connect', () => {
      clearTimeout(this.#tcpTimer);
      this.#tcpTimer = undefined;
      this.#connected(socket);
    });
  }

  #viaProxy(proxy: ProxyTarget): void {
    const o = this.peer.options;
    const make = proxy.https ? httpsRequest : httpRequest;
    const req = make({
      host: proxy.host,
      port: proxy.port,
      method: 'CONNECT',
      path: `${this.peer.id}`,
      headers: { host: this.peer.id, ...proxy.headers },
      agent: false,
      ...(o.bindTo === undefined ? {} : { localAddress: o.bindTo }),
    });
    this.#proxyRequest = req;
    req.once('error', (err) => this.#fail('LB_ERR_CONNECT_FAILED', `CONNECT via proxy ${proxy.label} failed`, err));
    req.once('connect', (res: IncomingMessage, socket: Socket) => {
      clearTimeout(this.#tcpTimer);
      this.#tcpTimer = undefined;
      this.#socket = socket;
      if (res.statusCode !== 200) {
        this.#fail(
          'LB_ERR_CONNECT_FAILED',
          `proxy ${proxy.label} answered CONNECT ${this.peer.id} with ${res.statusCode}`,
          undefined,
        );
        return;
      }
      this.#connected(socket);
    });
    req.end();
  }

  #connected(socket: Socket): void {
    if (this.#done) return;
    const o = this.peer.options;
    if (o.tcpKeepalive !== undefined) socket.setKeepAlive(true, o.tcpKeepalive.idle);
    if (this.tlsOptions === undefined) {
      this.#succeed(socket);
      return;
    }
    const tlsSocket = tlsConnect({ ...this.tlsOptions, socket });
    this.#tlsSocket = tlsSocket;
    socket.removeAllListeners('error');
    tlsSocket.once('error', (err) =>
      this.#fail('LB_ERR_TLS_HANDSHAKE', `TLS handshake with ${this.peer.id} failed: ${err.message}`, err),
    );
    tlsSocket.once('secureConnect', () => this.#succeed(tlsSocket));
  }

  #succeed(socket: Socket): void {
    if (this.#done) {
      socket.destroy();
      return;
    }
    this.#done = true;
    this.#clearTimers();
    socket.removeAllListeners('error');
    const writeTimeout = this.peer.options.writeTimeout;
    if (writeTimeout !== undefined) watchWrites(socket, writeTimeout, this.peer.id);
    this.callback(null, socket);
  }

  #timeout(field: string, ms: number | undefined): void {
    this.#fail('LB_ERR_CONNECT_TIMEOUT', `connecting to ${this.peer.id} exceeded ${field} (${ms} ms)`, undefined);
  }

  #fail(
    code: 'LB_ERR_CONNECT_FAILED' | 'LB_ERR_CONNECT_TIMEOUT' | 'LB_ERR_TLS_HANDSHAKE',
    msg: string,
    cause: unknown,
  ) {
    if (this.#done) return;
    this.#done = true;
    this.#clearTimers();
    // Swallow late errors from the sockets we are abandoning.
    for (const s of [this.#tlsSocket, this.#socket]) {
      s?.on('error', noop);
      s?.destroy();
    }
    this.#proxyRequest?.on('error', noop);
    this.#proxyRequest?.destroy();
    this.callback(new LbError(code, msg, { cause }), null);
  }

  #clearTimers(): void {
    clearTimeout(this.#tcpTimer);
    clearTimeout(this.#totalTimer);
  }
}

function noop(): void {}

/**
 * Pingora's per-write timeout: once a write is refused (the socket buffer is full) the upstream
 * has `ms` to drain it, or the connection is destroyed with `LB_ERR_UPSTREAM_TIMEOUT`.
 */
function watchWrites(socket: Socket, ms: number, id: string): void {
  let timer: NodeJS.Timeout | undefined;
  const write = socket.write;
  socket.write = function patchedWrite(this: Socket, ...args: Parameters<Socket['write']>): boolean {
    const ok = write.apply(this, args);
    if (!ok && timer === undefined) {
      timer = setTimeout(() => {
        socket.destroy(new LbError('LB_ERR_UPSTREAM_TIMEOUT', `writing to ${id} exceeded writeTimeout (${ms} ms)`));
      }, ms);
    }
    return ok;
  } as Socket['write'];
  const clear = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  socket.on('drain', clear);
  socket.once('close', clear);
}

function buildTlsOptions(peer: HttpPeer): ConnectionOptions {
  const o = peer.options;
  const extra = o.ca === undefined ? [] : typeof o.ca === 'string' ? [o.ca] : [...o.ca];
  const ca = o.useSystemCerts ? [...rootCertificates, ...extra] : extra;
  const client = peer.clientCertKey;
  // One secure context per pool: building one (parsing ~150 root certificates) per connection is slow.
  const secureContext: SecureContext = createSecureContext({
    ca,
    ...(client ? { cert: client.cert, key: client.key } : {}),
  });
  const options: ConnectionOptions = {
    secureContext,
    ALPNProtocols: ALPN[o.alpn],
    rejectUnauthorized: o.verifyCert,
    // The identity checked when no SNI is sent: the address itself.
    host: peer.sni || peer.address.host,
    checkServerIdentity: identityCheck(o.verifyHostname, o.alternativeCn),
  };
  // SNI must be a host name; Node refuses IP addresses as servername.
  if (peer.sni !== '' && !isIp(peer.sni)) options.servername = peer.sni;
  return options;
}

function identityCheck(verifyHostname: boolean, alternativeCn: string | undefined) {
  return (hostname: string, cert: PeerCertificate): Error | undefined => {
    if (!verifyHostname) return undefined;
    const err = checkServerIdentity(hostname, cert);
    if (err === undefined || alternativeCn === undefined) return err;
    return checkServerIdentity(alternativeCn, cert) === undefined ? undefined : err;
  };
}

function isIp(name: string): boolean {
  return /^[\d.]+$/.test(name) || name.includes(':');
}

function parseProxy(uri: string, headers: Readonly<Record<string, string>> | undefined): ProxyTarget {
  const url = new URL(uri);
  const https = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (https ? 443 : 80) : Number(url.port);
  const out: Record<string, string> = { ...headers };
  if (url.username !== '' || url.password !== '') {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    out['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return { https, host, port, headers: out, label: `${host}:${port}` };
}
