import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import {
  type FaultBackend,
  generateTestPki,
  type ServeProcess,
  startFaultBackend,
  startServe,
} from '@switchyard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h2Close, h2Connect, h2Request } from '../http2/helpers/h2-client.js';
import {
  type AttackOutcome,
  continuationFlood,
  H2_ERROR,
  hpackBomb,
  oversizedHeader,
  pingFlood,
  rapidReset,
  runAttack,
  settingsFlood,
} from './h2-attacks.js';

// Hostile HTTP/2 clients against `switchyard serve` (h2 over TLS; h2c for one case), in its own process so its CPU time
// and memory are its own: each attack must end with the connection refused (GOAWAY) or its input
// rejected, cost the proxy a bounded amount of CPU and memory, and forward nothing to the backend.
// Each test prints its figures (docs/security.md quotes them).

/** CPU time (user + system) of a process, ms, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The TLS listener completes a handshake (startServe's default check speaks plain HTTP). */
function tlsReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const pki = generateTestPki();
let backend: FaultBackend;
/** h2 over TLS (ALPN): the attacks' main target. */
let serve: ServeProcess;
/** h2c with prior knowledge on the HTTP/1.1 port. */
let cleartext: ServeProcess;

beforeAll(async () => {
  backend = await startFaultBackend({ name: 'victim' });
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-h2-hostile-'));
  writeFileSync(join(dir, 'cert.pem'), pki.server.cert);
  writeFileSync(join(dir, 'key.pem'), pki.server.key);
  const upstreams = { web: { backends: [backend.id] } };
  serve = await startServe({
    config: (port) => ({
      listen: `127.0.0.1:${port}`,
      server: { tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } },
      accessLog: false,
      upstreams,
    }),
    ready: tlsReady,
  });
  cleartext = await startServe({
    config: (port) => ({ listen: `127.0.0.1:${port}`, server: { h2c: true }, accessLog: false, upstreams }),
  });
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await cleartext?.stop();
  await backend?.stop();
});

interface Figures extends AttackOutcome {
  readonly cpuMs: number;
  readonly rssGrowthMb: number;
  readonly forwarded: number;
}

async function measure(name: string, frames: readonly Buffer[], read = true, target = serve): Promise<Figures> {
  const pid = target.servingPid();
  const tls = target === serve;
  const before = { cpu: cpuMs(pid), rss: target.rss(), forwarded: backend.requests.length };
  const outcome = await runAttack(target.port, frames, { read, tls });
  const figures: Figures = {
    ...outcome,
    cpuMs: cpuMs(pid) - before.cpu,
    rssGrowthMb: (target.rss() - before.rss) / 2 ** 20,
    forwarded: backend.requests.length - before.forwarded,
  };
  const resets = [...outcome.resets].map(([code, n]) => `${n}×${code}`).join(' ') || 'none';
  console.log(
    `${name}: sent ${figures.framesSent}/${frames.length} in ${figures.elapsedMs.toFixed(0)} ms; ` +
      `GOAWAY ${figures.goawayCode ?? 'none'}; RST_STREAM ${resets}; answered ${figures.answered}; ` +
      `proxy CPU ${figures.cpuMs} ms, RSS ${figures.rssGrowthMb >= 0 ? '+' : ''}${figures.rssGrowthMb.toFixed(1)} MB; ` +
      `forwarded ${figures.forwarded}`,
  );
  return figures;
}

/** The proxy still serves an honest HTTP/2 client after the attack. */
async function stillServes(target = serve): Promise<void> {
  const s =
    target === serve
      ? await h2Connect(`https://127.0.0.1:${target.port}`, pki.ca.cert)
      : await h2Connect(`http://127.0.0.1:${target.port}`);
  try {
    expect((await h2Request(s, { ':path': '/after' })).status).toBe(200);
  } finally {
    await h2Close(s);
  }
}

describe('hostile HTTP/2 clients', { timeout: 60_000 }, () => {
  it('rapid reset: 20,000 streams opened and reset — GOAWAY past the reset budget (200, then 100 a second)', async () => {
    const f = await measure('rapid reset', rapidReset(20_000));
    // The reset budget answers ENHANCE_YOUR_CALM. When the proxy falls behind the client (a loaded
    // machine), streams pile up past the concurrency limit first, and nghttp2's rejected-stream
    // backstop (maxSessionRejectedStreams) drops the connection with INTERNAL_ERROR instead.
    expect([H2_ERROR.ENHANCE_YOUR_CALM, 2]).toContain(f.goawayCode);
    expect(f.closedByServer).toBe(true);
    // Streams reset before their request reached an upstream forward nothing; the few that raced
    // ahead are bounded by the budget.
    expect(f.forwarded).toBeLessThanOrEqual(400);
    expect(f.rssGrowthMb).toBeLessThan(64);
    await stillServes();
  });

  it('SETTINGS flood: 200,000 frames — the connection is closed by the proxy, CPU bounded', async () => {
    const f = await measure('SETTINGS flood', settingsFlood(200_000));
    // The SETTINGS budget (100, then 10 a second) or nghttp2's own flood limit closes the connection; a client
    // writing this fast sees the reset before the GOAWAY, so the close itself is the proof. (Socket
    // buffers can take all 200,000 frames before the proxy has read the first thousands.)
    expect(f.closedByServer).toBe(true);
    expect(f.cpuMs).toBeLessThan(2000);
    expect(f.rssGrowthMb).toBeLessThan(64);
    expect(f.forwarded).toBe(0);
    await stillServes();
  });

  it('PING flood: 200,000 frames — the connection is closed within the first thousands, CPU bounded', async () => {
    const f = await measure('PING flood', pingFlood(200_000));
    expect(f.closedByServer).toBe(true);
    expect(f.cpuMs).toBeLessThan(2000);
    expect(f.rssGrowthMb).toBeLessThan(64);
    expect(f.forwarded).toBe(0);
    await stillServes();
  });

  it('HPACK bomb: 4 KB in the dynamic table referenced 16,000 times (64 MB decoded) — refused, nothing forwarded', async () => {
    const f = await measure('HPACK bomb', hpackBomb(4000, 16_000));
    expect(f.answered).toBe(0);
    // Past maxHeaderListPairs (or the session's memory) nghttp2 resets the stream before the list
    // is built: ENHANCE_YOUR_CALM or INTERNAL_ERROR, whichever limit trips first.
    expect([...f.resets.keys()].every((c) => c === H2_ERROR.ENHANCE_YOUR_CALM || c === 2)).toBe(true);
    expect([...f.resets.values()].reduce((a, b) => a + b, 0)).toBe(1);
    expect(f.rssGrowthMb).toBeLessThan(64);
    expect(f.forwarded).toBe(0);
    await stillServes();
  });

  it('CONTINUATION flood: a header block that never ends — refused, nothing forwarded', async () => {
    const f = await measure('CONTINUATION flood', continuationFlood(100_000, 1000));
    expect(f.answered).toBe(0);
    // nghttp2 allows a few CONTINUATION frames per header block and then drops the connection (its
    // GOAWAY may be lost to the reset the client's further writes provoke).
    expect(f.closedByServer).toBe(true);
    expect(f.rssGrowthMb).toBeLessThan(64);
    expect(f.forwarded).toBe(0);
    await stillServes();
  });

  it('an oversized header block (one 64 KB field, over maxHeaderSize) — answered 431, nothing forwarded', async () => {
    const f = await measure('oversized header', oversizedHeader(64 * 1024));
    expect(f.forwarded).toBe(0);
    expect(f.answered).toBe(1); // the 431 (the raw client does not decode it; its status is checked below)
    expect(f.forwarded).toBe(0);
    const s = await h2Connect(`http://127.0.0.1:${cleartext.port}`);
    try {
      s.on('error', () => undefined);
      const before = backend.requests.length;
      const big = await h2Request(s, { ':path': '/big', 'x-big': 'b'.repeat(17_000) });
      expect(big.status).toBe(431);
      expect(backend.requests.length).toBe(before);
    } finally {
      await h2Close(s);
    }
    await stillServes();
  });

  it('rapid reset on h2c (prior knowledge on the HTTP/1.1 port) — the connection is closed by the proxy, nothing answered or forwarded, memory bounded', async () => {
    const f = await measure('rapid reset (h2c)', rapidReset(20_000), true, cleartext);
    // As over TLS: the session is destroyed and the proxy closes the connection itself (within the
    // attack's settle time, 2 s after the last frame went out).
    expect([H2_ERROR.ENHANCE_YOUR_CALM, 2]).toContain(f.goawayCode);
    expect(f.closedByServer).toBe(true);
    expect(f.answered).toBe(0);
    expect(f.forwarded).toBeLessThanOrEqual(400);
    expect(f.rssGrowthMb).toBeLessThan(64);
    await stillServes(cleartext);
  });

  it('PING flood on h2c: 200,000 frames — the connection is closed by the proxy, CPU bounded', async () => {
    const f = await measure('PING flood (h2c)', pingFlood(200_000), true, cleartext);
    expect(f.closedByServer).toBe(true);
    expect(f.cpuMs).toBeLessThan(2000);
    expect(f.rssGrowthMb).toBeLessThan(64);
    expect(f.forwarded).toBe(0);
    await stillServes(cleartext);
  });
});
