import { describe, expect, it } from 'vitest';
import { parseSimulateArgs } from '../src/commands/simulate.js';
import { maglevTableSize } from '../src/config/selector-types.js';
import { formatReport } from '../src/simulate/format.js';
import { parseLatencyModel, parseWeights } from '../src/simulate/options.js';
import { ProgressBar } from '../src/simulate/progress.js';
import { runSimulation, simulatedPools } from '../src/simulate/run.js';
import { EventQueue, keySampler, quantile, seededRandom, spread } from '../src/simulate/stats.js';

describe('switchyard simulate: building blocks', () => {
  it('parses the command line into options', () => {
    const parsed = parseSimulateArgs([
      '--compare',
      'consistent,maglev,bounded-load',
      '--backends',
      '50',
      '--keys',
      '1000',
      '--weights',
      '1,2',
      '--remove',
      '2',
      '--add',
      '1',
      '--latency-model',
      '5,0.2:40',
      '--html',
      'out.html',
    ]);
    expect(parsed.options).toEqual({
      selectors: ['consistent', 'maglev', 'bounded-load'],
      backends: 50,
      keys: 1000,
      weights: [1, 2],
      remove: 2,
      add: 1,
      latencyModel: { mean: 5, slowFraction: 0.2, slowMean: 40 },
    });
    expect(parsed.html).toBe('out.html');
    expect(() => parseSimulateArgs(['--backends', 'ten'])).toThrow(/--backends/);
    expect(() => parseSimulateArgs(['--selector', 'a', '--compare', 'b'])).toThrow(/one or the other/);
    expect(() => parseSimulateArgs(['--bogus'])).toThrow();
  });

  it('parses latency models and weights, rejecting nonsense', () => {
    expect(parseLatencyModel('10')).toEqual({ mean: 10, slowFraction: 0, slowMean: 10 });
    expect(parseLatencyModel('10ms,0.1:50ms')).toEqual({ mean: 10, slowFraction: 0.1, slowMean: 50 });
    expect(() => parseLatencyModel('fast')).toThrow(/--latency-model/);
    expect(() => parseLatencyModel('10,2:50')).toThrow(/slow fraction/);
    expect(parseWeights('1, 2,3')).toEqual([1, 2, 3]);
    expect(() => parseWeights('1,0')).toThrow(/--weights/);
  });

  it('has a working event heap, quantiles, spread and Zipf sampler', () => {
    const q = new EventQueue();
    const random = seededRandom(3);
    const times = Array.from({ length: 500 }, () => random() * 1000);
    times.forEach((t, i) => {
      q.push(t, i);
    });
    const popped: number[] = [];
    while (q.size > 0) popped.push(times[q.pop()]!);
    expect(popped).toEqual([...times].sort((a, b) => a - b));
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4);
    const s = spread([1, 1, 2]);
    expect(s.maxOverMean).toBeCloseTo(1.5, 9);
    expect(s.cv).toBeCloseTo(Math.sqrt(2 / 9) / (4 / 3), 9);
    const zipf = keySampler(1000, 1.2, seededRandom(5));
    const counts = new Array<number>(1000).fill(0);
    for (let i = 0; i < 20_000; i++) counts[zipf()]!++;
    expect(counts[0]!).toBeGreaterThan(counts[10]! * 5);
    const uniform = keySampler(10, 0, seededRandom(5));
    const u = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) u[uniform()]!++;
    expect(Math.min(...u)).toBeGreaterThan(850);
  });

  it('draws the progress bar only on a terminal (or when forced) and for long runs', () => {
    let out = '';
    const tty = { isTTY: true, write: (t: string) => (out += t) };
    const bar = new ProgressBar(tty, { minTotal: 100 });
    bar.update('maglev: keys', 0, 1000);
    bar.update('maglev: keys', 1, 1000);
    bar.update('maglev: keys', 500, 1000);
    bar.done();
    expect(out).toContain('[                              ]   0% maglev: keys');
    expect(out).toContain('[###############               ]  50% maglev: keys');
    expect(out.match(/\r\[/g)).toHaveLength(2);
    expect(out.endsWith('\r\x1b[K')).toBe(true);
    let piped = '';
    const pipe = new ProgressBar({ write: (t: string) => (piped += t) }, { minTotal: 100 });
    pipe.update('x', 5, 1000);
    new ProgressBar(tty, { minTotal: 10_000 }).update('short', 1, 1000);
    expect(piped).toBe('');
  });

  it('chooses a Maglev table that fits the pool', () => {
    expect(maglevTableSize(100)).toBe(65_537);
    expect(maglevTableSize(1000)).toBe(100_003);
  });

  it('removes a seeded choice of backends and appends new ones', () => {
    const { pool, after } = simulatedPools({ ...runSimulationDefaults(), backends: 10, remove: 2, add: 3, seed: 9 });
    expect(pool).toHaveLength(10);
    expect(after).toHaveLength(11);
    expect(after!.filter((b) => !pool.some((p) => p.id === b.id))).toHaveLength(3);
  });
});

function runSimulationDefaults() {
  return runSimulation({ keys: 1, requests: 0, backends: 2 }).options;
}

describe('switchyard simulate: measurements', () => {
  it('reports Maglev exact shares within 1%, ring shares much wider, and movement near the minimum', () => {
    const report = runSimulation({
      selectors: ['maglev', 'consistent'],
      backends: 100,
      keys: 100_000,
      remove: 1,
      requests: 0,
    });
    const [m, c] = report.results;
    expect(m!.shares.exact!.maxOverMean).toBeLessThanOrEqual(1.01);
    expect(c!.shares.exact).toBeUndefined();
    // Sampled shares carry key noise: 1,000 keys per backend gives sd ~ 1/sqrt(1000) = 3.2%.
    expect(m!.shares.sampled.cv).toBeLessThan(0.06);
    // The 160-point ring's own spread adds ~1/sqrt(160) = 7.9% on top.
    expect(c!.shares.sampled.cv).toBeGreaterThan(m!.shares.sampled.cv);
    // A ring moves exactly the removed backend's keys; nothing can move fewer.
    expect(c!.movement!.moved).toBe(c!.movement!.minimum);
    expect(m!.movement!.minimum).toBeCloseTo(0.01, 2);
    expect(m!.movement!.moved).toBeGreaterThan(m!.movement!.minimum);
    expect(m!.movement!.moved / m!.movement!.minimum).toBeLessThan(2.5);
    expect(m!.shares.picksPerSecond).toBeGreaterThan(0);
    expect(m!.load).toBeUndefined();
    const text = formatReport(report);
    expect(text).toMatch(/exact hash-space max\/mean\s+1\.00\d+\s+-/);
    expect(text).toContain('moved / minimum');
  });

  it('is deterministic for a seed (except picks/s)', () => {
    const run = () =>
      runSimulation({ selectors: ['least-request'], backends: 20, keys: 2000, requests: 5000, seed: 4 }).results[0]!;
    const a = run();
    const b = run();
    expect(a.load).toEqual(b.load);
    expect(a.shares.ratios).toEqual(b.shares.ratios);
  });

  it('shows load-aware selectors avoiding slow backends and cutting the tail, with an injected clock', () => {
    const started = performance.now();
    const report = runSimulation({
      selectors: ['round-robin', 'least-request', 'peak-ewma', 'bounded-load'],
      backends: 20,
      keys: 10_000,
      requests: 40_000,
      latencyModel: { mean: 10, slowFraction: 0.2, slowMean: 80 },
      utilization: 0.7,
    });
    const [rr, lr, ewma, bounded] = report.results.map((r) => r.load!);
    // 20 backends x 4 workers; 4 slow at 80 ms: capacity 16 x 4 / 10 + 4 x 4 / 80 = 6.6 per ms,
    // the slow ones hold 0.2 / 6.6 = 3% of it. Round robin sends them 20% and they saturate.
    expect(rr!.slow.capacityShare).toBeCloseTo(0.2 / 6.6, 3);
    expect(rr!.slow.requestShare).toBeCloseTo(0.2, 2);
    for (const aware of [lr!, ewma!]) {
      expect(aware.slow.requestShare).toBeLessThan(0.1);
      expect(aware.latency.p99).toBeLessThan(rr!.latency.p99 / 2);
    }
    expect(bounded!.latency.p99).toBeLessThan(rr!.latency.p99);
    // 40,000 requests at 4.6 per ms cover ~8.7 s of simulated time, far more than the run took.
    expect(rr!.durationMs).toBeGreaterThan(8000);
    expect(performance.now() - started).toBeLessThan(rr!.durationMs * 4);
    expect(rr!.timeline.t.length).toBe(200);
  }, 60_000);

  it('rejects bad options with LB_ERR_INVALID_OPTION naming the flag', () => {
    const bad = (o: Parameters<typeof runSimulation>[0], re: RegExp) =>
      expect(() => runSimulation(o)).toThrow(
        expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION', message: expect.stringMatching(re) }),
      );
    bad({ selectors: ['nope'] }, /--selector: expected one of consistent/);
    bad({ backends: 0 }, /--backends/);
    bad({ backends: 3, remove: 3 }, /--remove/);
    bad({ utilization: 1 }, /--utilization/);
  });
});
