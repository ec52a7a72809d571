import type { Server } from 'node:http';
import { type Backend, backend } from '@switchyard/core';
import { consistentHash, roundRobin } from '@switchyard/selectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelledServer, type Nginx, startNginx } from './helpers/nginx.js';

// The fixtures pin nginx's behaviour for one backend set; this suite asks a real nginx
// (the Debian package) about other sets, weights and keys, over loopback only.
// Weights are a fixed pseudo-random draw (seeded LCG) so a failure reproduces.
function weights(n: number, seed: number, max: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 1 + (s % max);
  });
}

const servers: Server[] = [];
let nginx: Nginx;
let ring: Backend[];
let rr: Backend[];
let v6: Backend[];

beforeAll(async () => {
  // Distinct loopback addresses as well as ports, so host bytes vary in the hash.
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.1', '127.0.0.5', '127.0.0.6', '127.0.0.7'];
  const labelled = await Promise.all(hosts.map((h) => labelledServer(h)));
  servers.push(...labelled.map((l) => l.server));
  const ringWeights = weights(labelled.length, 7, 5);
  const rrWeights = weights(labelled.length, 11, 6);
  ring = labelled.map((l, i) => backend(l.id, ringWeights[i]));
  const labelledV6 = await Promise.all(['::1', '::1', '::1', '::1'].map((h) => labelledServer(h)));
  servers.push(...labelledV6.map((l) => l.server));
  v6 = labelledV6.map((l, i) => backend(l.id, 1 + i));
  rr = labelled.map((l, i) => backend(l.id, rrWeights[i]));
  nginx = await startNginx(
    (listen) => `
  upstream chash { hash $request_uri consistent;
${ring.map((b) => `    server ${b.id} weight=${b.weight};`).join('\n')}
  }
  upstream chash6 { hash $request_uri consistent;
${v6.map((b) => `    server ${b.id} weight=${b.weight};`).join('\n')}
  }
  upstream wrr {
${rr.map((b) => `    server ${b.id} weight=${b.weight};`).join('\n')}
  }
  server {
    listen ${listen};
    location = /__ready { return 204; }
    location /rr/ { proxy_pass http://wrr; }
    location /v6/ { proxy_pass http://chash6; }
    location / { proxy_pass http://chash; }
  }`,
  );
}, 30_000);

afterAll(async () => {
  await nginx?.stop();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('agreement with a real nginx', { timeout: 60_000 }, () => {
  it("consistentHash 'nginx' picks what `hash $request_uri consistent` picks, for any key bytes", async () => {
    const selector = consistentHash(ring);
    const uris = Array.from({ length: 300 }, (_, i) => {
      // Mix ASCII, percent-escapes and raw UTF-8 (nginx hashes the bytes as received).
      const tail =
        i % 3 === 0 ? `%${((i % 255) + 1).toString(16).padStart(2, '0')}` : i % 3 === 1 ? 'é☃' : `q=${i * 7919}`;
      return `/k/${i}/${tail}?x=${i}`;
    });
    const mismatches: string[] = [];
    for (const uri of uris) {
      const encoded = uri.replace(/[^\x20-\x7e]/g, (c) => encodeURIComponent(c));
      const got = await nginx.get(encoded);
      const want = selector.select(encoded).next().value?.id;
      if (got !== want) mismatches.push(`${encoded}: nginx ${got}, ours ${want}`);
    }
    expect(mismatches).toEqual([]);
  });

  it("IPv6 backends: nginx hashes the bracketed host; ipv6HashFormat 'nginx' agrees", async () => {
    const asNginx = consistentHash(v6, { ipv6HashFormat: 'nginx' });
    const asPingora = consistentHash(v6);
    let pingoraAgrees = 0;
    const mismatches: string[] = [];
    for (let i = 0; i < 120; i++) {
      const uri = `/v6/${i}/${(i * 2654435761) >>> 0}`;
      const got = await nginx.get(uri);
      if (got !== asNginx.select(uri).next().value?.id) mismatches.push(`${uri}: nginx ${got}`);
      if (got === asPingora.select(uri).next().value?.id) pingoraAgrees++;
    }
    expect(mismatches).toEqual([]);
    // The default follows Pingora (no brackets), so it disagrees with nginx for IPv6 literals.
    expect(pingoraAgrees).toBeLessThan(120);
  });

  it("roundRobin 'smooth' reproduces nginx's weighted round-robin sequence", async () => {
    const selector = roundRobin(rr);
    const total = rr.reduce((sum, b) => sum + b.weight, 0);
    const got: string[] = [];
    const want: string[] = [];
    for (let i = 0; i < 2 * total; i++) {
      got.push(await nginx.get(`/rr/${i}`));
      want.push(selector.select('').next().value!.id);
    }
    expect(got).toEqual(want);
  });
});
