import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '@switchyard/proxy';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-config-hash-'));
const config = (selector: Record<string, unknown>) => ({
  listen: '127.0.0.1:8080',
  upstreams: { web: { backends: ['127.0.0.1:9001', { address: '127.0.0.1:9002', weight: 2 }], selector } },
});

describe('config: the HAProxy- and Envoy-compatible selector types', () => {
  it('haproxy, ring-hash and maglev variant envoy parse with their defaults', () => {
    const haproxy = resolveConfig(config({ type: 'haproxy', hashType: 'consistent', key: 'header:x-user' }), dir);
    expect(haproxy.upstreams.web!.selector).toEqual({
      type: 'haproxy',
      key: 'header:x-user',
      options: { hashType: 'consistent', hashFunction: 'sdbm', avalanche: false, balance: 'sample' },
    });
    const ring = resolveConfig(config({ type: 'ring-hash', minimumRingSize: 2048 }), dir);
    expect(ring.upstreams.web!.selector.options).toEqual({ minimumRingSize: 2048, hashFunction: 'xxhash' });
    const envoy = resolveConfig(config({ type: 'maglev', variant: 'envoy' }), dir);
    expect(envoy.upstreams.web!.selector.options).toMatchObject({ variant: 'envoy' });
  });

  it('names what was wrong', () => {
    expect(() => resolveConfig(config({ type: 'haproxy', hashFunction: 'md5' }), dir)).toThrow(
      /selector\.hashFunction: expected "sdbm", "djb2", "wt6" or "crc32"/,
    );
    expect(() => resolveConfig(config({ type: 'ring-hash', hashFunction: 'md5' }), dir)).toThrow(
      /selector\.hashFunction: expected "xxhash" or "murmur2"/,
    );
  });
});
