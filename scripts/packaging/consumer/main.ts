// A user's own project: it imports the published entry points only, under `strict` and NodeNext.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Backend, backend, candidates, HttpPeer, type Selector, type SelectorFactory } from '@switchyard/core';
import { createBalancer, createProxyServer, createUpstreamPeer, keyExtractor } from '@switchyard/proxy';
import { consistentHash, roundRobin } from '@switchyard/selectors';
import { checkSelectorLaws } from '@switchyard/selectors/testing';

// 1. A built-in selector: the first candidates for one key.
const ring = consistentHash(['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003'].map((a) => backend(a)));
const picks = [...candidates(ring.select('/users/42'), 16)].map((b) => b.id);
if (picks.length !== 3) throw new Error(`consistentHash gave ${picks.length} distinct candidates, not 3`);
console.log(`selector: ${picks.join(' ')}`);

// 2. A custom selector (rendezvous hashing over FNV-1a), checked with the selector laws.
function score(key: string, id: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${key}|${id}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}
const rendezvous: SelectorFactory = (backends: readonly Backend[]): Selector => ({
  *select(key: string | Uint8Array) {
    const k = typeof key === 'string' ? key : Buffer.from(key).toString('hex');
    const ranked = [...backends].sort((a, b) => score(k, b.id) - score(k, a.id) || (a.id < b.id ? -1 : 1));
    yield* ranked;
  },
});
const report = checkSelectorLaws(rendezvous, { numRuns: 25 });
console.log(`laws: ${JSON.stringify(report)}`);

// 3. The proxy in front of a loopback backend, and one request through it.
const upstream = createServer((req, res) => res.end(`hello from the backend: ${req.url}`));
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const { port } = upstream.address() as AddressInfo;
const balancer = createBalancer({ backends: [backend(`127.0.0.1:${port}`)], selector: roundRobin });
const upstreamPeer = createUpstreamPeer({
  balancer,
  key: keyExtractor('uri'),
  peer: (b) => new HttpPeer(b, false, ''),
});
const proxy = createProxyServer({ upstreamPeer }, { observers: [balancer.observer] });
await balancer.ready();
const listening = await proxy.listen(0, '127.0.0.1');
try {
  const response = await fetch(`http://127.0.0.1:${listening.port}/through/the/proxy`);
  const body = await response.text();
  if (response.status !== 200 || body !== 'hello from the backend: /through/the/proxy') {
    throw new Error(`the proxy answered ${response.status} ${body}`);
  }
  console.log(`proxy: ${response.status} ${body}`);
} finally {
  await proxy.close();
  await balancer.close();
  await new Promise((resolve) => upstream.close(resolve));
}
