import { PEER_OPTIONS_DEFAULTS, type PeerOptions, resolvePeerOptions, standard } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { expectInvalid } from './helpers/expect-invalid.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const resolve = (overrides: Record<string, unknown>) => resolvePeerOptions(overrides as Partial<PeerOptions>);

describe('PEER_OPTIONS_DEFAULTS', () => {
  it("equal Pingora's PeerOptions::new(): no timeouts, verification on, ALPN h1, standard policy", () => {
    expect(PEER_OPTIONS_DEFAULTS).toEqual({
      bindTo: undefined,
      connectionTimeout: undefined,
      totalConnectionTimeout: undefined,
      readTimeout: undefined,
      idleTimeout: undefined,
      writeTimeout: undefined,
      verifyCert: true,
      verifyHostname: true,
      useSystemCerts: true,
      alternativeCn: undefined,
      alpn: 'h1',
      ca: undefined,
      tcpKeepalive: undefined,
      httpUpstreamRequestPolicy: standard(),
    });
    expect(Object.keys(PEER_OPTIONS_DEFAULTS)).toHaveLength(14);
    expect(Object.isFrozen(PEER_OPTIONS_DEFAULTS)).toBe(true);
  });

  it('are what resolvePeerOptions() returns without overrides', () => {
    expect(resolvePeerOptions()).toEqual(PEER_OPTIONS_DEFAULTS);
    expect(resolvePeerOptions({})).toEqual(PEER_OPTIONS_DEFAULTS);
  });
});

describe('resolvePeerOptions()', () => {
  it('merges valid overrides, keeps defaults for undefined ones, and freezes the result', () => {
    const o = resolve({
      connectionTimeout: 100,
      totalConnectionTimeout: 250.5,
      readTimeout: 0,
      idleTimeout: 0,
      writeTimeout: 1000,
      verifyCert: false,
      alpn: 'h2h1',
      ca: [PEM],
      bindTo: '::1',
      alternativeCn: 'backend.internal',
      tcpKeepalive: { idle: 1000, interval: 500, count: 3 },
      verifyHostname: undefined,
    });
    expect(o).toMatchObject({ connectionTimeout: 100, totalConnectionTimeout: 250.5, idleTimeout: 0, alpn: 'h2h1' });
    expect(o.verifyHostname).toBe(true);
    expect(Object.isFrozen(o)).toBe(true);
    expect(resolvePeerOptions({ bindTo: '127.0.0.2' }).bindTo).toBe('127.0.0.2');
  });

  it('rejects negative and non-finite durations, naming the field', () => {
    for (const field of ['connectionTimeout', 'totalConnectionTimeout', 'readTimeout', 'idleTimeout', 'writeTimeout']) {
      for (const bad of [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, '100']) {
        expectInvalid(() => resolve({ [field]: bad }), new RegExp(`peer option ${field} \\(ms\\).*finite number >= 0`));
      }
    }
  });

  it('rejects a bad alpn, booleans of the wrong type and a bindTo that is not an IP', () => {
    for (const alpn of ['http/1.1', 'h3', '', 'H1']) expectInvalid(() => resolve({ alpn }), /peer option alpn/);
    for (const field of ['verifyCert', 'verifyHostname', 'useSystemCerts']) {
      expectInvalid(() => resolve({ [field]: 'yes' }), new RegExp(`peer option ${field}.*boolean`));
    }
    for (const bindTo of ['', 'localhost', '10.0.0.1:80', 5]) expectInvalid(() => resolve({ bindTo }), /bindTo/);
    expectInvalid(() => resolve({ alternativeCn: '' }), /alternativeCn/);
  });

  it('rejects a bad ca, tcpKeepalive and policy, naming the field', () => {
    expectInvalid(() => resolve({ ca: 'not pem' }), /peer option ca/);
    expectInvalid(() => resolve({ ca: [PEM, 42] }), /peer option ca/);
    expectInvalid(() => resolve({ tcpKeepalive: { idle: -1, interval: 1, count: 1 } }), /tcpKeepalive\.idle/);
    expectInvalid(
      () => resolve({ tcpKeepalive: { idle: 1, interval: Number.NaN, count: 1 } }),
      /tcpKeepalive\.interval/,
    );
    expectInvalid(() => resolve({ tcpKeepalive: { idle: 1, interval: 1, count: 0 } }), /tcpKeepalive\.count/);
    expectInvalid(
      () => resolve({ httpUpstreamRequestPolicy: { ...standard(), h1Upgrade: 'all' } }),
      /httpUpstreamRequestPolicy\.h1Upgrade/,
    );
    expectInvalid(
      () => resolve({ httpUpstreamRequestPolicy: { ...standard(), stripHopByHop: 1 } }),
      /httpUpstreamRequestPolicy\.stripHopByHop/,
    );
  });

  it('rejects the s2n-only fields by name without echoing their values', () => {
    for (const field of ['psk', 's2nSecurityPolicy', 'maxBlindingDelay']) {
      const err = expectInvalid(
        () => resolve({ [field]: 'sekrit-psk-value' }),
        new RegExp(`peer option ${field}.*s2n`),
      );
      expect(err.message).not.toContain('sekrit');
    }
  });

  it('rejects unknown fields and non-objects', () => {
    expectInvalid(() => resolve({ conectionTimeout: 5 }), /peer options.*conectionTimeout/);
    expectInvalid(() => resolvePeerOptions('x' as unknown as Partial<PeerOptions>), /peer options/);
    expectInvalid(() => resolvePeerOptions([] as unknown as Partial<PeerOptions>), /peer options/);
  });

  it("detaches nested objects: mutating the caller's copies later changes nothing", () => {
    const policy = { ...standard() };
    const keepalive = { idle: 1000, interval: 500, count: 3 };
    const ca = [PEM];
    const o = resolvePeerOptions({ httpUpstreamRequestPolicy: policy, tcpKeepalive: keepalive, ca });
    policy.h1Upgrade = 'nonsense' as 'deny';
    keepalive.count = -5;
    ca.push('garbage');
    expect(o.httpUpstreamRequestPolicy.h1Upgrade).toBe('websocket-only');
    expect(o.tcpKeepalive?.count).toBe(3);
    expect(o.ca).toEqual([PEM]);
    expect(Object.isFrozen(o.httpUpstreamRequestPolicy) && Object.isFrozen(o.tcpKeepalive)).toBe(true);
    // Frozen inputs (the policy constructors) are kept as they are.
    expect(resolvePeerOptions({ httpUpstreamRequestPolicy: standard() }).httpUpstreamRequestPolicy).toBe(standard());
  });

  it('merges over a base other than the defaults', () => {
    const base = resolvePeerOptions({ readTimeout: 5, alpn: 'h2' });
    const o = resolvePeerOptions({ writeTimeout: 7 }, base);
    expect(o).toMatchObject({ readTimeout: 5, alpn: 'h2', writeTimeout: 7 });
  });
});
