import { backend, isLbError } from '@switchyard/core';
import {
  createHealthMonitor,
  createOutlierDetector,
  dnsDiscovery,
  fileDiscovery,
  httpCheck,
  tcpCheck,
} from '@switchyard/health';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

// Bad options must fail inside the factory with LB_ERR_INVALID_OPTION and a message naming the
// option and what was expected — not with a TypeError/RangeError at first use.

const MAX = 2 ** 31 - 1;
const LOGGER_EXPECTED = 'expected a pino logger (an object with child/debug/info/warn/error functions)';
const A = { name: 'svc.test', type: 'A', port: 80 } as const;

/** The LbError message `fn` throws; fails the test unless it throws LB_ERR_INVALID_OPTION. */
function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!isLbError(err)) throw new Error(`expected an LbError, got ${String(err)}`);
    expect(err.code).toBe('LB_ERR_INVALID_OPTION');
    return err.message;
  }
  throw new Error('expected a throw, but the call returned');
}

describe('logger option', () => {
  const bad: ReadonlyArray<readonly [unknown, string]> = [
    [[], 'an array of 0'],
    [null, 'null'],
    ['info', '"info"'],
    [{ info: () => {} }, 'a object'],
    [{ child: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: 1 }, 'a object'],
  ];
  const factories: ReadonlyArray<readonly [string, (logger: unknown) => unknown]> = [
    ['outlier logger', (logger) => createOutlierDetector({ logger: logger as never })],
    ['fileDiscovery logger', (logger) => fileDiscovery('/nonexistent/backends.json', { logger: logger as never })],
    ['dnsDiscovery logger', (logger) => dnsDiscovery({ ...A, logger: logger as never })],
    [
      'health monitor logger',
      (logger) => createHealthMonitor({ backends: [], check: tcpCheck(), logger: logger as never }),
    ],
  ];
  for (const [what, make] of factories) {
    it(`${what}: rejects what is not a pino logger, naming the option and the methods`, () => {
      for (const [value, shown] of bad) {
        expect(invalid(() => make(value))).toBe(`${what}: ${LOGGER_EXPECTED}, got ${shown}`);
      }
    });

    it(`${what}: accepts a real pino logger`, async () => {
      const made = make(pino({ enabled: false })) as { close?: () => Promise<void>; stop?: () => Promise<void> };
      await made.stop?.();
      await made.close?.();
    });
  }
});

describe('dnsDiscovery ranges node:dns accepts', () => {
  it('rejects tries and timeoutMs outside 1..2^31-1 (node:dns would throw a RangeError)', () => {
    expect(invalid(() => dnsDiscovery({ ...A, tries: 2 ** 31 }))).toBe(
      `dnsDiscovery tries: expected an integer from 1 to ${MAX}, got 2147483648`,
    );
    expect(invalid(() => dnsDiscovery({ ...A, tries: 0 }))).toBe(
      `dnsDiscovery tries: expected an integer from 1 to ${MAX}, got 0`,
    );
    expect(invalid(() => dnsDiscovery({ ...A, timeoutMs: 2 ** 31 }))).toBe(
      `dnsDiscovery timeoutMs: expected an integer from 1 to ${MAX}, got 2147483648`,
    );
    expect(invalid(() => dnsDiscovery({ ...A, timeoutMs: 1.5 }))).toMatch(/^dnsDiscovery timeoutMs: /);
  });

  it('rejects refresh delays a timer cannot hold (setTimeout would fire after 1 ms)', () => {
    expect(invalid(() => dnsDiscovery({ ...A, refreshMs: 2 ** 31 }))).toMatch(/^dnsDiscovery refreshMs: .*2147483647/);
    expect(invalid(() => dnsDiscovery({ ...A, minRefreshMs: 2 ** 40 }))).toMatch(/^dnsDiscovery minRefreshMs: /);
  });

  it('accepts the largest values', async () => {
    const d = dnsDiscovery({ ...A, tries: MAX, timeoutMs: MAX, refreshMs: MAX, minRefreshMs: MAX });
    await d.close?.();
  });

  it('rejects a server that is not an IP address, naming servers', () => {
    const message = invalid(() => dnsDiscovery({ ...A, servers: ['not an ip'] }));
    expect(message).toMatch(/^dnsDiscovery servers: expected IP addresses as "ip", "ip:port" or "\[v6\]:port" \(/);
    expect(message).toMatch(/got an array of 1$/);
  });

  it('accepts loopback servers without sending anything', async () => {
    const d = dnsDiscovery({ ...A, servers: ['127.0.0.1:5353', '[::1]:5353', '127.0.0.1'] });
    await d.close?.();
  });
});

describe('fileDiscovery pollMs', () => {
  it('is bounded by what a timer can hold', async () => {
    expect(invalid(() => fileDiscovery('/nonexistent/backends.json', { pollMs: 2 ** 31 }))).toBe(
      `fileDiscovery pollMs: expected an integer from 1 to ${MAX}, got 2147483648`,
    );
    await fileDiscovery('/nonexistent/backends.json', { pollMs: MAX }).close?.();
  });
});

describe('createOutlierDetector backends', () => {
  it('rejects entries that are not Backend objects, at construction and in setBackends', () => {
    expect(invalid(() => createOutlierDetector({ backends: [undefined] as never }))).toBe(
      'outlier backends: expected Backend objects (from backend()), got undefined',
    );
    expect(invalid(() => createOutlierDetector({ backends: {} as never }))).toBe(
      'outlier backends: expected an array of Backend, got a object',
    );
    const d = createOutlierDetector({ backends: [backend('127.0.0.1:1')] });
    expect(invalid(() => d.setBackends([backend('127.0.0.1:2'), 7] as never))).toBe(
      'outlier backends: expected Backend objects (from backend()), got 7',
    );
    // A rejected setBackends leaves the pool as it was.
    d.record('127.0.0.1:1', 'http-5xx');
    expect(d.ejected()).toEqual([]);
  });
});

describe('createHealthMonitor hooks and interval', () => {
  const base = { backends: [], check: tcpCheck() };
  it('rejects hooks that are not functions', () => {
    expect(invalid(() => createHealthMonitor({ ...base, now: 5 as never }))).toBe(
      'health monitor now: expected a function, got 5',
    );
    expect(invalid(() => createHealthMonitor({ ...base, random: 'x' as never }))).toBe(
      'health monitor random: expected a function, got "x"',
    );
    expect(invalid(() => createHealthMonitor({ ...base, onChange: {} as never }))).toBe(
      'health monitor onChange: expected a function, got a object',
    );
  });

  it('bounds intervalMs by what a timer can hold', () => {
    expect(invalid(() => createHealthMonitor({ ...base, intervalMs: 2 ** 31 }))).toBe(
      `health monitor intervalMs: expected from 1 to ${MAX} ms, got 2147483648`,
    );
    expect(invalid(() => createHealthMonitor({ ...base, intervalMs: 0.5 }))).toMatch(/^health monitor intervalMs: /);
  });
});

describe('check timeoutMs', () => {
  it('tcpCheck and httpCheck reject a deadline a timer cannot hold', () => {
    expect(invalid(() => tcpCheck({ timeoutMs: 2 ** 31 }))).toBe(
      `tcpCheck timeoutMs: expected a duration > 0 and <= ${MAX} ms, got 2147483648`,
    );
    expect(invalid(() => httpCheck({ timeoutMs: 2 ** 31 }))).toBe(
      `httpCheck timeoutMs: expected a duration > 0 and <= ${MAX} ms, got 2147483648`,
    );
    expect(() => tcpCheck({ timeoutMs: MAX })).not.toThrow();
  });
});
