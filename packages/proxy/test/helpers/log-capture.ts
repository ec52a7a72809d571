import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** One JSON log line as pino wrote it. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly log?: string;
  readonly [field: string]: unknown;
}

/** A pino logger at `level` whose lines are kept, parsed, in `lines`. */
export function captureLogs(level = 'info'): { readonly logger: Logger; readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

/** The access-log lines among `lines`. */
export function accessLines(lines: readonly LogLine[]): LogLine[] {
  return lines.filter((l) => l.log === 'access' && l.msg === 'request');
}
