import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, waitFor } from '@switchyard/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_SINK_DEFAULTS, LogSink, type LogSinkOptions } from '../src/internal/log-sink.js';

const dirs: string[] = [];
const fds: number[] = [];
const sinks: LogSink[] = [];
afterEach(() => {
  for (const sink of sinks.splice(0)) sink.close();
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temp dir removed after the test. */
function scratch(): string {
  const dir = tempDir('switchyard-log-sink-');
  dirs.push(dir);
  return dir;
}

/** Opens `path`; the descriptor is closed after the test. */
function open(path: string, flags: string | number): number {
  const fd = openSync(path, flags);
  fds.push(fd);
  return fd;
}

function sink(options: Partial<LogSinkOptions> & { fd: number }): { sink: LogSink; drops: string[] } {
  const drops: string[] = [];
  const s = new LogSink({
    bufferBytes: 0,
    flushMs: 1_000,
    onDrop: (lines, reason) => drops.push(`${lines}: ${reason}`),
    ...options,
  });
  sinks.push(s);
  return { sink: s, drops };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** An access-log line as pino writes it (103 bytes). */
const line = (i: number) => `{"log":"access","i":${i},"pad":"${'x'.repeat(71)}"}\n`;

/** A file to log into and a reader of what reached it. */
function logFile(): { fd: number; text: () => string } {
  const path = join(scratch(), 'out.log');
  const fd = open(path, 'w');
  return { fd, text: () => readFileSync(path, 'utf8') };
}

/** A FIFO whose write end is non-blocking and whose reader reads only when told to: a slow log reader. */
function slowReader(): { fd: number; read: () => string; closeReader: () => void } {
  const path = join(scratch(), 'fifo');
  execFileSync('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const fd = open(path, constants.O_WRONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(1 << 16);
  return {
    fd,
    read: () => {
      let out = '';
      // A pipe holds at most a few hundred KiB: bounded.
      for (let i = 0; i < 1_000; i++) {
        let n: number;
        try {
          n = readSync(reader, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw err;
        }
        if (n === 0) break;
        out += buf.toString('utf8', 0, n);
      }
      return out;
    },
    closeReader: () => closeSync(reader),
  };
}

describe('LogSink', () => {
  it('without a buffer, writes the lines of one event-loop turn together at the end of that turn', async () => {
    const file = logFile();
    const { sink: s } = sink({ fd: file.fd });
    for (let i = 0; i < 3; i++) s.write(line(i));
    expect(file.text()).toBe('');
    expect(s.pendingLines).toBe(3);
    await turn();
    expect(file.text()).toBe(line(0) + line(1) + line(2));
    s.write(line(3));
    await turn();
    expect(file.text()).toBe(line(0) + line(1) + line(2) + line(3));
    expect(s.pendingLines).toBe(0);
  });

  it('with bufferBytes, writes when the buffer fills, on the flush timer, and on close', async () => {
    const file = logFile();
    const { sink: s } = sink({ fd: file.fd, bufferBytes: 1_000, flushMs: 50 });
    // Each line is 103 bytes: the tenth reaches 1,030 ≥ 1,000 and flushes all ten.
    for (let i = 0; i < 9; i++) s.write(line(i));
    await turn();
    expect(file.text()).toBe('');
    s.write(line(9));
    expect(file.text().split('\n').length - 1).toBe(10);
    s.write(line(10));
    await new Promise((r) => setTimeout(r, 200));
    expect(file.text().endsWith(line(10))).toBe(true);
    s.write(line(11));
    s.close();
    expect(file.text().endsWith(line(11))).toBe(true);
  });

  it('with a buffer, a line that is not an access line leaves at the end of its turn, with the access lines before it', async () => {
    const file = logFile();
    const { sink: s } = sink({ fd: file.fd, bufferBytes: 16_384, flushMs: 60_000 });
    s.write(line(0));
    await turn();
    expect(file.text()).toBe('');
    const warn = '{"level":40,"msg":"upstream 127.0.0.1:1 failed"}\n';
    s.write(warn);
    expect(file.text()).toBe('');
    await turn();
    expect(file.text()).toBe(line(0) + warn);
  });

  it('with the defaults, at most one buffer and one flush interval of lines are ever pending', async () => {
    const file = logFile();
    const { sink: s } = sink({ fd: file.fd, ...LOG_SINK_DEFAULTS });
    expect(LOG_SINK_DEFAULTS).toEqual({ bufferBytes: 16_384, flushMs: 100 });
    // Lines that stay under 16 KiB wait; the one that reaches it writes them all.
    let bytes = 0;
    let n = 0;
    // Bounded: every round adds a line of over 100 bytes.
    while (bytes + line(n).length < LOG_SINK_DEFAULTS.bufferBytes) {
      s.write(line(n));
      bytes += line(n).length;
      n++;
    }
    await turn();
    expect(file.text()).toBe('');
    expect(s.pendingLines).toBe(n);
    s.write(line(n));
    expect(file.text().split('\n').length - 1).toBe(n + 1);
    expect(s.pendingLines).toBe(0);
    // A lone line leaves on the flush timer, not when the next one comes.
    s.write(line(n + 1));
    expect(file.text().endsWith(line(n + 1))).toBe(false);
    await waitFor('the flush timer', () => file.text().endsWith(line(n + 1)), 5_000);
    expect(s.pendingLines).toBe(0);
  });

  it('keeps lines a blocked reader cannot take yet and writes them, in order, once it reads', async () => {
    const pipe = slowReader();
    const { sink: s, drops } = sink({ fd: pipe.fd });
    // 4,000 lines of 103 bytes (about 400 KiB) are more than a pipe holds, less than the cap.
    const all: string[] = [];
    for (let i = 0; i < 4_000; i++) {
      all.push(line(i));
      s.write(line(i));
    }
    await turn();
    expect(s.pendingLines).toBeGreaterThan(0);
    let received = '';
    for (let i = 0; i < 200 && received.length < all.join('').length; i++) {
      received += pipe.read();
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(received).toBe(all.join(''));
    expect(drops).toEqual([]);
    expect(s.pendingLines).toBe(0);
  });

  it('drops the oldest waiting lines past the cap and says how many', async () => {
    const pipe = slowReader();
    const { sink: s, drops } = sink({ fd: pipe.fd });
    s.write(line(0));
    await turn();
    // The pipe takes the first ~64 KiB; then 20,000 more lines (about 2 MiB) wait, over the 1 MiB cap.
    for (let i = 1; i <= 20_000; i++) s.write(line(i));
    await turn();
    expect(drops.length).toBe(1);
    const dropped = Number(drops[0]?.split(':')[0]);
    expect(dropped).toBeGreaterThan(0);
    expect(drops[0]).toMatch(/did not keep up/);
    let received = '';
    for (let i = 0; i < 300 && s.pendingLines > 0; i++) {
      received += pipe.read();
      await new Promise((r) => setTimeout(r, 15));
    }
    received += pipe.read();
    const got = received.split('\n').filter(Boolean);
    expect(got.length).toBe(20_001 - dropped);
    const ids = got.map((l) => (JSON.parse(l) as { i: number }).i);
    // What was dropped is one run of the oldest waiting lines; the order is kept.
    expect(ids.every((id, k) => k === 0 || id > (ids[k - 1] as number))).toBe(true);
    expect(ids.at(-1)).toBe(20_000);
  });

  it('a reader that went away: the lines are dropped with the reason, the sink keeps working', async () => {
    const pipe = slowReader();
    const { sink: s, drops } = sink({ fd: pipe.fd });
    pipe.closeReader();
    s.write(line(0));
    s.write(line(1));
    await turn();
    expect(drops).toEqual([expect.stringMatching(/^2: log write failed: .*EPIPE/)]);
    expect(s.pendingLines).toBe(0);
    s.write(line(2));
    await turn();
    expect(drops).toHaveLength(2);
    expect(drops[1]).toMatch(/^1: log write failed: .*EPIPE/);
    expect(s.pendingLines).toBe(0);
  });
});
