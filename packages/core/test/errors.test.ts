import { readFileSync } from 'node:fs';
import { ERROR_CODES, isLbError, LbError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

function documentedRows(): Map<string, { status: number; retryable: boolean }> {
  const rows = new Map<string, { status: number; retryable: boolean }>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(LB_ERR_[A-Z_]+)` \|.*\| (\d{3}) \| (yes|no) \|$/.exec(line);
    if (m) rows.set(m[1]!, { status: Number(m[2]), retryable: m[3] === 'yes' });
  }
  return rows;
}

describe('ERROR_CODES and docs/errors.md', () => {
  it('document exactly the same codes with the same status and retryability', () => {
    const rows = documentedRows();
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(rows.get(code), code).toEqual({ status: spec.status, retryable: spec.retryable });
    }
  });
});

describe('LbError', () => {
  it('carries code, status, retryable and cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new LbError('LB_ERR_CONNECT_FAILED', 'connect to 127.0.0.1:1 refused', { cause });
    expect(err.code).toBe('LB_ERR_CONNECT_FAILED');
    expect(err.status).toBe(502);
    expect(err.retryable).toBe(true);
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('LbError');
  });

  it('lets the caller override retryable', () => {
    expect(new LbError('LB_ERR_CONNECT_FAILED', 'x', { retryable: false }).retryable).toBe(false);
  });

  it('is recognised across duplicate installs by name and code', () => {
    expect(isLbError({ name: 'LbError', code: 'LB_ERR_BAD_REQUEST', message: 'x' })).toBe(true);
    expect(isLbError({ name: 'LbError', code: 'NOPE' })).toBe(false);
    expect(isLbError(new Error('x'))).toBe(false);
  });
});
