import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { type Backend, invalidOption, resolveOptions } from '@switchyard/core';
import type { CheckResult, HealthCheck } from './check.js';
import { deadline } from './internal/deadline.js';
import { reasonFor } from './internal/reason.js';
import { caList, serverName, type TlsSettings, validateCommon } from './internal/tls-options.js';

/** Options of {@link tcpCheck}. */
export interface TcpCheckOptions extends TlsSettings {
  /**
   * Connect (plus TLS handshake) deadline in ms (> 0, at most 2^31 - 1), like Pingora's
   * `connection_timeout`. @defaultValue 1000
   */
  readonly timeoutMs: number;
  /** Perform a TLS handshake after connecting. @defaultValue false */
  readonly tls: boolean;
  /** SNI for the handshake. @defaultValue the backend host when it is a name, none for IPs */
  readonly sni: string | undefined;
  /** Extra trusted CA certificates (PEM). @defaultValue undefined (Node's bundled roots) */
  readonly ca: string | readonly string[] | undefined;
  /** Verify the server certificate chain and name. @defaultValue true */
  readonly verifyCert: boolean;
  /**
   * Close a passing check's connection with a TCP reset (`SO_LINGER` 0) instead of a FIN, as
   * HAProxy and keepalived do: the checker then keeps no `TIME_WAIT` socket per check (60 s each
   * on Linux: 60,000 of them for 1,000 backends checked every second), and the backend sees
   * `ECONNRESET` instead of an orderly close. Plain TCP only: `true` with `tls` is rejected.
   * @defaultValue false (a FIN, as Pingora's check drops its connection)
   */
  readonly reset: boolean;
}

/** Defaults of {@link tcpCheck}: Pingora's `TcpHealthCheck` (1 s connect timeout, plain TCP). */
export const TCP_CHECK_DEFAULTS: TcpCheckOptions = Object.freeze({
  timeoutMs: 1000,
  tls: false,
  sni: undefined,
  ca: undefined,
  verifyCert: true,
  reset: false,
});

function validate(o: TcpCheckOptions): void {
  validateCommon('tcpCheck', o);
  if (typeof o.reset !== 'boolean') invalidOption('tcpCheck reset', 'a boolean', o.reset);
  // Node has no way to reset the TCP connection under a TLS socket (resetting it crashed Node 20).
  if (o.reset && o.tls) invalidOption('tcpCheck reset', 'false when tls is set (a reset is plain TCP only)', o.reset);
}

/**
 * A check that opens a TCP connection to the backend (and completes a TLS handshake
 * when `tls` is set), then closes it (with a reset when `reset` is set). Passes when the
 * connection (and handshake) succeeds within `timeoutMs`. Holds no connections between checks.
 * Throws `LB_ERR_INVALID_OPTION` on bad options.
 */
export function tcpCheck(options?: Partial<TcpCheckOptions>): HealthCheck {
  const o = resolveOptions('tcpCheck', TCP_CHECK_DEFAULTS, options, validate);
  const ca = caList(o.ca);
  return {
    check: (backend, signal) => probe(backend, o, ca, signal),
  };
}

function probe(
  backend: Backend,
  o: TcpCheckOptions,
  ca: string[] | undefined,
  signal: AbortSignal | undefined,
): Promise<CheckResult> {
  const started = performance.now();
  const limit = deadline(o.timeoutMs, signal);
  return new Promise<CheckResult>((resolve) => {
    let socket: Socket | undefined;
    let done = false;
    const finish = (reason?: string): void => {
      if (done) return;
      done = true;
      limit.dispose();
      limit.signal.removeEventListener('abort', onAbort);
      // Only a connected socket is reset: one still connecting is just dropped.
      if (o.reset && reason === undefined) socket?.resetAndDestroy();
      else socket?.destroy();
      const durationMs = performance.now() - started;
      resolve(reason === undefined ? { ok: true, durationMs } : { ok: false, reason, durationMs });
    };
    const onAbort = (): void => finish(limit.timedOut() ? `timeout after ${o.timeoutMs} ms` : 'check aborted');
    if (limit.signal.aborted) {
      onAbort();
      return;
    }
    limit.signal.addEventListener('abort', onAbort, { once: true });
    if (o.tls) {
      const servername = serverName(o.sni, backend.host);
      socket = tlsConnect({
        host: backend.host,
        port: backend.port,
        ...(servername === undefined ? {} : { servername }),
        ...(ca === undefined ? {} : { ca }),
        rejectUnauthorized: o.verifyCert,
      });
      socket.once('secureConnect', () => finish());
    } else {
      socket = netConnect({ host: backend.host, port: backend.port });
      socket.once('connect', () => finish());
    }
    socket.once('error', (err) => finish(reasonFor(err, o.timeoutMs)));
  });
}
