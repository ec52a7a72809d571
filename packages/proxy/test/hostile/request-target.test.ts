import { HttpPeer } from '@switchyard/core';
import { createProxyServer, type ProxyServer, type ProxyServerOptions } from '@switchyard/proxy';
import { type FaultBackend, startFaultBackend, waitFor } from '@switchyard/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accessLines, captureLogs, type LogLine } from '../helpers/log-capture.js';
import { headerValues, type RawExchange, rawExchange } from '../helpers/raw-client.js';

// RFC 9112 §3.2 (Host and request-target), §6.1 (transfer codings) and the forwarding fields,
// in raw bytes against the proxy; each case asserts the answer AND what the backend received.

interface TargetRig {
  readonly proxy: ProxyServer;
  readonly port: number;
  readonly backend: FaultBackend;
  readonly lines: LogLine[];
  /** `session.path` and `session.uri` as `upstreamPeer` (where selectors and routes run) saw them. */
  readonly seen: { path: string; uri: string }[];
  close(): Promise<void>;
}

async function startRig(options: Partial<ProxyServerOptions> = {}, host = '127.0.0.1'): Promise<TargetRig> {
  const backend = await startFaultBackend({ name: 'target' });
  const { logger, lines } = captureLogs();
  const seen: { path: string; uri: string }[] = [];
  const proxy = createProxyServer(
    {
      upstreamPeer: (session) => {
        seen.push({ path: session.path, uri: session.uri });
        return new HttpPeer(backend.id, false, '', { options: { readTimeout: 3000 } });
      },
    },
    { headersTimeout: 1000, requestTimeout: 5000, logger, ...options },
  );
  const { port } = await proxy.listen(0, host);
  return {
    proxy,
    port,
    backend,
    lines,
    seen,
    async close() {
      await proxy.close({ deadlineMs: 1000 });
      await backend.stop();
    },
  };
}

let rig: TargetRig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig.close();
});
beforeEach(() => {
  rig.backend.requests.length = 0;
  rig.backend.anomalies.length = 0;
  rig.lines.length = 0;
  rig.seen.length = 0;
});

async function send(payload: string, on = rig): Promise<RawExchange> {
  const exchange = await rawExchange(on.port, payload, { timeoutMs: 3000 });
  expect(exchange.invalid, exchange.raw.toString('latin1')).toBeUndefined();
  expect(exchange.responses.length, exchange.raw.toString('latin1')).toBeGreaterThanOrEqual(1);
  return exchange;
}

/** Expects `status` with a body containing `reason`, nothing at the backend, and the access line. */
async function expectRefused(payload: string, status: number, reason: string): Promise<RawExchange> {
  const exchange = await send(payload);
  const response = exchange.responses[0]!;
  expect(response.status, exchange.raw.toString('latin1')).toBe(status);
  expect(response.body.toString('latin1')).toContain(reason);
  await new Promise((r) => setTimeout(r, 100));
  expect(rig.backend.requests, 'nothing reached the backend').toEqual([]);
  await waitFor('the access line', () => accessLines(rig.lines).length === 1, 3000);
  expect(accessLines(rig.lines)[0]?.status).toBe(status);
  return exchange;
}

async function expectForwarded(payload: string, on = rig): Promise<RawExchange & { target: string; head: string }> {
  const exchange = await send(payload, on);
  expect(exchange.responses[0]?.status, exchange.raw.toString('latin1')).toBe(200);
  await waitFor('the request at the backend', () => on.backend.requests.length === 1, 3000);
  const received = on.backend.requests[0]!;
  return { ...exchange, target: received.target, head: received.rawHead };
}

function backendHeader(name: string, on = rig): string[] {
  return headerValues(on.backend.requests[0]?.headers ?? [], name);
}

describe('Host (RFC 9112 §3.2, RFC 9110 §7.2)', () => {
  const refused: [string, string, string][] = [
    ['two Host headers', 'Host: a.example\r\nHost: b.example', 'more than one Host'],
    ['userinfo in Host', 'Host: evil.example@good.example', 'userinfo'],
    ['a space in Host', 'Host: good example', 'invalid character'],
    ['an empty Host on HTTP/1.1', 'Host:', 'empty'],
    ['a port past 65535', 'Host: good.example:65536', 'bad port'],
    ['a port that is not digits', 'Host: good.example:http', 'bad port'],
    ['an unclosed IPv6 literal', 'Host: [::1', 'IPv6'],
  ];
  for (const [name, host, reason] of refused) {
    it(`${name} → 400 with the reason, never forwarded, logged`, async () => {
      await expectRefused(`GET /h HTTP/1.1\r\n${host}\r\n\r\n`, 400, reason);
    });
  }

  it('a valid IPv6 literal with a port is forwarded as received', async () => {
    await expectForwarded('GET /h HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n');
    expect(backendHeader('host')).toEqual(['[::1]:8080']);
    expect(backendHeader('x-forwarded-host')).toEqual(['[::1]:8080']);
  });

  it('HTTP/1.0 without Host is forwarded; the upstream sees its own address as Host', async () => {
    const got = await expectForwarded('GET /old HTTP/1.0\r\n\r\n');
    expect(got.target).toBe('/old');
    expect(backendHeader('host')).toEqual([rig.backend.id]);
    expect(backendHeader('x-forwarded-host')).toEqual([]);
  });
});

describe('request-target forms (RFC 9112 §3.2)', () => {
  it('absolute-form: the authority replaces Host and the request goes upstream in origin-form', async () => {
    const got = await expectForwarded('GET http://good.example:8080/x/y?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n');
    expect(got.target).toBe('/x/y?q=1');
    expect(backendHeader('host')).toEqual(['good.example:8080']);
    expect(backendHeader('x-forwarded-host')).toEqual(['good.example:8080']);
    expect(got.head).not.toContain('other.example');
    // Selectors and routes see the origin-form path.
    expect(rig.seen).toEqual([{ path: '/x/y', uri: '/x/y?q=1' }]);
  });

  it('absolute-form with an empty path goes upstream as /', async () => {
    const got = await expectForwarded('GET HTTPS://good.example?a=b HTTP/1.1\r\nHost: good.example\r\n\r\n');
    expect(got.target).toBe('/?a=b');
    expect(rig.seen[0]?.path).toBe('/');
  });

  it('absolute-form with userinfo → 400', async () => {
    await expectRefused('GET http://user@good.example/x HTTP/1.1\r\nHost: good.example\r\n\r\n', 400, 'userinfo');
  });

  it('another scheme → 400', async () => {
    await expectRefused('GET ftp://good.example/x HTTP/1.1\r\nHost: good.example\r\n\r\n', 400, 'request target');
  });

  it('OPTIONS * is forwarded in asterisk-form', async () => {
    const got = await expectForwarded('OPTIONS * HTTP/1.1\r\nHost: good.example\r\n\r\n');
    expect(got.target).toBe('*');
    expect(got.head.startsWith('OPTIONS * HTTP/1.1\r\n')).toBe(true);
    expect(backendHeader('host')).toEqual(['good.example']);
    expect(backendHeader('x-forwarded-for')).toEqual(['127.0.0.1']);
  });

  it('* with another method → 400', async () => {
    await expectRefused('GET * HTTP/1.1\r\nHost: good.example\r\n\r\n', 400, 'only for OPTIONS');
  });

  it('CONNECT → 405 with Allow, never a tunnel, logged', async () => {
    const exchange = await expectRefused(
      'CONNECT good.example:443 HTTP/1.1\r\nHost: good.example:443\r\n\r\n',
      405,
      'CONNECT is not forwarded',
    );
    const allow = headerValues(exchange.responses[0]!.headers, 'allow')[0] ?? '';
    expect(allow).toContain('GET');
    expect(allow).not.toContain('CONNECT');
    expect(headerValues(exchange.responses[0]!.headers, 'connection')).toEqual(['close']);
  });
});

describe('transfer codings (RFC 9112 §6.1)', () => {
  it('gzip, chunked → 501, nothing re-framed upstream', async () => {
    await expectRefused(
      'POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      501,
      'gzip',
    );
  });

  it('the same coding split over two fields → 501', async () => {
    await expectRefused(
      'POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      501,
      'deflate',
    );
  });

  it('plain chunked is forwarded', async () => {
    await expectForwarded('POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(rig.backend.requests[0]?.body.toString()).toBe('hello');
  });
});

describe('parser refusals and slow heads get access lines', () => {
  it('a malformed head → 400 and a line with the parser reason', async () => {
    const exchange = await send('GET /p HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n');
    expect(exchange.responses[0]?.status).toBe(400);
    await waitFor('the access line', () => accessLines(rig.lines).length === 1, 3000);
    const line = accessLines(rig.lines)[0]!;
    expect(line.status).toBe(400);
    expect(String(line.cause)).toMatch(/HPE_/);
  });

  it('a head that never completes → 408 and a line', async () => {
    const exchange = await rawExchange(rig.port, 'GET /slow HTTP/1.1\r\nHost: a\r\n', { timeoutMs: 4000 });
    expect(exchange.responses[0]?.status, exchange.raw.toString('latin1')).toBe(408);
    await waitFor('the access line', () => accessLines(rig.lines).length === 1, 3000);
    expect(accessLines(rig.lines)[0]?.status).toBe(408);
  });
});
