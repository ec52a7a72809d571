import { connect, type Socket } from 'node:net';
import { HttpPeer, backend as toBackend } from '@switchyard/core';
import { staticDiscovery } from '@switchyard/health';
import { createBalancer, createProxyServer, type ProxyServer, type UpstreamOutcome } from '@switchyard/proxy';
import { roundRobin } from '@switchyard/selectors';
import { type FaultBackend, startFaultBackend, waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { accessLines, captureLogs, type LogLine } from '../helpers/log-capture.js';

// Clients that go away: the access line says 499 with the bytes moved so far, no observer hears
// a failure, and an outlier detector that ejects on the first failure never ejects the backend.

interface AbortRig {
  readonly proxy: ProxyServer;
  readonly port: number;
  readonly backend: FaultBackend;
  readonly lines: LogLine[];
  readonly outcomes: UpstreamOutcome[];
  readonly ejected: () => readonly string[];
  close(): Promise<void>;
}

const rigs: AbortRig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.close();
});

async function startRig(mode: FaultBackend['mode'], delayMs = 0): Promise<AbortRig> {
  const backend = await startFaultBackend({ name: 'abort-target', mode, delayMs });
  const { logger, lines } = captureLogs();
  const balancer = createBalancer({
    discovery: staticDiscovery([toBackend(backend.id)]),
    selector: roundRobin,
    outlier: { consecutiveFailures: 1, baseEjectionMs: 60_000, maxEjectedPercent: 100 },
  });
  await balancer.ready();
  const outcomes: UpstreamOutcome[] = [];
  const proxy = createProxyServer(
    { upstreamPeer: () => new HttpPeer(backend.id, false, '', { options: { readTimeout: 10_000 } }) },
    {
      logger,
      observers: [balancer.observer, { onFinish: (_peer, outcome) => outcomes.push(outcome) }],
    },
  );
  const { port } = await proxy.listen(0, '127.0.0.1');
  const rig: AbortRig = {
    proxy,
    port,
    backend,
    lines,
    outcomes,
    ejected: () => balancer.outlier?.ejected() ?? [],
    async close() {
      await proxy.close({ deadlineMs: 1000 });
      await balancer.close();
      await backend.stop();
    },
  };
  rigs.push(rig);
  return rig;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

function requests(rig: AbortRig): LogLine[] {
  return accessLines(rig.lines);
}

async function expect499(rig: AbortRig, minBytesIn: number, minBytesOut: number): Promise<void> {
  await waitFor('the access line', () => requests(rig).length === 1, 10_000);
  const [line] = requests(rig);
  expect(line?.status, JSON.stringify(line)).toBe(499);
  expect(line?.bytesIn).toBeGreaterThanOrEqual(minBytesIn);
  expect(line?.bytesOut).toBeGreaterThanOrEqual(minBytesOut);
  expect(line?.cause).toBe('client closed the connection');
  expect(line?.error).toBeUndefined();
  await waitFor('the attempt to end', () => rig.outcomes.length === 1, 10_000);
  expect(rig.outcomes).toEqual(['cancelled']);
  expect(rig.ejected()).toEqual([]);
}

describe('a client that goes away is logged 499 and never counts against the backend', () => {
  it('mid-upload: the request body stops half way', async () => {
    const rig = await startRig('ok');
    const socket = await open(rig.port);
    socket.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n');
    socket.write(Buffer.alloc(20_000, 0x61));
    await waitFor('the upload to start upstream', () => rig.backend.connections === 1, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    await expect499(rig, 20_000, 0);
  });

  it('mid-wait: the backend has not answered yet', async () => {
    const rig = await startRig('hang');
    const socket = await open(rig.port);
    socket.write('GET /wait HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor('the request at the backend', () => rig.backend.requests.length === 1, 10_000);
    socket.destroy();
    await expect499(rig, 30, 0);
  });

  it('mid-download: the head and half the body arrived', async () => {
    const rig = await startRig('slow-body', 3000);
    const socket = await open(rig.port);
    let got = 0;
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
    });
    socket.write('GET /down HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor('the head and the first half', () => got > 0, 10_000);
    socket.destroy();
    await expect499(rig, 30, got);
  });

  it('at the end of a run (wrk closing its connections with requests in flight)', async () => {
    const rig = await startRig('ok', 300);
    const sockets = await Promise.all(Array.from({ length: 8 }, () => open(rig.port)));
    for (const s of sockets) s.write('GET /last HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor('every request at the backend', () => rig.backend.requests.length === 8, 10_000);
    for (const s of sockets) s.end();
    await waitFor('eight access lines', () => requests(rig).length === 8, 10_000);
    expect(requests(rig).map((l) => l.status)).toEqual(Array(8).fill(499));
    await waitFor('eight attempts ended', () => rig.outcomes.length === 8, 10_000);
    expect(new Set(rig.outcomes)).toEqual(new Set(['cancelled']));
    expect(rig.ejected()).toEqual([]);
  });
});
