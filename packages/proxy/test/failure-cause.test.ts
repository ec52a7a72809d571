import { LbError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { failureCause } from '../src/internal/server/failure-cause.js';
import { FailureWarnings } from '../src/internal/server/failure-warnings.js';
import { captureLogs } from './helpers/log-capture.js';

describe('failureCause', () => {
  it('joins the message chain, each part once, with the errno of a system error', () => {
    const errno = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const err = new LbError('LB_ERR_CONNECT_FAILED', 'connect to 127.0.0.1:9 failed', { cause: errno });
    expect(failureCause(err)).toBe('connect to 127.0.0.1:9 failed: connect ECONNREFUSED 127.0.0.1:9');
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(failureCause(tls)).toBe('self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)');
  });

  it('names the timeout that expired', () => {
    const undici = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    const err = new LbError('LB_ERR_UPSTREAM_TIMEOUT', 'upstream a:1 timed out', { cause: undici });
    expect(failureCause(err)).toBe('upstream a:1 timed out: readTimeout expired before the response head');
    expect(failureCause({ code: 'UND_ERR_BODY_TIMEOUT' })).toBe('readTimeout expired during the response body');
  });

  it('is undefined when nothing describes the error, and follows at most four causes', () => {
    expect(failureCause(undefined)).toBeUndefined();
    expect(failureCause({})).toBeUndefined();
    let deep: Error = new Error('e0');
    for (let i = 1; i < 10; i++) deep = new Error(`e${i}`, { cause: deep });
    expect(failureCause(deep)).toBe('e9: e8: e7: e6');
  });
});

describe('FailureWarnings', () => {
  it('warns once per backend per interval, then says how many failures it left unlogged', () => {
    const { logger, lines } = captureLogs('warn');
    let now = 0;
    const warnings = new FailureWarnings(logger, () => now, 60_000);
    const err = new LbError('LB_ERR_CONNECT_FAILED', 'refused');
    warnings.failed('a:1', 'connect', err);
    warnings.failed('a:1', 'connect', err);
    warnings.failed('b:1', 'timeout', err);
    now = 59_999;
    warnings.failed('a:1', 'connect', err);
    expect(lines.map((l) => [l.backend, l.suppressed])).toEqual([
      ['a:1', 0],
      ['b:1', 0],
    ]);
    now = 60_000;
    warnings.failed('a:1', 'connect', err);
    expect(lines.map((l) => [l.backend, l.suppressed])).toEqual([
      ['a:1', 0],
      ['b:1', 0],
      ['a:1', 2],
    ]);
    expect(lines[0]).toMatchObject({ level: 40, kind: 'connect', code: 'LB_ERR_CONNECT_FAILED', cause: 'refused' });
  });
});
