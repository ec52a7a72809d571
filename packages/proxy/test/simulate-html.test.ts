import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { simulateCommand } from '../src/commands/simulate.js';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'switchyard-simulate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ChartInfo {
  kind: string | null;
  width: number;
  height: number;
  marks: number;
  visibleMarks: number;
}

describe('switchyard simulate --html', () => {
  it('writes a self-contained page whose SVG charts render in headless Chromium', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
    }
    const file = join(dir, 'report.html');
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const errWrite = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await simulateCommand.run([
        '--compare',
        'consistent,maglev,bounded-load,least-request',
        '--backends',
        '40',
        '--keys',
        '20000',
        '--requests',
        '20000',
        '--remove',
        '1',
        '--add',
        '1',
        '--html',
        file,
      ]);
    } finally {
      write.mockRestore();
      errWrite.mockRestore();
    }
    expect(code).toBe(0);
    expect(out.join('')).toContain('moved / minimum');
    const html = readFileSync(file, 'utf8');
    // Self-contained: no scripts, stylesheets or images fetched from anywhere.
    expect(html).not.toMatch(/<script|<link|<img|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      timeout: 30_000,
    });
    try {
      const page = await browser.newPage();
      const requested: string[] = [];
      page.on('request', (r) => requested.push(r.url()));
      await page.goto(pathToFileURL(file).href, { timeout: 30_000 });
      const charts: ChartInfo[] = await page.$$eval('svg', (svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          // getBBox is SVG-only; the test compiles without the DOM lib, so it is typed here.
          const marks = [...svg.querySelectorAll('rect, polyline')] as unknown as {
            getBBox(): { width: number; height: number };
          }[];
          const visible = marks.filter((m) => {
            const b = m.getBBox();
            return b.width > 0 && b.height > 0;
          });
          return {
            kind: svg.getAttribute('data-chart'),
            width: box.width,
            height: box.height,
            marks: marks.length,
            visibleMarks: visible.length,
          };
        }),
      );
      expect(requested).toEqual([pathToFileURL(file).href]);
      expect(charts.map((c) => c.kind)).toEqual(['shares', 'shares', 'shares', 'shares', 'movement', 'load']);
      for (const chart of charts) {
        expect(chart.width, chart.kind!).toBeGreaterThan(0);
        expect(chart.height, chart.kind!).toBeGreaterThan(0);
        expect(chart.visibleMarks, chart.kind!).toBeGreaterThan(0);
      }
      // Histograms have one bar per bin; movement two bars per key-driven selector (3 here);
      // load a max and a mean line per selector (4).
      expect(charts[0]!.marks).toBe(30);
      expect(charts[4]!.marks).toBe(6);
      expect(charts[5]!.marks).toBe(8);
      expect(charts[5]!.visibleMarks).toBe(8);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
