import { writeSync } from 'node:fs';

/** Retry delay while the log's reader is not keeping up (a full non-blocking pipe). */
const BLOCKED_RETRY_MS = 10;
/**
 * Pending bytes kept while the reader is blocked, at least: beyond this (or four buffers, if
 * larger) the oldest lines are dropped and counted, so a stuck reader cannot grow the heap.
 */
const MIN_BLOCKED_CAP_BYTES = 1 << 20;
/** The most one write carries when no larger buffer is configured. */
const BATCH_BYTES = 1 << 16;
/**
 * What marks an access-log line (the access logger's `log: 'access'` binding, as pino writes it):
 * only those wait for the buffer.
 */
const ACCESS_MARK = '"log":"access"';
/** How long `close()` waits for a blocked reader before it gives up on the rest. */
const CLOSE_WAIT_MS = 1_000;

/** Options of {@link LogSink}. */
export interface LogSinkOptions {
  /** File descriptor the lines go to (1 for stdout). */
  readonly fd: number;
  /**
   * 0: the lines of one event-loop turn go out in one write at the end of that turn. Above
   * 0: lines gather until this many bytes are pending or `flushMs` passes.
   * @defaultValue 16384
   */
  readonly bufferBytes: number;
  /** With `bufferBytes` > 0, the longest a line waits. @defaultValue 100 */
  readonly flushMs: number;
  /** Where a note about dropped lines goes. */
  readonly onDrop: (lines: number, reason: string) => void;
}

/**
 * The defaults of `switchyard serve`'s log (the config's `logBufferBytes` and `logFlushMs`): a
 * 16 KiB buffer written when full or every 100 ms, like nginx's `access_log … buffer=16k
 * flush=100ms`. Under load that is one write(2) per ~80 access lines, which keeps the access
 * log's cost to building the lines (about 4% of the proxy's CPU on small requests); writing once
 * per event-loop turn instead (`bufferBytes` 0: a few lines per write) makes more system calls.
 * A crash that skips `exit` handlers loses at most one buffer, and at most the last 100 ms of lines.
 */
export const LOG_SINK_DEFAULTS: Readonly<Pick<LogSinkOptions, 'bufferBytes' | 'flushMs'>> = Object.freeze({
  bufferBytes: 16_384,
  flushMs: 100,
});

/**
 * pino's destination for `switchyard serve`: log lines reach the file descriptor in batches,
 * with one write(2) where a line-per-write logger makes one per line. Access-log lines go every
 * `flushMs` or when `bufferBytes` are pending, or (`bufferBytes` 0) once per event-loop turn;
 * every other line (start-up, reloads, warnings, errors) at the end of its event-loop turn, at
 * most one turn later than a synchronous logger would. Everything pending is written on `close()` and on
 * process exit; a crash that skips `exit` handlers (SIGKILL, an abort) loses what is pending:
 * less than one buffer, or one turn's lines. When the reader does not keep up (EAGAIN), the
 * lines wait and are retried without blocking the proxy; past a cap the oldest are dropped and
 * counted.
 */
export class LogSink {
  readonly #options: LogSinkOptions;
  #lines: string[] = [];
  #lineBytes = 0;
  /** Lines taken for a write that has not completed (EAGAIN, or a partial write left bytes). */
  #head: Buffer | undefined;
  #headLines = 0;
  #scheduled = false;
  #retry: NodeJS.Timeout | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #onExit = (): void => this.#drainBlocking();
  readonly #flushNow = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(options: LogSinkOptions) {
    this.#options = options;
    if (options.bufferBytes > 0) {
      this.#timer = setInterval(this.#flushNow, options.flushMs);
      this.#timer.unref();
    }
    process.on('exit', this.#onExit);
  }

  /** Queues one line (pino hands over complete lines, newline included). */
  write(line: string): boolean {
    this.#lines.push(line);
    this.#lineBytes += Buffer.byteLength(line);
    const { bufferBytes } = this.#options;
    if (bufferBytes > 0 && (this.#lineBytes >= bufferBytes || !line.includes(ACCESS_MARK))) {
      // A full buffer goes now; any other line (start-up, reloads, warnings, errors) at the end of
      // its turn, taking the access lines pending before it along.
      if (this.#lineBytes >= bufferBytes) this.flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flushNow);
      }
    } else if (bufferBytes === 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushNow);
    }
    return true;
  }

  /** Writes what is pending now, as far as the reader takes it; the rest is retried shortly. */
  flush(done?: (err?: Error) => void): void {
    if (this.#retry !== undefined) {
      done?.();
      return;
    }
    if (this.#writePending() === 'blocked') {
      this.#capPending();
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.flush();
      }, BLOCKED_RETRY_MS);
      this.#retry.unref();
    }
    done?.();
  }

  /** Writes what is pending (waiting up to a second for a blocked reader) and stops. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    clearTimeout(this.#retry);
    this.#retry = undefined;
    process.off('exit', this.#onExit);
    this.#drainBlocking();
  }

  /** Lines not yet written completely. */
  get pendingLines(): number {
    return this.#headLines + this.#lines.length;
  }

  #drainBlocking(): void {
    const deadline = Date.now() + CLOSE_WAIT_MS;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (this.#writePending() === 'blocked') {
      if (Date.now() >= deadline) {
        this.#drop('the log reader did not keep up at shutdown');
        return;
      }
      Atomics.wait(pause, 0, 0, BLOCKED_RETRY_MS);
    }
  }

  /** Writes the pending lines, a batch of at most {@link BATCH_BYTES} (or one buffer) per write. */
  #writePending(): 'done' | 'blocked' {
    // Every round either stops or writes at least one whole line: bounded by the line count.
    for (let rounds = this.#lines.length + 1; rounds >= 0; rounds--) {
      if (this.#head === undefined && !this.#takeBatch()) return 'done';
      const data = this.#head as Buffer;
      let written: number;
      try {
        written = writeSync(this.#options.fd, data);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return 'blocked';
        this.#drop(`log write failed: ${(err as Error).message}`);
        return 'done';
      }
      if (written < data.length) {
        this.#head = data.subarray(written);
        return 'blocked';
      }
      this.#head = undefined;
      this.#headLines = 0;
    }
    return 'blocked';
  }

  /** Moves the oldest lines, up to one batch, into `#head`; false when none are pending. */
  #takeBatch(): boolean {
    const lines = this.#lines;
    if (lines.length === 0) return false;
    const limit = Math.max(BATCH_BYTES, this.#options.bufferBytes);
    let count = lines.length;
    let bytes = this.#lineBytes;
    if (bytes > limit) {
      bytes = 0;
      count = 0;
      while (count < lines.length) {
        const size = Buffer.byteLength(lines[count] as string);
        if (count > 0 && bytes + size > limit) break;
        bytes += size;
        count++;
      }
    }
    const batch = count === lines.length ? lines : lines.slice(0, count);
    this.#head = Buffer.from(batch.length === 1 ? (batch[0] as string) : batch.join(''));
    this.#headLines = count;
    this.#lines = count === lines.length ? [] : lines.slice(count);
    this.#lineBytes -= bytes;
    return true;
  }

  /** Drops the oldest lines while more than the cap waits for a blocked reader. */
  #capPending(): void {
    const cap = Math.max(MIN_BLOCKED_CAP_BYTES, 4 * this.#options.bufferBytes);
    if ((this.#head?.length ?? 0) + this.#lineBytes <= cap) return;
    let dropped = 0;
    while (dropped < this.#lines.length && this.#lineBytes > cap / 2) {
      this.#lineBytes -= Buffer.byteLength(this.#lines[dropped] as string);
      dropped++;
    }
    if (dropped === 0) return;
    this.#lines = this.#lines.slice(dropped);
    this.#options.onDrop(dropped, 'the log reader did not keep up');
  }

  #drop(reason: string): void {
    const lines = this.pendingLines;
    this.#head = undefined;
    this.#headLines = 0;
    this.#lines = [];
    this.#lineBytes = 0;
    if (lines > 0) this.#options.onDrop(lines, reason);
  }
}
