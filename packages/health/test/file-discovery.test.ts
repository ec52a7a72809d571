import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, backend, isLbError } from '@switchyard/core';
import { fileDiscovery, staticDiscovery } from '@switchyard/health';
import { waitFor } from '@switchyard/testkit';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { captureLogs } from './helpers/scripted-check.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-file-discovery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ids = (list: readonly Backend[]): string[] => list.map((b) => `${b.id}#${b.weight}`);

describe('staticDiscovery', () => {
  it('returns the list it was given, frozen', async () => {
    const list = [backend('127.0.0.1:80'), backend('127.0.0.2:80', 3)];
    const found = await staticDiscovery(list).discover();
    expect(found).toEqual(list);
    expect(Object.isFrozen(found)).toBe(true);
    expect(() => staticDiscovery([{}] as never)).toThrow(/staticDiscovery/);
  });
});

describe('fileDiscovery', () => {
  it('reads JSON and YAML lists of "host:port" or { address, weight, meta }', async () => {
    const json = join(dir, 'list.json');
    writeFileSync(json, JSON.stringify(['127.0.0.1:80', { address: '127.0.0.2:81', weight: 4 }]));
    const yaml = join(dir, 'list.yaml');
    writeFileSync(yaml, '- 127.0.0.3:80\n- address: "[::1]:82"\n  weight: 2\n  meta: { zone: a }\n');
    const fromJson = fileDiscovery(json, { watch: false });
    const fromYaml = fileDiscovery(yaml, { watch: false });
    expect(ids(await fromJson.discover())).toEqual(['127.0.0.1:80#1', '127.0.0.2:81#4']);
    const y = await fromYaml.discover();
    expect(ids(y)).toEqual(['127.0.0.3:80#1', '[::1]:82#2']);
    expect(y[1]?.meta).toEqual({ zone: 'a' });
  });

  it('rejects with LB_ERR_DISCOVERY_FAILED naming the problem while no good list is known', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['missing.yaml', '', /ENOENT/],
      ['bad.json', '{', /not valid JSON/],
      ['object.yaml', 'a: 1', /expected a list/],
      ['noport.yaml', '- 127.0.0.1', /entry 0: .*port/],
      ['weight.yaml', '- { address: 127.0.0.1:80, weight: 0 }', /entry 0: .*weight/],
      ['dup.yaml', '- 127.0.0.1:80\n- 127.0.0.1:80', /entry 1: duplicate backend 127.0.0.1:80/],
      ['extra.yaml', '- { address: 127.0.0.1:80, wieght: 2 }', /unknown field "wieght"/],
    ];
    for (const [name, text, pattern] of cases) {
      const path = join(dir, name);
      if (text !== '') writeFileSync(path, text);
      const err = await fileDiscovery(path, { watch: false })
        .discover()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isLbError(err) && err.code, name).toBe('LB_ERR_DISCOVERY_FAILED');
      expect((err as Error).message, name).toMatch(pattern);
    }
  });

  it('reloads on change, emits the new list, and keeps the last good list when the file turns bad', async () => {
    const path = join(dir, 'watched.yaml');
    writeFileSync(path, '- 127.0.0.1:80\n');
    const logs = captureLogs();
    const d = fileDiscovery(path, { pollMs: 20, logger: pino({ level: 'info' }, logs) });
    const changes: string[][] = [];
    d.on?.('change', (list) => changes.push(ids(list)));
    try {
      expect(ids(await d.discover())).toEqual(['127.0.0.1:80#1']);
      await new Promise((r) => setTimeout(r, 30));
      writeFileSync(path, '- 127.0.0.1:80\n- 127.0.0.2:80\n');
      await waitFor('reload', () => changes.length === 1, 2000);
      expect(changes[0]).toEqual(['127.0.0.1:80#1', '127.0.0.2:80#1']);

      writeFileSync(path, '- 127.0.0.1:80\n- not an address\n');
      await waitFor('a warning', () => logs.lines.some((l) => l.level === 40), 2000);
      expect(String(logs.lines.find((l) => l.level === 40)?.msg)).toMatch(
        /keeping the last good 2 backends: entry 1: .*not an address/,
      );
      expect(ids(await d.discover())).toEqual(['127.0.0.1:80#1', '127.0.0.2:80#1']);
      expect(changes).toHaveLength(1);

      writeFileSync(path, '[ "127.0.0.3:80" ]\n');
      await waitFor('recovery', () => changes.length === 2, 2000);
      expect(changes[1]).toEqual(['127.0.0.3:80#1']);
    } finally {
      await d.close?.();
    }
    await expect(d.discover()).rejects.toMatchObject({ code: 'LB_ERR_CLOSED' });
  });
});
