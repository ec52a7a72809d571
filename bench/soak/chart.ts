/** One soak sample (every 10 s). */
export interface SoakSample {
  /** Seconds since the load started. */
  readonly t: number;
  readonly requests: number;
  /** Failed requests in this window. */
  readonly errors: number;
  /** 99th-percentile latency of requests that finished in this window, ms. */
  readonly p99Ms: number;
  readonly rssMiB: number;
  readonly fds: number;
  /** Whether the flapping backend was up at the sample. */
  readonly flapperUp: boolean;
}

interface Panel {
  readonly title: string;
  readonly value: (s: SoakSample) => number;
  readonly color: string;
}

const PANELS: readonly Panel[] = [
  { title: 'proxy RSS (MiB)', value: (s) => s.rssMiB, color: '#1f77b4' },
  { title: 'p99 latency (ms)', value: (s) => s.p99Ms, color: '#ff7f0e' },
  { title: 'errors per 10 s', value: (s) => s.errors, color: '#d62728' },
  { title: 'proxy open fds', value: (s) => s.fds, color: '#2ca02c' },
];

const WIDTH = 720;
const PANEL_HEIGHT = 120;
const MARGIN = { left: 60, right: 20, top: 24, bottom: 20 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/** A self-contained SVG: one panel per metric over time, grey bands where the flapping backend was down. */
export function soakChart(samples: readonly SoakSample[], title: string): string {
  const height = PANELS.length * (PANEL_HEIGHT + MARGIN.top + MARGIN.bottom) + 30;
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const x = (t: number) => MARGIN.left + (t / tMax) * (WIDTH - MARGIN.left - MARGIN.right);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`,
  ];
  PANELS.forEach((panel, i) => {
    const top = 30 + i * (PANEL_HEIGHT + MARGIN.top + MARGIN.bottom) + MARGIN.top;
    const values = samples.map(panel.value);
    const vMax = Math.max(1, ...values) * 1.1;
    const y = (v: number) => top + PANEL_HEIGHT - (v / vMax) * PANEL_HEIGHT;
    parts.push(`<text x="${MARGIN.left}" y="${top - 6}">${escapeXml(panel.title)}</text>`);
    for (let j = 1; j < samples.length; j++) {
      const prev = samples[j - 1];
      const cur = samples[j];
      if (prev !== undefined && cur !== undefined && !cur.flapperUp) {
        parts.push(
          `<rect x="${x(prev.t).toFixed(1)}" y="${top}" width="${(x(cur.t) - x(prev.t)).toFixed(1)}" height="${PANEL_HEIGHT}" fill="#eee"/>`,
        );
      }
    }
    parts.push(
      `<line x1="${MARGIN.left}" y1="${top + PANEL_HEIGHT}" x2="${WIDTH - MARGIN.right}" y2="${top + PANEL_HEIGHT}" stroke="#999"/>`,
      `<line x1="${MARGIN.left}" y1="${top}" x2="${MARGIN.left}" y2="${top + PANEL_HEIGHT}" stroke="#999"/>`,
      `<text x="${MARGIN.left - 4}" y="${top + 4}" text-anchor="end">${(vMax / 1.1).toFixed(1)}</text>`,
      `<text x="${MARGIN.left - 4}" y="${top + PANEL_HEIGHT}" text-anchor="end">0</text>`,
      `<text x="${WIDTH - MARGIN.right}" y="${top + PANEL_HEIGHT + 14}" text-anchor="end">${tMax} s</text>`,
    );
    const points = samples.map((s) => `${x(s.t).toFixed(1)},${y(panel.value(s)).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${panel.color}" stroke-width="1.5" points="${points}"/>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
