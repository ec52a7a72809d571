import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { forwardedElement, forwardedValue, forwardRequestHeaders } from '../src/internal/server/forward-headers.js';

const SEED = 20261203;

/** Forwarding field names a client may try, in any letter case. */
const forwardingName = fc
  .constantFrom(
    'forwarded',
    'x-real-ip',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-proto',
    'x-forwarded-port',
    'x-forwarded-server',
  )
  .chain((name) =>
    fc
      .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
      .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('')),
  );
const value = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }));
const clientHeaders = fc.array(
  fc.tuple(fc.oneof(forwardingName, fc.constantFrom('host', 'accept', 'x-other')), value),
  { maxLength: 12 },
);
const clientIp = fc.oneof(fc.ipV4(), fc.ipV6());
const mode = fc.constantFrom('x-forwarded', 'rfc7239', 'both') as fc.Arbitrary<'x-forwarded' | 'rfc7239' | 'both'>;

function values(out: readonly string[], name: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 1 < out.length; i += 2)
    if ((out[i] as string).toLowerCase() === name) found.push(out[i + 1] as string);
  return found;
}

test.prop([clientHeaders, clientIp, mode, fc.constantFrom('http', 'https') as fc.Arbitrary<'http' | 'https'>], {
  seed: SEED,
  numRuns: 500,
})(
  `whatever an untrusted client sends, the upstream's view of the client is the socket's peer (seed ${SEED})`,
  (pairs, ip, m, proto) => {
    const out = forwardRequestHeaders(pairs.flat(), ip, proto, false, m);
    const xStyle = m !== 'rfc7239';
    const rfc = m !== 'x-forwarded';
    expect(values(out, 'x-forwarded-for')).toEqual(xStyle ? [ip] : []);
    expect(values(out, 'x-real-ip')).toEqual(xStyle ? [ip] : []);
    expect(values(out, 'x-forwarded-proto')).toEqual(xStyle ? [proto] : []);
    const forwarded = values(out, 'forwarded');
    expect(forwarded.length).toBe(rfc ? 1 : 0);
    if (rfc) {
      // Exactly this hop's element, nothing of the client's: its `for` is the peer, IPv6 bracketed and quoted.
      const host = pairs.find(([n]) => n === 'host')?.[1];
      expect(forwarded[0]).toBe(forwardedElement(ip, proto, host));
      const forParam = /^for=([^;]+);/.exec(forwarded[0] as string)?.[1];
      expect(forParam).toBe(ip.includes(':') ? `"[${ip}]"` : ip);
    }
    for (let i = 0; i < out.length; i += 2) {
      const name = (out[i] as string).toLowerCase();
      if (name.startsWith('x-forwarded-'))
        expect(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']).toContain(name);
    }
  },
);

test.prop([clientHeaders, clientIp, fc.constantFrom('x-forwarded', 'both') as fc.Arbitrary<'x-forwarded' | 'both'>], {
  seed: SEED,
  numRuns: 300,
})(`a trusted proxy's X-Forwarded-For is appended to: the peer is always last (seed ${SEED})`, (pairs, ip, m) => {
  const out = forwardRequestHeaders(pairs.flat(), ip, 'http', true, m);
  const [xff] = values(out, 'x-forwarded-for');
  expect(xff?.split(', ').at(-1)).toBe(ip);
  const sent = pairs.filter(([n]) => n.toLowerCase() === 'x-forwarded-for').map(([, v]) => v);
  expect(xff).toBe([...sent, ip].join(', '));
});

describe('RFC 7239 values', () => {
  it('quotes what is not a token and escapes quotes and backslashes', () => {
    expect(forwardedValue('192.0.2.60')).toBe('192.0.2.60');
    expect(forwardedValue('[2001:db8:cafe::17]')).toBe('"[2001:db8:cafe::17]"');
    expect(forwardedValue('a.example:8080')).toBe('"a.example:8080"');
    expect(forwardedValue('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('builds one element: for (unknown without an address), host when known, proto', () => {
    expect(forwardedElement('192.0.2.43', 'https', 'a.example')).toBe('for=192.0.2.43;host=a.example;proto=https');
    expect(forwardedElement('2001:db8::1', 'http', undefined)).toBe('for="[2001:db8::1]";proto=http');
    expect(forwardedElement('', 'http', 'a:1')).toBe('for=unknown;host="a:1";proto=http');
  });

  it('an absolute-form authority replaces Host, or is added when the request had none', () => {
    const replaced = forwardRequestHeaders(['Host', 'old'], '10.0.0.1', 'http', false, 'x-forwarded', 'new:81');
    expect(values(replaced, 'host')).toEqual(['new:81']);
    expect(values(replaced, 'x-forwarded-host')).toEqual(['new:81']);
    const added = forwardRequestHeaders([], '10.0.0.1', 'http', false, 'rfc7239', 'new');
    expect(values(added, 'host')).toEqual(['new']);
    expect(values(added, 'forwarded')).toEqual(['for=10.0.0.1;host=new;proto=http']);
  });
});
