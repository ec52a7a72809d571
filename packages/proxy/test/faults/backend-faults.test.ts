import {
  type BackendProcess,
  ensureBuilt,
  type FaultBackend,
  type ServeProcess,
  sleep,
  startBackendProcess,
  startFaultBackend,
  startLoad,
  startServe,
  stopAll,
  waitFor,
} from '@switchyard/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  accessLines,
  HEALTH,
  HEALTHY_BOUND_MS,
  logTime,
  retriedFromLog,
  SCHEDULING_SLACK_MS,
  serveConfig,
  summarize,
  transitions,
  UNHEALTHY_BOUND_MS,
} from './scenario.js';

// Each scenario: `switchyard serve` (a child process, generated config) in front of three real
// loopback backends, a closed-loop load running throughout, one fault injected mid-load, and
// assertions on counts (sent / succeeded / failed / retried) and on what the backends saw.

let backends: FaultBackend[] = [];
let processes: BackendProcess[] = [];
let serve: ServeProcess | undefined;

beforeAll(ensureBuilt, 180_000);

afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await stopAll(backends);
  backends = [];
  await Promise.all(processes.map((p) => p.kill()));
  processes = [];
});

async function threeBackends(): Promise<[FaultBackend, FaultBackend, FaultBackend]> {
  const started = await Promise.all(['b1', 'b2', 'b3'].map((name) => startFaultBackend({ name })));
  backends = started;
  return started as [FaultBackend, FaultBackend, FaultBackend];
}

/**
 * undici runs its headers/body timeouts (the proxy's `readTimeout`) on a timer wheel that ticks
 * every ~500 ms (`RESOLUTION_MS` = 1000 in undici's lib/util/timers.js), so a 504 lands up to a
 * second after `readTimeout`.
 */
const UNDICI_TIMER_RESOLUTION_MS = 1000;

describe('faults under load', { timeout: 30_000 }, () => {
  it('a SIGKILLed backend: zero failed requests, unhealthy within the thresholds, traffic back after restart', async () => {
    const killed = await startBackendProcess('victim');
    processes = [killed];
    const [b2, b3] = await Promise.all(['b2', 'b3'].map((name) => startFaultBackend({ name })));
    backends = [b2!, b3!];
    serve = await startServe({
      config: (port) => serveConfig(port, { backends: [killed.id, b2!.id, b3!.id] }),
    });
    const load = startLoad({ port: serve.port, concurrency: 8, pauseMs: 1, maxDurationMs: 20_000 });
    await waitFor('the victim to serve traffic', () => killed.hits.length >= 20, 5000);

    const killedAt = Date.now();
    await killed.kill('SIGKILL');
    await sleep(UNHEALTHY_BOUND_MS + 500);

    // Retries stop once health marks it down: the last access-log line with more than one
    // attempt is no later than the unhealthy bound after the kill.
    const retriedLines = accessLines(serve).filter((l) => (l.attempts as number) > 1 && logTime(l) >= killedAt);
    expect(retriedLines.length, 'connect failures were retried on another backend').toBeGreaterThan(0);
    const lastRetry = Math.max(...retriedLines.map(logTime));
    expect(lastRetry - killedAt).toBeLessThanOrEqual(UNHEALTHY_BOUND_MS);
    const down = transitions(serve, killed.id, false);
    expect(down.length, `a health transition for ${killed.id} is logged`).toBeGreaterThan(0);
    expect(logTime(down[0]!) - killedAt).toBeLessThanOrEqual(UNHEALTHY_BOUND_MS);

    const hitsBefore = killed.hits.length;
    await killed.restart();
    // "Its restart": the moment it listens again (spawning node itself is not the proxy's time).
    const restartedAt = Date.now();
    await waitFor('traffic back to the restarted backend', () => killed.hits.length > hitsBefore, 5000);
    const firstHit = killed.hits[hitsBefore]!;
    const up = transitions(serve, killed.id, true).filter((l) => logTime(l) >= restartedAt);
    console.info(
      `SIGKILL: down after ${logTime(down[0]!) - killedAt} ms, up logged after ${up.length > 0 ? logTime(up[0]!) - restartedAt : 'never'} ms, first request after ${firstHit - restartedAt} ms`,
    );
    expect(firstHit - restartedAt).toBeLessThanOrEqual(HEALTHY_BOUND_MS);
    await sleep(300);

    const counts = await load.stop();
    const summary = summarize(counts, serve);
    expect(counts.failed, summary).toBe(0);
    expect(counts.succeeded, summary).toBe(counts.sent);
    expect(counts.sent, summary).toBeGreaterThan(200);
    expect(counts.retried, summary).toBeGreaterThan(0);
  });

  it('a backend that accepts and then resets connections: no idempotent request fails', async () => {
    const [b1, b2, b3] = await threeBackends();
    serve = await startServe({
      config: (port) => serveConfig(port, { backends: [b1.id, b2.id, b3.id] }),
    });
    const load = startLoad({ port: serve.port, concurrency: 8, pauseMs: 1, maxDurationMs: 20_000 });
    await waitFor('warm-up traffic on b1', () => b1.traffic() >= 20, 5000);

    const acceptedBefore = b1.connections;
    const resetAt = Date.now();
    b1.mode = 'reset';
    await sleep(UNHEALTHY_BOUND_MS + 500);
    const counts = await load.stop();
    const summary = summarize(counts, serve);

    expect(b1.connections - acceptedBefore, 'b1 accepted and reset connections').toBeGreaterThan(0);
    expect(counts.failed, summary).toBe(0);
    expect(counts.succeeded, summary).toBe(counts.sent);
    expect(load.between(resetAt, Number.POSITIVE_INFINITY).length, summary).toBeGreaterThan(100);
    expect(transitions(serve, b1.id, false).length, 'b1 marked unhealthy').toBeGreaterThan(0);
  });

  it('a hanging backend: 504 after readTimeout, nothing else fails, no stuck sockets afterwards', async () => {
    const readTimeout = 500;
    const [b1, b2, b3] = await threeBackends();
    serve = await startServe({
      config: (port) => serveConfig(port, { backends: [b1.id, b2.id, b3.id], peer: { readTimeout } }),
    });
    const load = startLoad({ port: serve.port, concurrency: 8, pauseMs: 1, maxDurationMs: 20_000, timeoutMs: 5000 });
    await waitFor('warm-up traffic on b1', () => b1.traffic() >= 20, 5000);
    const fdsBefore = serve.fds();

    const hungAt = Date.now();
    b1.mode = 'hang';
    await sleep(UNHEALTHY_BOUND_MS + readTimeout + UNDICI_TIMER_RESOLUTION_MS + 1500);
    const counts = await load.stop();
    const summary = summarize(counts, serve);

    const failures = load.records.filter((r) => r.status !== 200);
    expect(failures.length, `some requests reached the hung backend: ${summary}`).toBeGreaterThan(0);
    console.info(`hang: 504 latencies ${failures.map((f) => f.end - f.start).join(' ')}`);
    for (const failure of failures) {
      expect(failure.error, summary).toBeUndefined();
      expect(failure.status, summary).toBe(504);
      expect(failure.end - failure.start).toBeGreaterThanOrEqual(readTimeout - 50);
      expect(failure.end - failure.start).toBeLessThanOrEqual(
        readTimeout + UNDICI_TIMER_RESOLUTION_MS + SCHEDULING_SLACK_MS,
      );
    }
    // Once health has taken b1 out, nothing fails any more.
    const late = load.between(
      hungAt + UNHEALTHY_BOUND_MS + readTimeout + UNDICI_TIMER_RESOLUTION_MS,
      Number.POSITIVE_INFINITY,
    );
    expect(late.length).toBeGreaterThan(20);
    expect(late.filter((r) => r.status !== 200)).toEqual([]);

    // The proxy gave up on the hung upstream sockets: b1 sees them closed (a health check may be in flight).
    await waitFor('the proxy to close its sockets to the hung backend', () => b1.sockets.size <= 1, readTimeout + 2000);
    await waitFor('proxy fds back to their level before the fault', () => serve!.fds() <= fdsBefore + 2, 3000);
  });

  it('a backend answering 503: ejected within consecutiveFailures, never more than maxEjectedPercent', async () => {
    const consecutiveFailures = 3;
    const concurrency = 2;
    const [b1, b2, b3] = await threeBackends();
    b1.mode = '503';
    b2.mode = '503';
    // 34 % of three backends allows one ejection: b1 or b2 is ejected, the other must stay in.
    const outlier = { consecutiveFailures, baseEjectionMs: 30_000, maxEjectionMs: 60_000, maxEjectedPercent: 34 };
    serve = await startServe({
      config: (port) => serveConfig(port, { backends: [b1.id, b2.id, b3.id], health: false, outlier }),
    });
    const load = startLoad({ port: serve.port, concurrency, pauseMs: 2, maxDurationMs: 20_000 });
    await waitFor('300 requests', () => load.counts.sent >= 300, 10_000);
    const counts = await load.stop();
    const summary = summarize(counts, serve);

    // Every request b1/b2 answered counts, the readiness probe of startServe included: the
    // detector sees it like any other.
    const answered = (b: FaultBackend) => b.requests.filter((r) => r.target !== HEALTH.path);
    const failing = [answered(b1).length, answered(b2).length].sort((a, b) => a - b);
    // The ejected one got at most consecutiveFailures requests, plus what was already in flight.
    expect(failing[0], summary).toBeLessThanOrEqual(consecutiveFailures + concurrency);
    expect(failing[0], summary).toBeGreaterThanOrEqual(consecutiveFailures);
    // The other is still served: ejecting it too would exceed maxEjectedPercent.
    expect(failing[1], summary).toBeGreaterThan(50);
    // Every 503 a backend sent to the load reached the client unchanged; nothing else failed.
    expect(counts.byStatus['503'] ?? 0, summary).toBe(b1.traffic() + b2.traffic());
    expect(counts.byStatus['200'] ?? 0, summary).toBe(b3.traffic());
    expect(counts.errors, summary).toEqual({});
    expect(counts.sent).toBe(counts.succeeded + counts.failed);
  });

  it('a backend closing keep-alive connections as they are reused: no client-visible error', async () => {
    const [b1, b2, b3] = await threeBackends();
    b1.mode = 'close-on-reuse';
    serve = await startServe({
      config: (port) => serveConfig(port, { backends: [b1.id, b2.id, b3.id] }),
    });
    const load = startLoad({ port: serve.port, concurrency: 8, pauseMs: 1, maxDurationMs: 20_000 });
    await sleep(4000);
    const counts = await load.stop();
    const summary = summarize(counts, serve);

    const reusedThenDropped = b1.requests.filter((r) => r.indexOnConnection > 0 && r.target !== HEALTH.path).length;
    expect(reusedThenDropped, 'the proxy did reuse b1 connections (the fault was exercised)').toBeGreaterThan(0);
    expect(counts.failed, summary).toBe(0);
    expect(counts.succeeded, summary).toBe(counts.sent);
    expect(counts.sent, summary).toBeGreaterThan(200);
    // Stale-socket resends go to the same peer and do not count as attempts in the access log;
    // each request b1 dropped on a reused connection is one the proxy had to send again.
    counts.retried = reusedThenDropped + retriedFromLog(serve);
    console.info(`keep-alive close: ${JSON.stringify(counts)}`);
  });
});
