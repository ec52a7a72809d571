import { readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConfigWatch, type ConfigWatchTiming, watchConfigFile } from '../src/commands/config-watch.js';

// Real files in a temp folder, watched through the kernel's inotify (Linux, as CI).

const FAST: ConfigWatchTiming = { debounceMs: 50, retryMs: 50, giveUpMs: 2000 };

/** Inode numbers this process's inotify descriptors watch, from /proc/self/fdinfo. */
function watchedInodes(): Set<number> {
  const inodes = new Set<number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:inotify') continue;
    for (const match of readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').matchAll(/^inotify wd:\S+ ino:([0-9a-f]+)/gm)) {
      inodes.add(Number.parseInt(match[1] as string, 16));
    }
  }
  return inodes;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let watch: ConfigWatch | undefined;
afterEach(() => {
  watch?.close();
  watch = undefined;
});

/** A fresh folder holding `lb.json` (with `content`), watched; what the hooks received so far. */
function start(content: string, timing: ConfigWatchTiming = FAST) {
  const dir = tempDir('sy-watch-');
  const file = join(dir, 'lb.json');
  writeFileSync(file, content);
  const calls = { changes: 0, errors: [] as Error[] };
  watch = watchConfigFile(file, { onChange: () => calls.changes++, onError: (err) => calls.errors.push(err) }, timing);
  return { dir, file, calls };
}

describe('watchConfigFile', () => {
  it('calls onChange once for a burst of in-place writes', async () => {
    const { file, calls } = start('{}');
    for (let i = 0; i < 3; i++) writeFileSync(file, `{"n":${i}}`);
    await waitFor('the change', () => calls.changes === 1);
    await sleep(200);
    expect(calls.changes).toBe(1);
  });

  it('watches the file, not its folder: writes beside it (an access log) wake nothing', async () => {
    const { dir, file, calls } = start('{}');
    const watched = watchedInodes();
    expect(watched.has(statSync(file).ino)).toBe(true);
    expect(watched.has(statSync(dir).ino)).toBe(false);
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'access.log'), `line ${i}\n`, { flag: 'a' });
    await sleep(200);
    expect(calls.changes).toBe(0);
  });

  it('follows a save by rename: reports it, then watches the new file', async () => {
    const { dir, file, calls } = start('{"v":1}');
    writeFileSync(join(dir, 'lb.json.tmp'), '{"v":2}');
    renameSync(join(dir, 'lb.json.tmp'), file);
    await waitFor('the rename to be reported', () => calls.changes === 1);
    expect(watchedInodes().has(statSync(file).ino)).toBe(true);
    writeFileSync(file, '{"v":3}');
    await waitFor('an in-place write to the new file', () => calls.changes === 2);
  });

  it('waits for a deleted file to come back, then reports it', async () => {
    const { file, calls } = start('{}');
    rmSync(file);
    await sleep(300);
    expect(calls.changes).toBe(0);
    writeFileSync(file, '{"back":true}');
    await waitFor('the file coming back', () => calls.changes === 1);
    writeFileSync(file, '{"back":"again"}');
    await waitFor('a later write', () => calls.changes === 2);
    expect(calls.errors).toEqual([]);
  });

  it('gives up on a file missing longer than giveUpMs, naming it', async () => {
    const { file, calls } = start('{}', { debounceMs: 20, retryMs: 20, giveUpMs: 150 });
    rmSync(file);
    await waitFor('the watch to give up', () => calls.errors.length === 1);
    expect(calls.errors[0]?.message).toBe(`${file} stayed missing for 150 ms`);
    writeFileSync(file, '{}');
    await sleep(200);
    expect(calls.changes).toBe(0);
  });

  it('stops on close: no call for later writes, no watch left', async () => {
    const { file, calls } = start('{}');
    writeFileSync(file, '{"a":1}');
    watch?.close();
    expect(watchedInodes().has(statSync(file).ino)).toBe(false);
    writeFileSync(file, '{"a":2}');
    await sleep(200);
    expect(calls.changes).toBe(0);
  });

  it('throws when the file is not there to watch', () => {
    const file = join(tempDir('sy-watch-'), 'absent.json');
    expect(() => watchConfigFile(file, { onChange: () => {}, onError: () => {} })).toThrow(/ENOENT/);
  });
});
