// Aggregation of rounds, ratios to the reference rows, the project's targets, and the tables of
// the results section of docs/benchmarks.md.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';

/** Median of a non-empty list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * One row per target: medians over the rounds (req/s, p50, p99), errors summed over rounds and
 * warm-up, and req/s as a ratio to the `http-proxy` row and to the `floor` row when the scenario has them.
 * With `bodyBytes` (body bytes one request carries), also `mbps`: the median req/s × bodyBytes, in MB/s
 * (10^6 bytes); otherwise `mbps` is null.
 */
export function summarize(targets, runs, bodyBytes) {
  const rows = targets.map((target) => {
    const mine = runs.filter((run) => run.target === target.id);
    const measured = mine.filter((run) => !run.warmup);
    return {
      target: target.id,
      label: target.label,
      rps: median(measured.map((run) => run.rps)),
      p50Ms: median(measured.map((run) => run.p50Ms)),
      p99Ms: median(measured.map((run) => run.p99Ms)),
      cpuUsPerRequest: median(measured.map((run) => run.cpuUsPerRequest ?? Number.NaN)),
      requests: measured.reduce((sum, run) => sum + run.requests, 0),
      errors: mine.reduce((sum, run) => sum + run.errors, 0),
      rounds: measured.map((run) => ({
        rps: round(run.rps, 1),
        p50Ms: run.p50Ms,
        p99Ms: run.p99Ms,
        errors: run.errors,
      })),
    };
  });
  const byId = new Map(rows.map((row) => [row.target, row]));
  for (const row of rows) {
    row.vsHttpProxy = byId.has('http-proxy') ? round(row.rps / byId.get('http-proxy').rps, 3) : null;
    row.vsFloor = byId.has('floor') ? round(row.rps / byId.get('floor').rps, 3) : null;
    row.mbps = bodyBytes ? round((row.rps * bodyBytes) / 1e6, 1) : null;
    row.rps = round(row.rps, 1);
    row.cpuUsPerRequest = Number.isFinite(row.cpuUsPerRequest) ? round(row.cpuUsPerRequest, 1) : null;
  }
  return rows;
}

/** `value` rounded to `digits` decimals. */
export function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The highest req/s of a row's rounds. */
function bestRps(row) {
  return Math.max(...row.rounds.map((r) => r.rps));
}

function row(scenarios, scenario, target) {
  return scenarios.find((s) => s.id === scenario)?.rows.find((r) => r.target === target);
}

/**
 * The project's targets, evaluated on this run's rows. Each: `{ id, goal, comparison, value,
 * threshold, met }` (`comparison` names the ratio without the bar; `met` is null when the run did
 * not measure both sides).
 */
export function evaluateGoals(scenarios, rss) {
  const goals = [];
  // `cpuValue`: the same ratio from CPU time per request (den's cost / num's cost), the figure a
  // busy shared host disturbs least. `bestValue`: the ratio of each side's best round (the host's
  // noise only ever slows a round down). `met` is judged on the medians' throughput, as the targets
  // are stated; the other two are shown beside it, never used for the verdict.
  const ratio = (id, goal, comparison, num, den, threshold) => {
    const value = num && den ? round(num.rps / den.rps, 3) : null;
    const cpuValue =
      num?.cpuUsPerRequest && den?.cpuUsPerRequest ? round(den.cpuUsPerRequest / num.cpuUsPerRequest, 3) : null;
    const bestValue = num?.rounds?.length && den?.rounds?.length ? round(bestRps(num) / bestRps(den), 3) : null;
    goals.push({
      id,
      goal,
      comparison,
      value,
      cpuValue,
      bestValue,
      threshold,
      met: value === null ? null : value >= threshold,
    });
  };
  const sy = row(scenarios, 'round-robin', 'switchyard');
  ratio(
    'vs-http-proxy',
    'Switchyard ≥ 1.5× http-proxy req/s',
    'Switchyard ÷ http-proxy',
    sy,
    row(scenarios, 'round-robin', 'http-proxy'),
    1.5,
  );
  ratio(
    'vs-reply-from',
    'Switchyard ≥ 1.5× @fastify/reply-from req/s',
    'Switchyard ÷ @fastify/reply-from',
    sy,
    row(scenarios, 'round-robin', 'reply-from'),
    1.5,
  );
  ratio(
    'vs-floor',
    'Switchyard ≥ 0.95× the undici floor req/s',
    'Switchyard ÷ the undici floor',
    sy,
    row(scenarios, 'round-robin', 'floor'),
    0.95,
  );
  const peersP99 = ['http-proxy', 'reply-from'].map((id) => row(scenarios, 'round-robin', id)?.p99Ms);
  if (sy && peersP99.every((v) => v !== undefined)) {
    const best = Math.min(...peersP99);
    goals.push({
      id: 'p99',
      goal: 'Switchyard p99 ≤ both Node peers’ p99 (ratio to the better peer ≤ 1)',
      comparison: 'Switchyard p99 ÷ the better Node peer’s p99 (lower is better)',
      value: round(sy.p99Ms / best, 3),
      threshold: 1,
      met: sy.p99Ms <= best,
    });
  }
  ratio(
    'access-log',
    'access log on (default buffer) ≥ 0.95× off',
    'access log on (default buffer) ÷ off',
    row(scenarios, 'round-robin', 'switchyard-log'),
    sy,
    0.95,
  );
  ratio(
    'access-log-buffered',
    'access log on, 64 KiB log buffer ≥ 0.85× off',
    'access log on with a 64 KiB buffer ÷ off',
    row(scenarios, 'round-robin', 'switchyard-log-buffered'),
    sy,
    0.85,
  );
  ratio(
    'access-log-turn',
    'access log on, one write per turn ≥ 0.85× off',
    'access log on, one write per turn (logBufferBytes 0) ÷ off',
    row(scenarios, 'round-robin', 'switchyard-log-turn'),
    sy,
    0.85,
  );
  // Large bodies: each bar is the target for that scenario, on req/s as the others.
  const large = [
    ['body-64k', '64 KiB each way', 1.5, 1.5],
    ['download-1m', '1 MiB download', 1.5, 1.3],
    ['upload-1m', '1 MiB upload', 1.5, 1.3],
  ];
  for (const [scenario, what, vsHttpProxy, vsFloor] of large) {
    const mine = row(scenarios, scenario, 'switchyard');
    ratio(
      `${scenario}-vs-http-proxy`,
      `${what}: Switchyard ≥ ${vsHttpProxy}× http-proxy req/s`,
      `${what}: Switchyard ÷ http-proxy`,
      mine,
      row(scenarios, scenario, 'http-proxy'),
      vsHttpProxy,
    );
    ratio(
      `${scenario}-vs-floor`,
      `${what}: Switchyard ≥ ${vsFloor}× the undici floor req/s`,
      `${what}: Switchyard ÷ the undici floor`,
      mine,
      row(scenarios, scenario, 'floor'),
      vsFloor,
    );
  }
  const big = row(scenarios, 'body-64k', 'switchyard');
  const bigNode = row(scenarios, 'body-64k', 'node-server');
  if (big?.cpuUsPerRequest && bigNode?.cpuUsPerRequest) {
    const value = round(big.cpuUsPerRequest / bigNode.cpuUsPerRequest, 3);
    goals.push({
      id: 'body-64k-cpu',
      goal: '64 KiB each way: Switchyard CPU per request ≤ 2.2× node:http answering by itself',
      comparison: '64 KiB each way: Switchyard CPU µs/req ÷ node:http answering by itself (lower is better)',
      value: null,
      cpuValue: value,
      threshold: 2.2,
      met: value <= 2.2,
    });
  }
  ratio(
    'keyed',
    'consistent hash on a header ≥ 0.95× round-robin (same keyed load)',
    'consistent hash on a header ÷ round-robin, same keyed load',
    row(scenarios, 'keyed', 'switchyard-keyed'),
    row(scenarios, 'keyed', 'switchyard'),
    0.95,
  );
  ratio(
    'backends-1000',
    '1,000 backends ≥ 0.90× 3 backends',
    '1,000 backends ÷ 3 backends',
    row(scenarios, 'backends', 'switchyard-wide'),
    row(scenarios, 'backends', 'switchyard'),
    0.9,
  );
  ratio(
    'backends-1000-skip',
    '1,000 backends ≥ 0.90× 3 backends, both with health.skipOnTraffic',
    '1,000 backends ÷ 3, both with health.skipOnTraffic',
    row(scenarios, 'backends', 'switchyard-wide-skip'),
    row(scenarios, 'backends', 'switchyard-skip'),
    0.9,
  );
  if (rss?.checkpoints?.length >= 2) {
    const [first, last] = [rss.checkpoints[0], rss.checkpoints.at(-1)];
    const value = round(last.rssBytes / first.rssBytes, 3);
    goals.push({
      id: 'rss',
      goal: `RSS after ${last.requests.toLocaleString('en')} requests ≤ 1.10× after ${first.requests.toLocaleString('en')}`,
      comparison: `RSS after ${last.requests.toLocaleString('en')} requests ÷ after ${first.requests.toLocaleString('en')}`,
      value,
      threshold: 1.1,
      met: value <= 1.1,
    });
  }
  return goals;
}

const fmt = (value, digits = 0) =>
  value === null || value === undefined
    ? '–'
    : value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Whether the rows carry MB/s (a scenario with bodies): then tables show it beside req/s. */
const hasMbps = (rows) => rows.some((r) => r.mbps !== null && r.mbps !== undefined);

/** Rows of one scenario as text columns: target, req/s, [MB/s,] p50, p99, errors, ×http-proxy, ×floor, CPU. */
export function tableCells(rows) {
  const mbps = hasMbps(rows);
  return rows.map((r) => [
    r.label,
    fmt(r.rps),
    ...(mbps ? [fmt(r.mbps, 1)] : []),
    fmt(r.p50Ms, 2),
    fmt(r.p99Ms, 2),
    fmt(r.errors),
    r.vsHttpProxy === null ? '–' : `${fmt(r.vsHttpProxy, 2)}×`,
    r.vsFloor === null ? '–' : `${fmt(r.vsFloor, 2)}×`,
    fmt(r.cpuUsPerRequest, 1),
  ]);
}

const HEAD = ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', '× http-proxy', '× undici floor', 'CPU µs/req'];

/** The column heads for `rows`: MB/s after req/s when they carry it. */
function head(rows) {
  return hasMbps(rows) ? [HEAD[0], HEAD[1], 'MB/s', ...HEAD.slice(2)] : HEAD;
}

/** A fixed-width text table for the terminal. */
export function textTable(rows) {
  const heads = head(rows);
  const cells = [heads, ...tableCells(rows)];
  const widths = heads.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells
    .map((c) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  '))
    .join('\n');
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(rows) {
  const heads = head(rows);
  const lines = [`| ${heads.join(' | ')} |`, `|${heads.map((_, i) => (i === 0 ? ':---' : '---:')).join('|')}|`];
  for (const c of tableCells(rows)) lines.push(`| ${c.join(' | ')} |`);
  return lines.join('\n');
}

/**
 * The ratios behind the project's targets as a Markdown table: each from the medians' req/s, and the
 * same ratio from CPU time per request (the figure a busy host disturbs least).
 */
export function markdownRatios(goals) {
  const lines = ['| comparison | ratio of req/s (medians) | ratio from CPU µs/req |', '|:---|---:|---:|'];
  const cell = (value) => (value === undefined || value === null ? '–' : fmt(value, 2));
  for (const g of goals) lines.push(`| ${g.comparison ?? g.goal} | ${cell(g.value)} | ${cell(g.cpuValue)} |`);
  return lines.join('\n');
}

/** One sentence on the RSS run: at rest, at the first checkpoint and at the last. */
function rssSentence(rss) {
  const [first, last] = [rss.checkpoints[0], rss.checkpoints.at(-1)];
  const mib = (bytes) => `${fmt(bytes / 2 ** 20, 1)} MiB`;
  const rest = rss.samples?.[0] === undefined ? '' : `${mib(rss.samples[0].rssBytes)} before the first request, `;
  return (
    `**RSS** of a fresh \`switchyard serve\` under the same load: ${rest}${mib(first.rssBytes)} after ` +
    `${fmt(first.requests)} requests and ${mib(last.rssBytes)} after ${fmt(last.requests)} ` +
    `(${fmt(last.rssBytes / first.rssBytes, 2)}×).`
  );
}

/**
 * Switchyard variants (access log per turn or with a 64 KiB buffer, metrics on) whose cost is
 * read on the small-GET scenario; the body scenarios leave them out (runs before did not), and
 * the tables and chart show them only there.
 */
export const SMALL_GET_VARIANTS = new Set(['switchyard-log-turn', 'switchyard-log-buffered', 'switchyard-metrics']);

/** The rows of `scenario` the tables and chart show (see {@link SMALL_GET_VARIANTS}). */
export function shownRows(scenario) {
  if (scenario.id === 'round-robin') return scenario.rows;
  return scenario.rows.filter((r) => !SMALL_GET_VARIANTS.has(r.target));
}

/**
 * The results section of docs/benchmarks.md: one table per scenario, the RSS run in one sentence
 * and the ratios. Compact on purpose: every round and the machine details stay in the JSON.
 */
export function markdownReport(doc) {
  const parts = doc.scenarios.map((s) => `### ${s.title}\n\n${s.description}\n\n${markdownTable(shownRows(s))}\n`);
  if (doc.rss?.checkpoints?.length >= 2) parts.push(`${rssSentence(doc.rss)}\n`);
  if (doc.goals?.length) parts.push(`### Ratios\n\n${markdownRatios(doc.goals)}\n`);
  return parts.join('\n');
}

const START = '<!-- bench:results:start (generated by bench/proxy.mjs; edit outside these markers) -->';
const END = '<!-- bench:results:end -->';

/** Replaces the text between the markers in `file` with `text`; false when the file or markers are missing. */
export async function replaceGeneratedSection(file, text) {
  if (!existsSync(file)) return false;
  const doc = await readFile(file, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from === -1 || to < from) return false;
  await writeFile(file, `${doc.slice(0, from + START.length)}\n\n${text}\n${doc.slice(to)}`);
  return true;
}
