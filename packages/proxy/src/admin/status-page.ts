import { createHash } from 'node:crypto';

// The page's script, inline so the page is one self-contained document (no CDN, no build step).
// It reads /status.json every second and rebuilds the tables with textContent only: backend ids
// and route prefixes never become markup.
const SCRIPT = `
'use strict';
const $ = (tag, cls, text) => {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
};
const pct = (x) => (x * 100).toFixed(x < 0.1 ? 2 : 1) + '%';
const ms = (x) => (x === null ? '–' : x < 10 ? x.toFixed(2) + ' ms' : Math.round(x) + ' ms');
function row(cells, cls) {
  const tr = $('tr', cls);
  for (const c of cells) tr.append(typeof c === 'string' ? $('td', '', c) : c);
  return tr;
}
function state(b) {
  if (b.ejected) return ['ejected', 'down'];
  if (!b.healthy) return ['unhealthy', 'down'];
  if (!b.ready) return ['disabled', 'down'];
  return ['healthy', 'up'];
}
function render(s) {
  document.getElementById('summary').textContent =
    (s.ready ? 'ready' : s.draining ? 'draining' : 'NOT READY') + ' · ' + s.workers + ' process' + (s.workers === 1 ? '' : 'es') +
    ' · up ' + s.uptimeSeconds + ' s · ' + s.downstream.rps + ' req/s · errors ' + pct(s.downstream.errorRate) +
    ' · p99 ' + ms(s.downstream.p99Ms) + ' (last ' + s.windowSeconds + ' s)';
  document.getElementById('summary').className = s.ready ? 'up' : 'down';
  const routes = document.getElementById('routes');
  routes.replaceChildren(...s.routes.map((r) => row([r.prefix, r.upstream, r.failover.join(', ') || '–'])));
  const ups = document.getElementById('upstreams');
  ups.replaceChildren(...s.upstreams.map((u) => {
    const section = $('section');
    section.append($('h2', u.readyBackends > 0 ? '' : 'down', u.name + ' — ' + u.readyBackends + '/' + u.backends.length + ' ready'));
    const table = $('table');
    const head = $('tr');
    for (const h of ['backend', 'state', 'in flight', 'req/s', 'errors', 'p99']) head.append($('th', '', h));
    table.append(head);
    for (const b of u.backends) {
      const [label, cls] = state(b);
      const tr = row([b.id, $('td', 'state', label), String(b.inflight), String(b.rps), pct(b.errorRate), ms(b.p99Ms)], cls);
      tr.dataset.backend = b.id;
      tr.dataset.state = label;
      table.append(tr);
    }
    section.append(table);
    return section;
  }));
  document.getElementById('updated').textContent = 'updated ' + new Date(s.generatedAt).toLocaleTimeString();
  document.getElementById('updated').className = '';
}
async function tick() {
  try {
    const res = await fetch('status.json', { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
  } catch (err) {
    const el = document.getElementById('updated');
    el.textContent = 'cannot reach the proxy (' + err.message + '); retrying';
    el.className = 'down';
  } finally {
    setTimeout(tick, 1000);
  }
}
tick();
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #fafbfc; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; } h2 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
table { border-collapse: collapse; min-width: 40rem; background: #fff; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #e3e6ea; text-align: left; font-variant-numeric: tabular-nums; }
th { background: #f0f2f5; font-weight: 600; }
tr.down td { background: #fde8e8; color: #9b1c1c; } tr.up td.state { color: #176e2e; font-weight: 600; }
.down { color: #b91c1c; font-weight: 600; } .up { color: #176e2e; } #updated { color: #667; font-size: .85rem; }
`;

/** The status page: one self-contained HTML document that polls `status.json` every second. */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard status</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Switchyard status</h1>
<p id="summary">loading…</p>
<h2>Routes</h2>
<table><thead><tr><th>prefix</th><th>upstream</th><th>failover</th></tr></thead><tbody id="routes"></tbody></table>
<div id="upstreams"></div>
<p id="updated"></p>
<script>${SCRIPT}</script>
</body>
</html>
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page's Content-Security-Policy: its own inline script and style only, requests to its origin only. */
export const STATUS_PAGE_CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
