import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseSimulateArgs, simulateCommand } from '../src/commands/simulate.js';
import { runSimulation } from '../src/simulate/run.js';
import { BASELINE_SELECTORS, isSelectorFile, loadUserSelector } from '../src/simulate/user-selector.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-user-selector-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function module(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

// Rendezvous (highest random weight) hashing: every backend scored against the key, best first.
const RENDEZVOUS = `
function score(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x45d9f3b) >>> 0; h ^= h >>> 16;
  return h;
}
export const description = 'rendezvous hashing, FNV-1a scores';
export default function rendezvous(backends) {
  return {
    select(key) {
      const k = typeof key === 'string' ? key : Buffer.from(key).toString('hex');
      return backends
        .map((b) => [score(k + '|' + b.id), b])
        .sort((x, y) => y[0] - x[0])
        .map(([, b]) => b)
        [Symbol.iterator]();
    },
  };
}
`;

// A named factory whose pick ignores the key: the probe must find it is not key-driven.
const ROTATE = `
export function factory(backends) {
  let next = 0;
  return { select: () => [backends[next++ % backends.length]][Symbol.iterator]() };
}
`;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c) => {
    out += String(c);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c) => {
    err += String(c);
    return true;
  });
  try {
    return { code: await simulateCommand.run(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const SMALL = ['--backends', '20', '--keys', '4000', '--requests', '4000', '--remove', '1'];

describe('switchyard simulate --selector FILE', () => {
  it('tells files from built-in names and puts the file first, beside --compare or the baseline', () => {
    expect(isSelectorFile('./mine.mjs')).toBe(true);
    expect(isSelectorFile('mine.js')).toBe(true);
    expect(isSelectorFile('consistent')).toBe(false);
    expect(parseSimulateArgs(['--selector', './mine.mjs']).options.selectors).toEqual([
      './mine.mjs',
      ...BASELINE_SELECTORS,
    ]);
    expect(parseSimulateArgs(['--selector', './mine.mjs', '--compare', 'maglev']).options.selectors).toEqual([
      './mine.mjs',
      'maglev',
    ]);
    expect(() => parseSimulateArgs(['--selector', 'maglev', '--compare', 'consistent'])).toThrow(/one or the other/);
  });

  it('loads a default export, probes that a key decides its pick, and reports it beside the built-ins (text and HTML)', async () => {
    const file = module('rendezvous.mjs', RENDEZVOUS);
    const html = join(dir, 'report.html');
    const { code, out, err } = await run([
      '--selector',
      file,
      '--compare',
      'consistent,round-robin',
      ...SMALL,
      '--html',
      html,
    ]);
    expect(err).not.toMatch(/switchyard simulate: (?!wrote)/);
    expect(code).toBe(0);
    const header = out.split('\n').find((l) => l.includes('consistent'))!;
    expect(header.trim().split(/\s+/)).toEqual(['rendezvous', 'consistent', 'round-robin']);
    expect(out).toContain('rendezvous: rendezvous hashing, FNV-1a scores');
    // Key-driven: it gets a movement figure like the ring (round robin does not).
    const moved = out.split('\n').find((l) => l.startsWith('keys moved'))!;
    expect(moved.trim().split(/\s+/).slice(2)).toEqual([expect.stringMatching(/%$/), expect.stringMatching(/%$/), '-']);
    // Rendezvous moves only the removed backend's keys: moved equals the minimum.
    const ratio = out.split('\n').find((l) => l.startsWith('moved / minimum'))!;
    expect(ratio.trim().split(/\s+/)[3]).toBe('1.00x');

    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<title>switchyard simulate: rendezvous, consistent, round-robin</title>');
    expect(page.match(/data-chart="shares"/g)).toHaveLength(3);
    expect(page).toContain('rendezvous: key share per backend');
    expect(page).toMatch(/<title>rendezvous: [\d.]+% moved<\/title>/);
    expect(page).toContain('rendezvous: max in flight');
  }, 60_000);

  it('loads a named factory; a selector the key does not decide gets no movement figure', async () => {
    const file = module('rotate.mjs', ROTATE);
    const loaded = await loadUserSelector(file);
    expect(loaded.name).toBe('rotate');
    expect(loaded.selector.hashed).toBe(false);
    expect(loaded.selector.description).toBe(`your selector from ${file}`);
    const report = runSimulation(
      { selectors: ['rotate', 'maglev'], backends: 10, keys: 1000, requests: 1000 },
      () => {},
      {
        rotate: loaded.selector,
      },
    );
    expect(report.results.map((r) => r.name)).toEqual(['rotate', 'maglev']);
    expect(report.results[0]!.movement).toBeUndefined();
    expect(report.results[0]!.load!.requests).toBe(1000);
    // Rotating through 10 equal backends gives each exactly its share of the keys.
    expect(report.results[0]!.shares.sampled.maxOverMean).toBeCloseTo(1, 9);
  });

  it('rejects a file that is missing, does not load, exports no function, throws or returns no Selector, naming it', async () => {
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.mjs'), /no such file/],
      [module('broken.mjs', 'export default function (\n'), /could not load the module/],
      [
        module('number.mjs', 'export default 42;\n'),
        /expected a selector factory as the default export or a named export "factory", got 42/,
      ],
      [module('throws.mjs', 'export default () => { throw new Error("boom"); };\n'), /the factory threw: boom/],
      [module('junk.mjs', 'export const factory = () => ({});\n'), /the factory must return a Selector/],
      [
        module('stranger.mjs', 'export default () => ({ select: () => [{ id: "x:1" }][Symbol.iterator]() });\n'),
        /select\(\) must yield backends of the list/,
      ],
    ];
    for (const [file, reason] of cases) {
      await expect(loadUserSelector(file), file).rejects.toMatchObject({
        code: 'LB_ERR_INVALID_OPTION',
        message: expect.stringMatching(new RegExp(`^--selector ${file.replaceAll('.', '\\.')}: ${reason.source}`)),
      });
    }
    const { code, err } = await run(['--selector', cases[3]![0], ...SMALL]);
    expect(code).toBe(1);
    expect(err).toContain(`switchyard simulate: --selector ${cases[3]![0]}: the factory threw: boom`);
  });
});
