import { LbError } from '@switchyard/core';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { accessLine, accessLineObserver } from '../src/commands/access-line.js';
import { redactText } from '../src/config/redact.js';
import { type AccessRecord, accessRecord } from '../src/internal/server/access-log.js';

const TIME = 1_764_000_000_123;
const PID = 4242;
const BINDINGS = `,"pid":${PID},"component":"proxy","log":"access"`;

/** The line serve's pino access logger writes for `record` (serve's base, bindings and message). */
function pinoLine(record: AccessRecord): string {
  let out = '';
  const logger = pino(
    { level: 'info', base: { pid: PID }, timestamp: () => `,"time":${TIME}` },
    {
      write(line: string) {
        out += line;
      },
    },
  );
  logger.child({ component: 'proxy' }).child({ log: 'access' }).info(record, 'request');
  return out;
}

const text = fc.string({ unit: 'binary', maxLength: 60 });
const records = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PATCH', 'M-SEARCH'),
    path: text,
    status: fc.integer({ min: 100, max: 599 }),
    backend: fc.option(text, { nil: undefined }),
    attempts: fc.integer({ min: 0, max: 10 }),
    elapsedMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
    cause: fc.option(text, { nil: undefined }),
    retryRefused: fc.boolean(),
    bytesIn: fc.nat(),
    bytesOut: fc.nat(),
    error: fc.option(fc.constantFrom('LB_ERR_CONNECT_FAILED', 'LB_ERR_UPSTREAM_TIMEOUT'), { nil: undefined }),
  })
  .map(({ bytesIn, bytesOut, error, ...facts }) =>
    accessRecord(facts, bytesIn, bytesOut, error === undefined ? undefined : new LbError(error, 'x')),
  );

describe('accessLine', () => {
  it('is the line pino writes for the same record, byte for byte', () => {
    fc.assert(
      fc.property(records, (record) => {
        expect(accessLine(record, TIME, BINDINGS)).toBe(pinoLine(record));
      }),
      { numRuns: 2000 },
    );
  });

  it('carries every field of a record with every field set', () => {
    const record = accessRecord(
      {
        method: 'GET',
        path: '/a"b\\c\u0001',
        status: 502,
        backend: 'b:1',
        attempts: 2,
        elapsedMs: 3.21,
        cause: 'ECONNREFUSED',
        retryRefused: true,
      },
      10,
      20,
      new LbError('LB_ERR_CONNECT_FAILED', 'x'),
    );
    const line = JSON.parse(accessLine(record, TIME, BINDINGS)) as Record<string, unknown>;
    // A field added to the record but not to the line fails here.
    expect(Object.keys(line)).toEqual(['level', 'time', 'pid', 'component', 'log', ...Object.keys(record), 'msg']);
    expect(line).toMatchObject({ ...record, level: 30, msg: 'request' });
  });

  it('goes to the sink as one line, a password in it redacted as serve redacts its other lines', () => {
    const lines: string[] = [];
    const observer = accessLineObserver({ write: (l) => lines.push(l) }, PID, redactText);
    const record = accessRecord(
      { method: 'GET', path: '/x', status: 200, backend: 'b', attempts: 1, elapsedMs: 1 },
      1,
      2,
      undefined,
    );
    observer.onRequestEnd?.(record);
    observer.onRequestEnd?.({ ...record, path: '/go?to=http://user:hunter2@example.test/' });
    expect(lines).toHaveLength(2);
    expect(lines[0]?.endsWith('"msg":"request"}\n')).toBe(true);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ pid: PID, log: 'access', path: '/x' });
    expect(lines[1]).not.toContain('hunter2');
    expect(lines[1]).toBe(redactText(lines[1] as string));
  });
});
