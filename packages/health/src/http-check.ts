import { performance } from 'node:perf_hooks';
import {
  type Backend,
  checkInteger,
  createConnector,
  formatHostPort,
  type HttpPeer,
  invalidOption,
  type PeerOptions,
  resolveOptions,
} from '@switchyard/core';
import { Client } from 'undici';
import type { CheckResult, HealthCheck } from './check.js';
import { checkPeerFactory, validateCheckPeer } from './internal/check-peer.js';
import { deadline } from './internal/deadline.js';
import { reasonFor } from './internal/reason.js';

/** What an HTTP check's validator sees. `body` is read only when a validator is set. */
export interface HttpCheckResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as UTF-8, cut at `maxBodyBytes`. */
  readonly body: string;
}

/**
 * Decides whether a response passes: return `true` (or nothing) to pass, `false` or a
 * string (the reason) to fail; a thrown error fails with its message.
 */
export type HttpCheckValidator = (
  response: HttpCheckResponse,
) => boolean | string | undefined | Promise<boolean | string | undefined>;

/** Options of {@link httpCheck}. */
export interface HttpCheckOptions {
  /** Request path (with query). @defaultValue '/' */
  readonly path: string;
  /** Request method. @defaultValue 'GET' */
  readonly method: string;
  /** `Host` header. @defaultValue the backend id (`host:port`) */
  readonly host: string | undefined;
  /** Extra request headers. @defaultValue {} */
  readonly headers: Readonly<Record<string, string>>;
  /** The passing status, or a predicate on it. @defaultValue 200 (exactly, like Pingora) */
  readonly expectStatus: number | ((status: number) => boolean);
  /** Further check of the response, applied after `expectStatus`. @defaultValue undefined */
  readonly validator: HttpCheckValidator | undefined;
  /**
   * Deadline for the whole check: connect, TLS, request, response head (and body for validators),
   * in ms (> 0, at most 2^31 - 1). @defaultValue 1000
   */
  readonly timeoutMs: number;
  /**
   * The peer template, as Pingora's `peer_template`: each backend is reached with this peer's
   * scheme, SNI, CONNECT proxy, client certificate and {@link PeerOptions} (`bindTo`, `ca`,
   * `verifyHostname`, `alternativeCn`, `alpn`, connect timeouts, …) exactly as traffic to it
   * would be; only the address is the backend's. When given, `tls`, `sni`, `ca` and
   * `verifyCert` must not be.
   * @defaultValue undefined (a peer built from `tls`, `sni`, `ca` and `verifyCert`)
   */
  readonly peer: HttpPeer | undefined;
  /** Without `peer`: use HTTPS. @defaultValue false */
  readonly tls: boolean;
  /** Without `peer`: SNI for HTTPS. @defaultValue the backend host when it is a name, none for IPs */
  readonly sni: string | undefined;
  /** Without `peer`: the only trusted CA certificates (PEM). @defaultValue undefined (Node's bundled roots) */
  readonly ca: PeerOptions['ca'];
  /** Without `peer`: verify the server certificate chain and name. @defaultValue true */
  readonly verifyCert: boolean;
  /** Keep the connection open between checks (Pingora's `reuse_connection`). @defaultValue false */
  readonly reuseConnection: boolean;
  /** Most body bytes read for the validator. @defaultValue 65536 */
  readonly maxBodyBytes: number;
}

/** Defaults of {@link httpCheck}: Pingora's `HttpHealthCheck` (GET /, exactly 200, 1 s, no reuse). */
export const HTTP_CHECK_DEFAULTS: HttpCheckOptions = Object.freeze({
  path: '/',
  method: 'GET',
  host: undefined,
  headers: Object.freeze({}),
  expectStatus: 200,
  validator: undefined,
  timeoutMs: 1000,
  peer: undefined,
  tls: false,
  sni: undefined,
  ca: undefined,
  verifyCert: true,
  reuseConnection: false,
  maxBodyBytes: 65536,
});

function validate(o: HttpCheckOptions, given: Partial<HttpCheckOptions> | undefined): void {
  validateCheckPeer('httpCheck', o, given);
  if (typeof o.path !== 'string' || !o.path.startsWith('/'))
    invalidOption('httpCheck path', 'a path starting with "/"', o.path);
  if (typeof o.method !== 'string' || !/^[A-Z]+$/.test(o.method))
    invalidOption('httpCheck method', 'an upper-case HTTP method', o.method);
  if (o.host !== undefined && (typeof o.host !== 'string' || o.host === ''))
    invalidOption('httpCheck host', 'a non-empty string', o.host);
  if (typeof o.headers !== 'object' || o.headers === null)
    invalidOption('httpCheck headers', 'an object of strings', o.headers);
  if (typeof o.expectStatus === 'number') checkInteger('httpCheck expectStatus', o.expectStatus, 100, 599);
  else if (typeof o.expectStatus !== 'function')
    invalidOption('httpCheck expectStatus', 'a status or a predicate', o.expectStatus);
  if (o.validator !== undefined && typeof o.validator !== 'function')
    invalidOption('httpCheck validator', 'a function', o.validator);
  if (typeof o.reuseConnection !== 'boolean')
    invalidOption('httpCheck reuseConnection', 'a boolean', o.reuseConnection);
  checkInteger('httpCheck maxBodyBytes', o.maxBodyBytes, 0);
}

/**
 * A check that sends one HTTP(S) request through undici, connecting as traffic does (the
 * shared connector with the peer's settings), and passes when the status
 * matches `expectStatus` and the `validator` (if any) agrees. Each backend gets its own
 * undici `Client`; connections are closed after every check unless `reuseConnection`.
 * A failed certificate verification fails the check with a reason that says so.
 * `close()` destroys every client. Throws `LB_ERR_INVALID_OPTION` on bad options.
 */
export function httpCheck(options?: Partial<HttpCheckOptions>): HealthCheck {
  const o = resolveOptions('httpCheck', HTTP_CHECK_DEFAULTS, options, (r) => validate(r, options));
  const clients = new Map<string, Client>();
  const makePeer = checkPeerFactory(o);

  const clientFor = (backend: Backend): Client => {
    let client = clients.get(backend.id);
    if (client === undefined) {
      client = newClient(makePeer(backend), o);
      clients.set(backend.id, client);
    }
    return client;
  };

  return {
    check: (backend, signal) => request(clientFor(backend), backend, o, signal),
    release: async (backend) => {
      const client = clients.get(backend.id);
      clients.delete(backend.id);
      await client?.destroy();
    },
    close: async () => {
      const all = [...clients.values()];
      clients.clear();
      await Promise.all(all.map((c) => c.destroy()));
    },
  };
}

function newClient(peer: HttpPeer, o: HttpCheckOptions): Client {
  const origin = `${peer.scheme}://${formatHostPort(peer.address.host, peer.address.port)}`;
  return new Client(origin, {
    // The connector traffic uses. It never resumes a TLS session: every new connection does a
    // full handshake, so every check that connects verifies the certificate again.
    connect: createConnector(peer, { timeoutMs: o.timeoutMs }) as never,
    allowH2: peer.tls && peer.options.alpn !== 'h1',
    pipelining: 1,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
  });
}

async function request(
  client: Client,
  backend: Backend,
  o: HttpCheckOptions,
  signal: AbortSignal | undefined,
): Promise<CheckResult> {
  const started = performance.now();
  const limit = deadline(o.timeoutMs, signal);
  const elapsed = (): number => performance.now() - started;
  const failed = (reason: string, status?: number): CheckResult =>
    status === undefined
      ? { ok: false, reason, durationMs: elapsed() }
      : { ok: false, reason, durationMs: elapsed(), status };
  try {
    const response = await client.request({
      path: o.path,
      method: o.method as 'GET',
      headers: { ...o.headers, host: o.host ?? backend.id },
      signal: limit.signal,
      reset: !o.reuseConnection,
    });
    const { statusCode: status } = response;
    const statusOk = typeof o.expectStatus === 'number' ? status === o.expectStatus : o.expectStatus(status);
    if (!statusOk || o.validator === undefined) {
      await response.body.dump({ limit: o.maxBodyBytes, signal: limit.signal }).catch(() => undefined);
      return statusOk ? { ok: true, durationMs: elapsed(), status } : failed(`status ${status}`, status);
    }
    const body = await readBody(response.body, o.maxBodyBytes);
    const verdict = await runValidator(o.validator, { status, headers: response.headers, body });
    return verdict === undefined
      ? { ok: true, durationMs: elapsed(), status }
      : failed(`validator said: ${verdict}`, status);
  } catch (err) {
    if (limit.timedOut()) return failed(`timeout after ${o.timeoutMs} ms`);
    if (signal?.aborted) return failed('check aborted');
    return failed(reasonFor(err, o.timeoutMs));
  } finally {
    limit.dispose();
  }
}

async function readBody(body: AsyncIterable<Buffer>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= max) break;
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** `undefined` when the validator accepts, else the reason it gave. */
async function runValidator(validator: HttpCheckValidator, response: HttpCheckResponse): Promise<string | undefined> {
  try {
    const verdict = await validator(response);
    if (verdict === true || verdict === undefined) return undefined;
    return verdict === false ? 'rejected' : verdict;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
