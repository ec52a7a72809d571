import { readFileSync } from 'node:fs';
import { backend, candidates, LoadTracker } from '@switchyard/core';
import { SELECTOR_TYPES, type SelectorType } from '@switchyard/proxy';
import { describe, expect, it } from 'vitest';
import { selectorTypeOf } from '../src/config/selector-types.js';
import { SIMULATED_SELECTORS } from '../src/simulate/selectors.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const types: Readonly<Record<string, SelectorType>> = SELECTOR_TYPES;

/** The rows of the markdown table that follows `heading`, as cells without the code ticks. */
function tableAfter(heading: string): string[][] {
  const start = README.indexOf(`\n${heading}\n`);
  expect(start, `README section ${heading}`).toBeGreaterThan(0);
  const lines = README.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim().replaceAll('`', '')),
    );
  }
  return rows;
}

const backends = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'].map((a) => backend(a));

describe('the selector-type registry', () => {
  it('is what the README table lists: the same types in the same order, their options and load-awareness', () => {
    const rows = tableAfter('### Selector types');
    expect(rows.map((r) => r[0])).toEqual(Object.keys(types));
    for (const [name, algorithm, options, loadAware] of rows) {
      const type = types[name!]!;
      expect(type.summary.startsWith(algorithm!), `${name}: summary ${type.summary}`).toBe(true);
      const fields = options === '—' ? [] : options!.split(',').map((f) => f.trim());
      expect(fields, `${name} options`).toEqual(Object.keys(type.shape));
      expect(loadAware, `${name} load-aware`).toBe(type.loadAware ? 'yes' : 'no');
    }
  });

  it('is what simulate runs: every type by its name, then the named variants', () => {
    const variants = Object.values(types).flatMap((t) => Object.keys(t.variants));
    expect(Object.keys(SIMULATED_SELECTORS)).toEqual([...Object.keys(types), ...variants]);
    expect(variants).toContain('ketama');
    for (const [name, type] of Object.entries(types)) {
      const simulated = SIMULATED_SELECTORS[name]!;
      expect([simulated.loadAware, simulated.hashed], name).toEqual([type.loadAware, type.hashed]);
    }
  });

  it('builds a selector over the backends for every type, from defaults and from config options', () => {
    for (const [name, type] of Object.entries(types)) {
      const selector = type.factory({}, { tracker: new LoadTracker() })(backends);
      const ids = new Set([...candidates(selector.select('k'), 64)].map((b) => b.id));
      expect(ids.size, name).toBeGreaterThan(0);
      for (const id of ids)
        expect(
          backends.map((b) => b.id),
          name,
        ).toContain(id);
    }
    const ketama = types.consistent!.factory({ algorithm: 'ketama' })(backends);
    const nginx = types.consistent!.factory({})(backends);
    const firsts = (s: typeof nginx) =>
      Array.from({ length: 200 }, (_, i) => candidates(s.select(`key-${i}`), 1).next().value?.id);
    expect(firsts(ketama)).not.toEqual(firsts(nginx));
  });

  it('validates options against the type’s shape, naming the field; unknown types list the known ones', () => {
    expect(() => types.consistent!.factory({ algorithm: 'md5' })).toThrow(
      expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION', message: expect.stringMatching(/selector algorithm/) }),
    );
    expect(() => types['round-robin']!.factory({ bogus: 1 })).toThrow(
      expect.objectContaining({ code: 'LB_ERR_INVALID_OPTION' }),
    );
    expect(() => types['least-request']!.factory({ choices: 1 })).toThrow(
      /selector choices: expected an integer from 2 to 64/,
    );
    expect(() => selectorTypeOf('nope')).toThrow(
      expect.objectContaining({
        code: 'LB_ERR_INVALID_CONFIG',
        message: expect.stringMatching(/one of consistent, round-robin/),
      }),
    );
    expect(selectorTypeOf('maglev')).toBe(types.maglev);
  });
});
