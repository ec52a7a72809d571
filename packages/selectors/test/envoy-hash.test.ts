import { type Backend, backend } from '@switchyard/core';
import {
  envoyCombineHashes,
  envoyCookieHash,
  envoyHeaderHash,
  envoySourceIpHash,
  maglev,
  ringHash,
} from '@switchyard/selectors';
import { describe, expect, it } from 'vitest';

// Expected values from Envoy's own unit tests (envoyproxy/envoy):
//   test/extensions/load_balancing_policies/ring_hash/ring_hash_lb_test.cc
//   test/extensions/load_balancing_policies/maglev/maglev_lb_test.cc
// Those tests hand the balancer a request hash directly; selectHash does the same.
const U64_MAX = 0xffffffffffffffffn;
const ports = (from: number, to: number, meta: (p: number) => Record<string, unknown> = () => ({})): Backend[] =>
  Array.from({ length: to - from + 1 }, (_, i) => backend(`127.0.0.1:${from + i}`, 1, meta(from + i)));
const first = (it: Iterator<Backend>): string | undefined => it.next().value?.id;
const take = (it: Iterator<Backend>, n: number): string[] => Array.from({ length: n }, () => it.next().value!.id);

describe("ringHash reproduces Envoy's ring_hash_lb_test expectations", () => {
  it('Basic: six hosts, minimum ring 12, xxHash', () => {
    const hosts = ports(90, 95);
    const ring = ringHash(hosts, { minimumRingSize: 12 });
    expect(ring.ringEntries()).toEqual([2, 2, 2, 2, 2, 2]);
    expect(first(ring.selectHash(0n))).toBe(hosts[4]!.id);
    expect(first(ring.selectHash(U64_MAX))).toBe(hosts[4]!.id);
    expect(first(ring.selectHash(3551244743356806947n))).toBe(hosts[5]!.id);
    expect(first(ring.selectHash(3551244743356806948n))).toBe(hosts[3]!.id);
    expect(first(ring.selectHash(16117243373044804880n))).toBe(hosts[0]!.id);
  });

  it('BasicWithRetryHostPredicate: attempt i takes the ring entry i places on, wrapping', () => {
    const hosts = ports(90, 95);
    const walk = take(ringHash(hosts, { minimumRingSize: 12 }).selectHash(0n), 12);
    // Envoy: attempt 0 → :94, attempt 1 → :92, attempt 2 → :90; 13 retries wrap to entry 1 (:92).
    expect(walk.slice(0, 3)).toEqual([hosts[4]!.id, hosts[2]!.id, hosts[0]!.id]);
    expect(walk[13 % 12]).toBe(hosts[2]!.id);
  });

  it('BasicWithMurmur2', () => {
    const hosts = ports(80, 85);
    const ring = ringHash(hosts, { minimumRingSize: 12, hashFunction: 'murmur2' });
    expect(ring.ringEntries()).toEqual([2, 2, 2, 2, 2, 2]);
    expect(first(ring.selectHash(0n))).toBe(hosts[5]!.id);
    expect(first(ring.selectHash(U64_MAX))).toBe(hosts[5]!.id);
    expect(first(ring.selectHash(1358027074129602068n))).toBe(hosts[5]!.id);
    expect(first(ring.selectHash(1358027074129602069n))).toBe(hosts[3]!.id);
    expect(first(ring.selectHash(10150910876324007730n))).toBe(hosts[2]!.id);
  });

  it('BasicWithHostname and BasicWithMetadataHashKey', () => {
    const byName = ports(90, 95, (p) => ({ hostname: String(p) }));
    const byKey = ports(90, 95, (p) => ({ envoyHashKey: String(p) }));
    for (const ring of [
      ringHash(byName, { minimumRingSize: 12, useHostnameForHashing: true }),
      ringHash(byKey, { minimumRingSize: 12 }),
    ]) {
      expect(first(ring.selectHash(0n))).toBe('127.0.0.1:95');
      expect(first(ring.selectHash(U64_MAX))).toBe('127.0.0.1:95');
      expect(first(ring.selectHash(7225015537174310577n))).toBe('127.0.0.1:92');
      expect(first(ring.selectHash(6803900775736438537n))).toBe('127.0.0.1:93');
    }
  });

  it('UnevenHosts: two hosts, minimum ring 3 → four entries', () => {
    const a = ringHash(ports(80, 81), { minimumRingSize: 3 });
    expect(a.ringEntries()).toEqual([2, 2]);
    expect(first(a.selectHash(0n))).toBe('127.0.0.1:80');
    expect(first(ringHash(ports(81, 82), { minimumRingSize: 3 }).selectHash(0n))).toBe('127.0.0.1:81');
  });

  it('HostWeightedTinyRing: weights 1, 2, 3 on a ring of exactly 6', () => {
    const hosts = [backend('127.0.0.1:90', 1), backend('127.0.0.1:91', 2), backend('127.0.0.1:92', 3)];
    const ring = ringHash(hosts, { minimumRingSize: 6, maximumRingSize: 6 });
    expect(ring.ringEntries()).toEqual([1, 2, 3]);
    const expected: [bigint, number][] = [
      [928266305478181108n, 2],
      [4443673547860492590n, 2],
      [5583722120771150861n, 1],
      [6311230543546372928n, 1],
      [13444792449719432967n, 2],
      [16117243373044804889n, 0],
    ];
    for (const [hash, host] of expected) expect(first(ring.selectHash(hash))).toBe(hosts[host]!.id);
  });

  it('select(key) hashes the key with xxHash64 as the header and cookie policies do', () => {
    // Envoy's Basic ring lists 15516499411664133160 for "127.0.0.1:94_0" (host key "_" entry index).
    expect(envoyHeaderHash('127.0.0.1:94_0')).toBe(15516499411664133160n);
    const ring = ringHash(ports(90, 95));
    for (const key of ['user-1', 'é☃', 'session=42']) {
      expect(first(ring.select(key))).toBe(first(ring.selectHash(envoyCookieHash(key))));
    }
    expect(envoySourceIpHash('10.0.0.1')).toBe(envoyHeaderHash('10.0.0.1'));
    expect(envoyCombineHashes([5n])).toBe(5n);
    expect(envoyCombineHashes([5n, 5n])).toBe(15n); // (5 rotated left by 1 = 10) XOR 5
    expect(envoyCombineHashes([])).toBeUndefined();
    expect(() => ringHash(ports(90, 91), { minimumRingSize: 20, maximumRingSize: 10 })).toThrow(/minimumRingSize/);
  });
});

describe("maglev { variant: 'envoy' } reproduces Envoy's maglev_lb_test expectations", () => {
  const assignments = (sel: { selectHash(h: bigint): Iterator<Backend> }, hosts: Backend[], n: number): number[] =>
    Array.from({ length: n }, (_, i) => hosts.findIndex((h) => h.id === first(sel.selectHash(BigInt(i)))));

  it('Basic and BasicStability: table 7, six hosts, any host order', () => {
    const hosts = ports(90, 95);
    const expected = [2, 4, 0, 1, 5, 0, 3];
    const table = maglev(hosts, { variant: 'envoy', tableSize: 7 });
    expect(assignments(table, hosts, 21)).toEqual([...expected, ...expected, ...expected]);
    expect(Math.min(...table.entries())).toBe(1);
    expect(Math.max(...table.entries())).toBe(2);
    const shuffled = maglev([hosts[3]!, hosts[0]!, hosts[5]!, hosts[1]!, hosts[4]!, hosts[2]!], {
      variant: 'envoy',
      tableSize: 7,
    });
    expect(assignments(shuffled, hosts, 7)).toEqual(expected);
  });

  it('BasicWithHostName and BasicWithMetadataHashKey', () => {
    const expected = [2, 5, 0, 3, 4, 1, 0];
    const byName = ports(90, 95, (p) => ({ hostname: String(p) }));
    expect(
      assignments(maglev(byName, { variant: 'envoy', tableSize: 7, useHostnameForHashing: true }), byName, 7),
    ).toEqual(expected);
    const byKey = ports(90, 95, (p) => ({ envoyHashKey: String(p) }));
    expect(assignments(maglev(byKey, { variant: 'envoy', tableSize: 7 }), byKey, 7)).toEqual(expected);
  });

  it('BasicWithRetryHostPredicate: attempts flip the hash with 2^64 − attempt', () => {
    const hosts = ports(90, 95);
    const walk = take(maglev(hosts, { variant: 'envoy', tableSize: 7 }).selectHash(10n), 3);
    expect(walk).toEqual([hosts[1]!.id, hosts[0]!.id, hosts[5]!.id]);
  });

  it('Weighted: weights 1 and 2, table 17', () => {
    const hosts = [backend('127.0.0.1:90', 1), backend('127.0.0.1:91', 2)];
    const table = maglev(hosts, { variant: 'envoy', tableSize: 17 });
    expect(table.entries()).toEqual([6, 11]);
    expect(assignments(table, hosts, 17)).toEqual([1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1]);
  });

  it('the default table is 65537 and must be prime', () => {
    const hosts = ports(90, 95);
    expect(
      maglev(hosts, { variant: 'envoy' })
        .entries()
        .reduce((a, b) => a + b, 0),
    ).toBe(65_537);
    expect(() => maglev(hosts, { variant: 'envoy', tableSize: 8 })).toThrow(/prime/);
  });
});
