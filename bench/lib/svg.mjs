// A dependency-free SVG chart of a result document: one panel of horizontal bars (req/s) per
// scenario, each bar labelled with req/s, p99 and its ratio to the undici floor, then the goals.

import { shownRows } from './report.mjs';

const WIDTH = 960;
const LABEL_W = 300;
const BAR_H = 20;
const GAP = 6;
const VALUE_W = 250;

const xmlText = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function colour(target) {
  if (target.startsWith('switchyard')) return '#d9480f';
  if (target.startsWith('floor')) return '#2b8a3e';
  if (target.startsWith('nginx') || target === 'direct' || target === 'node-server') return '#868e96';
  return '#1c7ed6';
}

const num = (value) => Math.round(value).toLocaleString('en');

/** A goal's measured ratio: of req/s, or of CPU per request for a goal stated on CPU alone. */
function shown(goal) {
  const value = goal.value ?? goal.cpuValue ?? null;
  return value === null ? 'not measured' : value.toFixed(3);
}

/** The SVG text for `doc` (the JSON this benchmark writes). */
export function renderSvg(doc) {
  const out = [];
  let y = 30;
  out.push(
    `<text x="16" y="${y}" font-size="18" font-weight="bold">Switchyard proxy benchmark — req/s (longer is better)</text>`,
  );
  y += 20;
  const machine = doc.machine;
  const settings = doc.settings;
  const lines = [
    `${machine.cpuCount} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.note}${machine.loadAverage1mAtStart === undefined ? '' : `; load average ${machine.loadAverage1mAtStart} at start, ${machine.loadAverage1mAtEnd} at end`}`,
    `Node ${machine.node}${machine.nginx ? `, ${machine.nginx}` : ''}; ${settings.loader}${machine.wrk ? ` ${machine.wrk}` : ''}, ${settings.connections} connections, ${settings.durationS} s × ${settings.rounds} rounds (median), upstreams: ${settings.upstreams}`,
  ];
  for (const line of lines) {
    out.push(`<text x="16" y="${y}" font-size="12" fill="#495057">${xmlText(line)}</text>`);
    y += 16;
  }
  for (const scenario of doc.scenarios) {
    y += 24;
    out.push(`<text x="16" y="${y}" font-size="14" font-weight="bold">${xmlText(scenario.title)}</text>`);
    y += 10;
    const rows = shownRows(scenario);
    const max = Math.max(...rows.map((r) => r.rps), 1);
    const scale = (WIDTH - LABEL_W - VALUE_W - 16) / max;
    for (const r of rows) {
      const w = Math.max(1, r.rps * scale);
      const ratio = r.vsFloor === null ? '' : `, ${r.vsFloor.toFixed(2)}× floor`;
      const errors = r.errors ? `, ${r.errors} errors` : '';
      const cpu = typeof r.cpuUsPerRequest === 'number' ? `, ${r.cpuUsPerRequest.toFixed(0)} µs CPU/req` : '';
      const mbps = typeof r.mbps === 'number' ? `, ${num(r.mbps)} MB/s` : '';
      out.push(
        `<text x="${LABEL_W - 8}" y="${y + BAR_H - 6}" font-size="12" text-anchor="end">${xmlText(r.label)}</text>`,
        `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${colour(r.target)}"/>`,
        `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + BAR_H - 6}" font-size="12">${xmlText(
          `${num(r.rps)}/s${mbps}, p99 ${r.p99Ms.toFixed(2)} ms${ratio}${cpu}${errors}`,
        )}</text>`,
      );
      y += BAR_H + GAP;
    }
  }
  if (doc.rss?.checkpoints?.length) {
    y += 24;
    out.push(
      `<text x="16" y="${y}" font-size="14" font-weight="bold">RSS of a fresh Switchyard process under load</text>`,
    );
    for (const c of doc.rss.checkpoints) {
      y += 18;
      out.push(
        `<text x="16" y="${y}" font-size="12">${xmlText(`after ${num(c.requests)} requests: ${(c.rssBytes / 2 ** 20).toFixed(1)} MiB`)}</text>`,
      );
    }
  }
  if (doc.goals?.length) {
    y += 24;
    out.push(`<text x="16" y="${y}" font-size="14" font-weight="bold">Targets</text>`);
    for (const g of doc.goals) {
      y += 18;
      const mark = g.met === null ? '–' : g.met ? '✔' : '✘';
      const fill = g.met === null ? '#868e96' : g.met ? '#2b8a3e' : '#c92a2a';
      out.push(
        `<text x="16" y="${y}" font-size="12" fill="${fill}">${xmlText(
          `${mark} ${g.goal}: ${shown(g)} (threshold ${g.threshold})`,
        )}</text>`,
      );
    }
  }
  y += 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif" role="img" aria-labelledby="chart-title">
<title id="chart-title">Switchyard proxy benchmark: requests per second of each target, per scenario</title>
<rect width="100%" height="100%" fill="#ffffff"/>
${out.join('\n')}
</svg>
`;
}
