import {
  backend,
  HttpPeer,
  type HttpPeerInit,
  PEER_OPTIONS_DEFAULTS,
  type PeerOptions,
  preserve,
} from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { expectInvalid } from './helpers/expect-invalid.js';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIEsecretkeymaterial\n-----END PRIVATE KEY-----\n';
const OTHER_CERT = '-----BEGIN CERTIFICATE-----\nMIIBother\n-----END CERTIFICATE-----\n';
const OTHER_KEY = '-----BEGIN PRIVATE KEY-----\nMIIEothersecret\n-----END PRIVATE KEY-----\n';

describe('HttpPeer construction', () => {
  it('accepts "host:port", "[v6]:port", { host, port } and a Backend', () => {
    const a = new HttpPeer('10.0.0.1:443', true, 'one.one.one.one');
    expect(a.address).toEqual({ host: '10.0.0.1', port: 443 });
    expect(a.id).toBe('10.0.0.1:443');
    expect(a.sni).toBe('one.one.one.one');
    const v6 = new HttpPeer('[::1]:8443', true, 'localhost');
    expect(v6.address).toEqual({ host: '::1', port: 8443 });
    expect(v6.id).toBe('[::1]:8443');
    expect(new HttpPeer({ host: '::1', port: 80 }, false).id).toBe('[::1]:80');
    const fromBackend = new HttpPeer(backend('127.0.0.1:8080', 5, { zone: 'a' }), false);
    expect(fromBackend.address).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(fromBackend.id).toBe('127.0.0.1:8080');
  });

  it('fixes address and id at construction: the id is always the canonical host:port', () => {
    const peer = new HttpPeer('127.0.0.1:80', false);
    expect(Object.isFrozen(peer.address)).toBe(true);
    expect(() => {
      (peer.address as { port: number }).port = 81;
    }).toThrow(TypeError);
    expect(peer.id).toBe('127.0.0.1:80');
    // A hand-made Backend whose id is not its address: the peer still names the address.
    const odd = { id: 'web-1', host: '127.0.0.1', port: 8080, weight: 1, meta: {} };
    expect(new HttpPeer(odd, false).id).toBe('127.0.0.1:8080');
  });

  it('derives the scheme from tls and defaults SNI to empty', () => {
    const plain = new HttpPeer('127.0.0.1:80', false);
    expect(plain.scheme).toBe('http');
    expect(plain.tls).toBe(false);
    expect(plain.sni).toBe('');
    const tls = new HttpPeer('127.0.0.1:443', true, 'example.com');
    expect(tls.scheme).toBe('https');
    expect(tls.tls).toBe(true);
    expect(tls.toString()).toBe('https://127.0.0.1:443 (sni example.com)');
  });

  it('starts with the default peer options, validated and frozen', () => {
    const peer = new HttpPeer('127.0.0.1:80', false, '', { options: { connectionTimeout: 100 } });
    expect(peer.options.connectionTimeout).toBe(100);
    expect(peer.options.verifyCert).toBe(true);
    expect(peer.options.alpn).toBe('h1');
    expect(Object.isFrozen(peer.options)).toBe(true);
    expect(peer.setOptions({ readTimeout: 50 }).options).toMatchObject({ connectionTimeout: 100, readTimeout: 50 });
    expectInvalid(() => peer.setOptions({ readTimeout: -1 }), /readTimeout/);
    expect(peer.options.readTimeout).toBe(50);
  });

  it('takes options one field at a time, as Pingora code assigns them, validated on assignment', () => {
    const peer = new HttpPeer('127.0.0.1:80', true, 'example.com');
    peer.options.connectionTimeout = 100;
    peer.options.readTimeout = 2_000;
    peer.options.alpn = 'h2h1';
    peer.options.verifyHostname = false;
    expect(peer.options).toMatchObject({
      connectionTimeout: 100,
      readTimeout: 2_000,
      alpn: 'h2h1',
      verifyHostname: false,
    });
    expect({ ...peer.options }).toEqual({
      ...PEER_OPTIONS_DEFAULTS,
      connectionTimeout: 100,
      readTimeout: 2_000,
      alpn: 'h2h1',
      verifyHostname: false,
    });
    // The pool key follows what was assigned.
    const other = new HttpPeer('127.0.0.1:80', true, 'example.com', { options: { verifyHostname: false } });
    expect(peer.reuseKey()).toBe(other.reuseKey());

    // A bad value names the field and leaves every option as it was.
    const before = { ...peer.options };
    expectInvalid(() => {
      peer.options.readTimeout = -5;
    }, /peer option readTimeout/);
    expectInvalid(() => {
      peer.options.alpn = 'h3' as never;
    }, /peer option alpn/);
    expectInvalid(() => {
      peer.options.bindTo = 'localhost';
    }, /peer option bindTo/);
    expectInvalid(() => {
      peer.options.verifyCert = undefined as never;
    }, /peer option verifyCert.*no unset state/);
    expectInvalid(() => {
      peer.options.tcpKeepalive = { idle: 1, interval: 1, count: 0 };
    }, /tcpKeepalive\.count/);
    expect({ ...peer.options }).toEqual(before);

    // Each change makes a new frozen snapshot; reading does not.
    const snapshot = peer.optionsSnapshot();
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(peer.optionsSnapshot()).toBe(snapshot);
    peer.options.writeTimeout = 10;
    expect(peer.optionsSnapshot()).not.toBe(snapshot);
    expect(peer.optionsSnapshot().writeTimeout).toBe(10);
    // undefined clears an option whose default is undefined.
    peer.options.readTimeout = undefined;
    expect(peer.options.readTimeout).toBeUndefined();
    // The view keeps its shape: no field can be added, so a misspelt name cannot pass silently.
    expect(Object.isExtensible(peer.options)).toBe(false);
    expect(() => {
      (peer.options as unknown as Record<string, unknown>).connection_timeout = 100;
    }).toThrow(TypeError);
    // Nested values are copied and frozen: changing the caller's object later changes nothing.
    const keepalive = { idle: 1_000, interval: 500, count: 3 };
    peer.options.tcpKeepalive = keepalive;
    keepalive.count = 0;
    expect(peer.options.tcpKeepalive).toEqual({ idle: 1_000, interval: 500, count: 3 });
    expect(Object.isFrozen(peer.options.tcpKeepalive)).toBe(true);
  });

  it('rejects bad addresses, tls, sni, proxies, client certificates and group keys', () => {
    expectInvalid(() => new HttpPeer('127.0.0.1', false), /port/);
    expectInvalid(() => new HttpPeer({ host: '127.0.0.1', port: 0 }, false), /port/);
    expectInvalid(() => new HttpPeer(42 as unknown as string, false), /HttpPeer address/);
    expectInvalid(() => new HttpPeer('127.0.0.1:80', 'yes' as unknown as boolean), /HttpPeer tls/);
    expectInvalid(() => new HttpPeer('127.0.0.1:80', true, 5 as unknown as string), /HttpPeer sni/);
    const init = (value: HttpPeerInit) => () => new HttpPeer('127.0.0.1:80', false, '', value);
    expectInvalid(init({ proxy: { uri: 'not a url' } }), /proxy\.uri/);
    expectInvalid(init({ proxy: { uri: 'socks5://127.0.0.1:1080' } }), /proxy\.uri scheme/);
    expectInvalid(init({ proxy: { uri: 'http://127.0.0.1:3128', headers: { 'X-A': 1 as unknown as string } } }), /X-A/);
    expectInvalid(
      init({ proxy: { uri: 'http://127.0.0.1:3128', headers: 'X' as unknown as Record<string, string> } }),
      /headers/,
    );
    expectInvalid(init({ clientCertKey: { cert: 'nope', key: KEY } }), /clientCertKey\.cert/);
    expectInvalid(init({ clientCertKey: { cert: CERT, key: 'raw-secret' } }), /clientCertKey\.key/);
    expectInvalid(init({ groupKey: 1.5 }), /groupKey/);
    expectInvalid(init({ options: { alpn: 'h3' as 'h1' } }), /alpn/);
  });

  it('never echoes a proxy password or a private key in errors', () => {
    const proxyErr = expectInvalid(
      () => new HttpPeer('127.0.0.1:80', false, '', { proxy: { uri: 'http://user:hunter2@%zz:3128' } }),
      /proxy\.uri/,
    );
    expect(proxyErr.message).not.toContain('hunter2');
    const keyErr = expectInvalid(
      () => new HttpPeer('127.0.0.1:80', false, '', { clientCertKey: { cert: CERT, key: 'hunter2-key' } }),
      /key/,
    );
    expect(keyErr.message).not.toContain('hunter2');
  });
});

describe('HttpPeer.reuseKey()', () => {
  const base = {
    address: '10.0.0.1:443',
    tls: true,
    sni: 'api.example.com',
    init: {
      proxy: { uri: 'http://user:hunter2@127.0.0.1:3128', headers: { 'X-Tenant': 'a' } },
      clientCertKey: { cert: CERT, key: KEY },
      groupKey: 0,
      options: { verifyCert: true, verifyHostname: true, alternativeCn: 'alt.example.com' },
    } as HttpPeerInit,
  };
  const make = (change: Partial<typeof base> = {}) => {
    const p = { ...base, ...change };
    return new HttpPeer(p.address, p.tls, p.sni, p.init);
  };
  const withInit = (init: Partial<HttpPeerInit>) => make({ init: { ...base.init, ...init } });
  const without = (field: keyof HttpPeerInit) => {
    const init: Record<string, unknown> = { ...base.init };
    init[field] = undefined;
    return make({ init: JSON.parse(JSON.stringify(init)) as HttpPeerInit });
  };
  const withOptions = (options: Partial<PeerOptions>) => withInit({ options: { ...base.init.options, ...options } });

  it('is equal for equal peers', () => {
    expect(make().reuseKey()).toBe(make().reuseKey());
  });

  it('changes with every field Pingora hashes: address, scheme, proxy, SNI, client cert, verification, alternativeCn, group', () => {
    const key = make().reuseKey();
    const variants: [string, HttpPeer][] = [
      ['address host', make({ address: '10.0.0.2:443' })],
      ['address port', make({ address: '10.0.0.1:444' })],
      ['scheme', make({ tls: false })],
      ['sni', make({ sni: 'other.example.com' })],
      ['proxy uri', withInit({ proxy: { uri: 'http://user:hunter2@127.0.0.1:3129', headers: { 'X-Tenant': 'a' } } })],
      [
        'proxy password',
        withInit({ proxy: { uri: 'http://user:hunter3@127.0.0.1:3128', headers: { 'X-Tenant': 'a' } } }),
      ],
      [
        'proxy headers',
        withInit({ proxy: { uri: 'http://user:hunter2@127.0.0.1:3128', headers: { 'X-Tenant': 'b' } } }),
      ],
      ['no proxy', without('proxy')],
      ['client cert', withInit({ clientCertKey: { cert: OTHER_CERT, key: KEY } })],
      ['client key', withInit({ clientCertKey: { cert: CERT, key: OTHER_KEY } })],
      ['no client cert', without('clientCertKey')],
      ['verifyCert', withOptions({ verifyCert: false })],
      ['verifyHostname', withOptions({ verifyHostname: false })],
      ['alternativeCn', withOptions({ alternativeCn: 'other-alt.example.com' })],
      ['no alternativeCn', withOptions({ alternativeCn: undefined })],
      ['groupKey', withInit({ groupKey: 7 })],
    ];
    const keys = new Set([key]);
    for (const [field, peer] of variants) {
      expect(peer.reuseKey(), field).not.toBe(key);
      keys.add(peer.reuseKey());
    }
    expect(keys.size).toBe(variants.length + 1);
  });

  it('ignores timeouts, ALPN, CA, bindTo, keepalive, system certs and the request policy', () => {
    const key = make().reuseKey();
    const same = withOptions({
      connectionTimeout: 1,
      totalConnectionTimeout: 2,
      readTimeout: 3,
      idleTimeout: 0,
      writeTimeout: 5,
      alpn: 'h2',
      ca: CERT,
      bindTo: '127.0.0.2',
      tcpKeepalive: { idle: 1, interval: 1, count: 1 },
      useSystemCerts: false,
      httpUpstreamRequestPolicy: preserve(),
    });
    expect(same.reuseKey()).toBe(key);
    const peer = make();
    peer.setOptions({ alpn: 'h2h1', readTimeout: 9 });
    expect(peer.reuseKey()).toBe(key);
    peer.setOptions({ verifyCert: false });
    expect(peer.reuseKey()).not.toBe(key);
  });

  it('follows proxy and clientCertKey reassignment', () => {
    const peer = make();
    const key = peer.reuseKey();
    peer.proxy = undefined;
    expect(peer.reuseKey()).not.toBe(key);
    peer.proxy = base.init.proxy;
    expect(peer.reuseKey()).toBe(key);
    peer.clientCertKey = undefined;
    expect(peer.reuseKey()).not.toBe(key);
  });

  it('cannot be forged through separators in SNI or alternativeCn', () => {
    // Under a naive `a|b|c` join these two peers produced the same key.
    const a = new HttpPeer('10.0.0.1:443', true, 's', {
      options: { verifyCert: false, verifyHostname: false, alternativeCn: 'n|proxy=-|cert=-|verify=11|cn=' },
    });
    const b = new HttpPeer('10.0.0.1:443', true, 's|proxy=-|cert=-|verify=00|cn=n');
    expect(a.reuseKey()).not.toBe(b.reuseKey());
  });

  it('never contains the proxy password, proxy headers, the private key or the certificate', () => {
    const key = make().reuseKey();
    for (const secret of ['hunter2', 'user:', 'X-Tenant', 'secretkeymaterial', 'MIIBcert', '3128']) {
      expect(key).not.toContain(secret);
    }
  });
});
