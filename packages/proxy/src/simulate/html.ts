import { formatReport } from './format.js';
import type { SelectorResult, SimulationReport } from './run.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
const W = 640;
const H = 260;
const PAD = { left: 56, right: 16, top: 28, bottom: 40 };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function num(n: number): string {
  return Number.isFinite(n) ? String(Math.round(n * 100) / 100) : '0';
}

/** Axis frame, title and y ticks shared by every chart. */
function frame(
  title: string,
  yMax: number,
  yLabel: string,
  xLabels: [string, string],
  body: string,
  kind: string,
): string {
  const plotH = H - PAD.top - PAD.bottom;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const y = PAD.top + plotH * (1 - f);
      return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${num(y)}" y2="${num(y)}" stroke="#eee"/><text x="${PAD.left - 6}" y="${num(y + 4)}" text-anchor="end" font-size="11">${escapeHtml(num(yMax * f))}</text>`;
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" data-chart="${kind}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title)}">` +
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeHtml(title)}</text>${ticks}` +
    `<text x="14" y="${PAD.top + plotH / 2}" font-size="11" transform="rotate(-90 14 ${PAD.top + plotH / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>` +
    `<text x="${PAD.left}" y="${H - 8}" font-size="11">${escapeHtml(xLabels[0])}</text>` +
    `<text x="${W - PAD.right}" y="${H - 8}" font-size="11" text-anchor="end">${escapeHtml(xLabels[1])}</text>` +
    `${body}<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#333"/>` +
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#333"/></svg>`
  );
}

/** Histogram of backends by key share (1 = its exact weight share), one chart per selector on a shared x range. */
function sharesHistogram(r: SelectorResult, lo: number, hi: number, color: string): string {
  const bins = 30;
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins || 1;
  for (const ratio of r.shares.ratios) counts[Math.min(bins - 1, Math.max(0, Math.floor((ratio - lo) / width)))]!++;
  const yMax = Math.max(1, ...counts);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bars = counts
    .map((c, i) => {
      const h = (plotH * c) / yMax;
      const x = PAD.left + (plotW * i) / bins;
      return `<rect x="${num(x + 1)}" y="${num(PAD.top + plotH - h)}" width="${num(plotW / bins - 2)}" height="${num(h)}" fill="${color}"><title>${c} backends at ${num(lo + i * width)}–${num(lo + (i + 1) * width)}</title></rect>`;
    })
    .join('');
  return frame(
    `${r.name}: key share per backend (max/mean ${r.shares.sampled.maxOverMean.toFixed(3)})`,
    yMax,
    'backends',
    [`${lo.toFixed(3)} x fair share`, `${hi.toFixed(3)} x`],
    bars,
    'shares',
  );
}

/** Keys moved by the membership change against the minimum, per key-driven selector. */
function movementChart(results: readonly SelectorResult[]): string {
  const rows = results.filter((r) => r.movement !== undefined);
  const yMax = Math.max(1e-9, ...rows.flatMap((r) => [r.movement!.moved, r.movement!.minimum])) * 100;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const group = plotW / Math.max(1, rows.length);
  const bars = rows
    .map((r, i) => {
      const x = PAD.left + i * group;
      const moved = (plotH * r.movement!.moved * 100) / yMax;
      const min = (plotH * r.movement!.minimum * 100) / yMax;
      return (
        `<rect x="${num(x + group * 0.1)}" y="${num(PAD.top + plotH - moved)}" width="${num(group * 0.38)}" height="${num(Math.max(moved, 0.5))}" fill="${PALETTE[i % PALETTE.length]}"><title>${escapeHtml(r.name)}: ${(r.movement!.moved * 100).toFixed(2)}% moved</title></rect>` +
        `<rect x="${num(x + group * 0.52)}" y="${num(PAD.top + plotH - min)}" width="${num(group * 0.38)}" height="${num(Math.max(min, 0.5))}" fill="#bbb"><title>minimum ${(r.movement!.minimum * 100).toFixed(2)}%</title></rect>` +
        `<text x="${num(x + group / 2)}" y="${H - PAD.bottom + 14}" text-anchor="middle" font-size="11">${escapeHtml(r.name)}</text>`
      );
    })
    .join('');
  return frame(
    'Keys moved on the membership change (grey: the minimum)',
    yMax,
    '% of keys',
    ['', ''],
    bars,
    'movement',
  );
}

/** The largest in-flight count on any backend over simulated time, one line per selector. */
function loadChart(results: readonly SelectorResult[]): string {
  const rows = results.filter((r) => r.load !== undefined);
  const tMax = Math.max(1e-9, ...rows.map((r) => r.load!.timeline.t.at(-1) ?? 0));
  const yMax = Math.max(1, ...rows.flatMap((r) => r.load!.timeline.max));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const lines = rows
    .map((r, i) => {
      const { t, max, mean } = r.load!.timeline;
      const pts = (ys: readonly number[]) =>
        t
          .map((x, k) => `${num(PAD.left + (plotW * x) / tMax)},${num(PAD.top + plotH * (1 - ys[k]! / yMax))}`)
          .join(' ');
      const color = PALETTE[i % PALETTE.length];
      return (
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts(max)}"><title>${escapeHtml(r.name)}: max in flight</title></polyline>` +
        `<polyline fill="none" stroke="${color}" stroke-width="1" stroke-dasharray="4 3" points="${pts(mean)}"><title>${escapeHtml(r.name)}: mean in flight</title></polyline>` +
        `<text x="${W - PAD.right - 4}" y="${PAD.top + 14 + 14 * i}" text-anchor="end" font-size="11" fill="${color}">${escapeHtml(r.name)}</text>`
      );
    })
    .join('');
  return frame(
    'Load over time: busiest backend (solid) and mean (dashed) in-flight',
    yMax,
    'requests in flight',
    ['0 ms', `${Math.round(tMax)} ms simulated`],
    lines,
    'load',
  );
}

/**
 * A self-contained HTML page (no external resources) with inline SVG charts: the
 * key-share histogram per selector, keys moved versus the minimum, and load over
 * time, plus the text report.
 */
export function renderHtml(report: SimulationReport): string {
  const all = report.results.flatMap((r) => r.shares.ratios);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const span = Math.max(hi - lo, 1e-6);
  const histograms = report.results
    .map((r, i) => sharesHistogram(r, lo - span * 0.02, hi + span * 0.02, PALETTE[i % PALETTE.length]!))
    .join('\n');
  const hasMovement = report.results.some((r) => r.movement !== undefined);
  const hasLoad = report.results.some((r) => r.load !== undefined);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>switchyard simulate: ${escapeHtml(report.results.map((r) => r.name).join(', '))}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}svg{display:block;margin:1em 0;background:#fff}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>
</head><body>
<h1>switchyard simulate</h1>
<pre>${escapeHtml(formatReport(report))}</pre>
<h2>Key shares</h2>
${histograms}
${hasMovement ? `<h2>Movement</h2>\n${movementChart(report.results)}` : ''}
${hasLoad ? `<h2>Load</h2>\n${loadChart(report.results)}` : ''}
</body></html>
`;
}
