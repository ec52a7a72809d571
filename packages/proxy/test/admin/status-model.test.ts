import { describe, expect, it } from 'vitest';
import {
  exactClock,
  LATENCY_BOUNDS_MS,
  latencyBucket,
  quantileMs,
  RollingWindow,
} from '../../src/admin/rolling-window.js';
import { mergeRaw, type StatusRaw, statusDocument } from '../../src/admin/status-model.js';

describe('rolling window', () => {
  it('puts a latency in the first bucket whose bound is at least it', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.1)).toBe(0);
    expect(latencyBucket(0.11)).toBe(1);
    for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) expect(latencyBucket(LATENCY_BOUNDS_MS[i] as number)).toBe(i);
    expect(latencyBucket(1e9)).toBe(LATENCY_BOUNDS_MS.length);
  });

  it('keeps the last `size` seconds only, and reports p99 as the bucket bound', () => {
    let now = 1_000_000;
    const w = new RollingWindow(60, exactClock(() => now).second);
    for (let i = 0; i < 99; i++) w.answered(1, false);
    w.answered(500, true);
    w.failed();
    let t = w.totals();
    expect(t.requests).toBe(101);
    expect(t.errors).toBe(2);
    expect(t.seconds).toBe(1);
    // 99 of 100 samples at 1 ms: p99 is the bound of 1 ms's bucket; p100 that of 500 ms's.
    expect(quantileMs(t.latency, 0.99)).toBe(LATENCY_BOUNDS_MS[latencyBucket(1)]);
    expect(quantileMs(t.latency, 1)).toBe(LATENCY_BOUNDS_MS[latencyBucket(500)]);
    now += 30_000;
    w.answered(2, false);
    t = w.totals();
    expect(t.requests).toBe(102);
    expect(t.seconds).toBe(31);
    now += 30_000;
    t = w.totals();
    // The first second left the window; the one 30 s ago is still in.
    expect(t.requests).toBe(1);
    expect(t.seconds).toBe(60);
    now += 120_000;
    expect(w.totals().requests).toBe(0);
    expect(quantileMs(w.totals().latency, 0.99)).toBeNull();
  });
});

describe('status model', () => {
  const totals = (requests: number, errors: number, at: number) => {
    const latency = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    latency[at] = requests - errors;
    return { seconds: 10, requests, errors, latency };
  };
  const raw = (healthy: boolean, ejected: boolean, inflight: number, requests: number, errors: number): StatusRaw => ({
    startedAt: 1000,
    listening: true,
    draining: false,
    routes: [{ prefix: '/', upstream: 'web', failover: [] }],
    downstream: totals(requests, errors, 3),
    upstreams: [
      {
        name: 'web',
        backends: [
          { id: 'a:1', healthy, ejected, ready: healthy && !ejected, inflight, window: totals(requests, errors, 5) },
          { id: 'b:1', healthy: true, ejected: false, ready: true, inflight: 1, window: totals(0, 0, 0) },
        ],
      },
    ],
  });

  it('merges workers: sums counts, healthy only when every worker says so, ejected when any does', () => {
    const merged = mergeRaw([raw(true, false, 2, 100, 1), raw(false, true, 3, 300, 3)]);
    const doc = statusDocument(merged, 2, 11_000);
    expect(doc.workers).toBe(2);
    expect(doc.uptimeSeconds).toBe(10);
    const a = doc.upstreams[0]?.backends[0];
    expect(a).toMatchObject({
      id: 'a:1',
      healthy: false,
      ejected: true,
      ready: false,
      inflight: 5,
      rps: 40,
      errorRate: 0.01,
    });
    expect(a?.p99Ms).toBe(LATENCY_BOUNDS_MS[5]);
    expect(doc.upstreams[0]?.readyBackends).toBe(1);
    expect(doc.ready).toBe(true);
    expect(doc.downstream.rps).toBe(40);
  });

  it('is not ready when an upstream has no ready backend, when draining, or with no worker', () => {
    const r = raw(false, false, 0, 0, 0);
    const none: StatusRaw = { ...r, upstreams: [{ name: 'web', backends: [r.upstreams[0]!.backends[0]!] }] };
    expect(statusDocument(none, 1).ready).toBe(false);
    expect(statusDocument({ ...raw(true, false, 0, 0, 0), draining: true }, 1).ready).toBe(false);
    expect(statusDocument({ ...raw(true, false, 0, 0, 0), listening: false }, 1).ready).toBe(false);
    expect(mergeRaw([]).listening).toBe(false);
  });
});
