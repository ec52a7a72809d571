import type { SelectorResult, SimulationReport } from './run.js';

const DASH = '-';

/** `1234567` → `1.23M`, `45678` → `45.7k`. */
export function compact(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

const fixed = (digits: number) => (n: number | undefined) => (n === undefined ? DASH : n.toFixed(digits));
const percent = (n: number | undefined) => (n === undefined ? DASH : `${(100 * n).toFixed(2)}%`);

type Row = readonly [string, (r: SelectorResult) => string];

const ROWS: readonly Row[] = [
  ['key shares max/mean', (r) => fixed(3)(r.shares.sampled.maxOverMean)],
  ['key shares min/mean', (r) => fixed(3)(r.shares.sampled.minOverMean)],
  ['key shares CV', (r) => fixed(4)(r.shares.sampled.cv)],
  ['exact hash-space max/mean', (r) => fixed(4)(r.shares.exact?.maxOverMean)],
  ['keys moved', (r) => percent(r.movement?.moved)],
  ['minimum possible', (r) => percent(r.movement?.minimum)],
  [
    'moved / minimum',
    (r) => (r.movement === undefined ? DASH : `${(r.movement.moved / r.movement.minimum).toFixed(2)}x`),
  ],
  ['picks/s', (r) => compact(r.shares.picksPerSecond)],
  ['latency p50 ms', (r) => fixed(1)(r.load?.latency.p50)],
  ['latency p99 ms', (r) => fixed(1)(r.load?.latency.p99)],
  ['latency p99.9 ms', (r) => fixed(1)(r.load?.latency.p999)],
  ['in-flight/worker max/mean', (r) => fixed(2)(r.load?.inFlight.maxOverMean)],
  ['in-flight/worker CV', (r) => fixed(3)(r.load?.inFlight.cv)],
  ['peak in-flight (1 backend)', (r) => (r.load === undefined ? DASH : String(r.load.inFlight.peak))],
  ['requests to slow backends', (r) => percent(r.load?.slow.requestShare)],
];

/** The plain-text report: a header describing the run, then one column per selector. */
export function formatReport(report: SimulationReport): string {
  const o = report.options;
  const m = o.latencyModel;
  const lines: string[] = [];
  lines.push(
    `switchyard simulate: ${o.backends} backends (weights ${o.weights.join(',')}), ${compact(o.keys)} keys, ` +
      `membership change: -${o.remove} +${o.add}, seed ${o.seed}`,
  );
  if (o.requests > 0) {
    const slowCount = Math.ceil(m.slowFraction * o.backends);
    const first = report.results[0]?.load;
    lines.push(
      `load model: ${compact(o.requests)} requests, Poisson arrivals at ${o.utilization} of capacity, ` +
        `${o.concurrency} workers per weight, exponential service ${m.mean} ms` +
        (slowCount > 0 ? `, ${slowCount} slow backend(s) at ${m.slowMean} ms` : '') +
        (first === undefined || slowCount === 0
          ? ''
          : ` (${(100 * first.slow.capacityShare).toFixed(1)}% of capacity)`) +
        (o.zipf > 0 ? `, Zipf(${o.zipf}) keys` : ', uniform keys'),
    );
  }
  lines.push('');
  const labelWidth = Math.max(...ROWS.map(([label]) => label.length));
  const cells = ROWS.map(([, cell]) => report.results.map(cell));
  const widths = report.results.map((r, i) => Math.max(r.name.length, ...cells.map((row) => row[i]!.length)));
  lines.push(`${''.padEnd(labelWidth)}  ${report.results.map((r, i) => r.name.padStart(widths[i]!)).join('  ')}`);
  ROWS.forEach(([label], k) => {
    lines.push(`${label.padEnd(labelWidth)}  ${cells[k]!.map((c, i) => c.padStart(widths[i]!)).join('  ')}`);
  });
  lines.push('');
  for (const r of report.results) {
    const note = r.loadAware && !r.hashed ? ' (key shares: an idle pool, where it picks at random)' : '';
    lines.push(`${r.name}: ${r.description}${note}`);
  }
  return lines.join('\n');
}
