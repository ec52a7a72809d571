import { type Backend, LoadTracker, type Selector } from '@switchyard/core';
import type { LatencyModel } from './options.js';
import type { ProgressFn } from './shares.js';
import { EventQueue, exponential, keySampler, quantile, type Spread, seededRandom, spread } from './stats.js';

/** What one load simulation measured. */
export interface LoadReport {
  readonly requests: number;
  /** Simulated time the run covered, ms. */
  readonly durationMs: number;
  /** End-to-end latency quantiles (queueing + service), ms. */
  readonly latency: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
  };
  /** Spread of each backend's time-averaged in-flight count per worker (1 = the pool's mean). */
  readonly inFlight: Spread & { readonly peak: number };
  /** Share of requests sent to the slow backends, and their share of the pool's capacity. */
  readonly slow: { readonly backends: number; readonly requestShare: number; readonly capacityShare: number };
  /** Sampled over time: the largest in-flight count on any backend and the mean over backends. */
  readonly timeline: {
    readonly t: readonly number[];
    readonly max: readonly number[];
    readonly mean: readonly number[];
  };
}

/** Inputs of {@link simulateLoad}. */
export interface LoadInputs {
  readonly pool: readonly Backend[];
  readonly build: (backends: readonly Backend[], tracker: LoadTracker, random: () => number) => Selector;
  readonly model: LatencyModel;
  readonly requests: number;
  readonly utilization: number;
  readonly concurrency: number;
  readonly keys: number;
  readonly zipf: number;
  readonly seed: number;
  readonly progress: ProgressFn;
}

const TIMELINE_POINTS = 200;

/** Which backends are slow under `model`: the first ⌈fraction × n⌉ in id order. */
export function slowBackends(pool: readonly Backend[], model: LatencyModel): Set<string> {
  const count = Math.ceil(model.slowFraction * pool.length);
  return new Set(
    [...pool]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, count)
      .map((b) => b.id),
  );
}

/**
 * Replays `requests` arrivals (Poisson, at `utilization` of the pool's capacity)
 * through a selector in a discrete-event simulation with an injected clock — no
 * real waiting. Each backend has `concurrency × weight` workers serving requests in
 * exponential time with its model mean, and queues FIFO beyond that; the selector's
 * tracker counts a request in flight from arrival to completion, as the proxy does.
 */
export function simulateLoad(inputs: LoadInputs): LoadReport {
  const { pool, model, requests, concurrency, progress } = inputs;
  const n = pool.length;
  let now = 0;
  const tracker = new LoadTracker({ now: () => now });
  const selectorRandom = seededRandom(inputs.seed ^ 0x5e1ec7);
  const selector = inputs.build(pool, tracker, selectorRandom);
  const random = seededRandom(inputs.seed);
  const nextKey = keySampler(Math.max(1, Math.min(inputs.keys, 1_000_000)), inputs.zipf, random);

  const slow = slowBackends(pool, model);
  const index = new Map(pool.map((b, i) => [b.id, i]));
  const means = pool.map((b) => (slow.has(b.id) ? model.slowMean : model.mean));
  const workers = pool.map((b) => concurrency * b.weight);
  const capacity = pool.reduce((s, _b, i) => s + workers[i]! / means[i]!, 0);
  const slowCapacity = pool.reduce((s, b, i) => s + (slow.has(b.id) ? workers[i]! / means[i]! : 0), 0);
  const rate = inputs.utilization * capacity;

  const busy = new Int32Array(n);
  const inFlight = new Int32Array(n);
  const area = new Float64Array(n);
  const lastChange = new Float64Array(n);
  const queues: number[][] = pool.map(() => []);
  const queueHeads = new Int32Array(n);
  const arrivedAt = new Float64Array(requests);
  const backendOf = new Int32Array(requests);
  const latencies = new Float64Array(requests);
  const sent = new Float64Array(n);
  const completions = new EventQueue();
  let peak = 0;

  const touch = (b: number): void => {
    area[b]! += inFlight[b]! * (now - lastChange[b]!);
    lastChange[b] = now;
  };
  const serve = (request: number, b: number): void => {
    busy[b]!++;
    completions.push(now + exponential(random, means[b]!), request);
  };
  const complete = (): void => {
    now = completions.peekTime();
    const request = completions.pop();
    const b = backendOf[request]!;
    touch(b);
    inFlight[b]!--;
    busy[b]!--;
    latencies[request] = now - arrivedAt[request]!;
    tracker.finish(pool[b]!.id, latencies[request]!);
    const queue = queues[b]!;
    if (queueHeads[b]! < queue.length) {
      serve(queue[queueHeads[b]!]!, b);
      queueHeads[b]!++;
      if (queueHeads[b]! > 1024 && queueHeads[b]! * 2 > queue.length) {
        queue.splice(0, queueHeads[b]!);
        queueHeads[b] = 0;
      }
    }
  };

  const expectedDuration = requests / rate;
  const sampleEvery = expectedDuration / TIMELINE_POINTS;
  const timeline = { t: [] as number[], max: [] as number[], mean: [] as number[] };
  let nextSample = 0;
  let arrival = 0;
  for (let r = 0; r < requests; r++) {
    arrival += exponential(random, 1 / rate);
    while (completions.peekTime() <= arrival) complete();
    now = arrival;
    while (now >= nextSample && timeline.t.length < TIMELINE_POINTS) {
      let max = 0;
      for (let b = 0; b < n; b++) if (inFlight[b]! > max) max = inFlight[b]!;
      timeline.t.push(nextSample);
      timeline.max.push(max);
      timeline.mean.push(tracker.total() / n);
      nextSample += sampleEvery;
    }
    const step = selector.select(`key-${nextKey()}`).next();
    const b = step.done ? 0 : (index.get(step.value.id) ?? 0);
    arrivedAt[r] = now;
    backendOf[r] = b;
    sent[b]!++;
    touch(b);
    inFlight[b]!++;
    if (inFlight[b]! > peak) peak = inFlight[b]!;
    tracker.start(pool[b]!.id);
    if (busy[b]! < workers[b]!) serve(r, b);
    else queues[b]!.push(r);
    if ((r & 0xffff) === 0) progress(r, requests);
  }
  // Drain: every request completes, bounded by the requests already queued.
  for (let guard = 0; completions.size > 0 && guard <= requests; guard++) complete();
  progress(requests, requests);
  for (let b = 0; b < n; b++) touch(b);

  const sorted = latencies.slice().sort();
  const perWorker = pool.map((_b, i) => area[i]! / Math.max(now, 1e-9) / workers[i]!);
  let slowSent = 0;
  pool.forEach((b, i) => {
    if (slow.has(b.id)) slowSent += sent[i]!;
  });
  return {
    requests,
    durationMs: now,
    latency: {
      p50: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
      p99: quantile(sorted, 0.99),
      p999: quantile(sorted, 0.999),
      max: sorted[sorted.length - 1] ?? Number.NaN,
    },
    inFlight: { ...spread(perWorker), peak },
    slow: { backends: slow.size, requestShare: slowSent / requests, capacityShare: slowCapacity / capacity },
    timeline,
  };
}
