import {
  backend,
  HttpPeer,
  isLbError,
  LOAD_TRACKER_DEFAULTS,
  LoadTracker,
  PEER_OPTIONS_DEFAULTS,
  parseHostPort,
  resolvePeerOptions,
} from '@switchyard/core';
import {
  createHealthMonitor,
  createOutlierDetector,
  DNS_DISCOVERY_DEFAULTS,
  dnsDiscovery,
  FILE_DISCOVERY_DEFAULTS,
  fileDiscovery,
  HEALTH_MONITOR_DEFAULTS,
  HTTP_CHECK_DEFAULTS,
  httpCheck,
  OUTLIER_DETECTOR_DEFAULTS,
  staticDiscovery,
  TCP_CHECK_DEFAULTS,
  tcpCheck,
} from '@switchyard/health';
import {
  createBalancer,
  createProxyServer,
  createUpstreamPeer,
  keyExtractor,
  PROXY_SERVER_DEFAULTS,
  resolveConfig,
} from '@switchyard/proxy';
import {
  BOUNDED_LOAD_DEFAULTS,
  boundedLoad,
  CONSISTENT_HASH_DEFAULTS,
  consistentHash,
  FAILOVER_DEFAULTS,
  FNV_HASH_DEFAULTS,
  failover,
  fnvHash,
  LEAST_REQUEST_DEFAULTS,
  leastRequest,
  MAGLEV_DEFAULTS,
  maglev,
  PATH_ROUTER_DEFAULTS,
  PEAK_EWMA_DEFAULTS,
  pathRouter,
  peakEwma,
  RANDOM_DEFAULTS,
  ROUND_ROBIN_DEFAULTS,
  random,
  roundRobin,
  SLOW_START_DEFAULTS,
  withSlowStart,
} from '@switchyard/selectors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// The public factories of all four packages, fed junk: each either works or throws an LbError
// with an invalid-input code at once — never a TypeError from deep inside, and never later.

const SEED = 424242;
const RUNS = 150;
const BACKENDS = [backend('127.0.0.1:1'), backend('127.0.0.1:2', 3)];

/** Arbitrary junk, and (more often) the component's real option names each with a junk value. */
function junkOptions(defaults: object): fc.Arbitrary<unknown> {
  // An unknown name too: a typo must be rejected, not silently ignored.
  const keys = [...Object.keys(defaults), 'notAnOption'];
  const oneField = fc
    .constantFrom(...keys)
    .chain((key) => fc.anything({ maxDepth: 2 }).map((value) => ({ [key]: value })));
  const severalFields = fc.dictionary(fc.constantFrom(...keys), fc.anything({ maxDepth: 1 }), { maxKeys: 3 });
  return fc.oneof(
    { weight: 2, arbitrary: fc.anything({ maxDepth: 2 }) },
    { weight: 4, arbitrary: oneField },
    { weight: 2, arbitrary: severalFields },
  );
}

/** Closes whatever a successful call returned, so nothing keeps the process alive. */
async function dispose(result: unknown): Promise<void> {
  if (typeof result !== 'object' || result === null) return;
  const r = result as { close?: () => unknown; stop?: () => unknown };
  if (typeof r.stop === 'function') await r.stop();
  if (typeof r.close === 'function') await r.close();
}

/** Calls `fn`; a throw must be an LbError with an invalid-input code. A returned selector is exercised once. */
async function expectLbErrorOrWorks(label: string, fn: () => unknown): Promise<void> {
  let result: unknown;
  try {
    result = fn();
    // A selector's options are used on the first pick: pull one (a balancer's select returns a backend).
    const selector = result as { select?: (key: string) => unknown };
    if (typeof selector?.select === 'function') {
      const picked = selector.select('key') as { next?: () => unknown } | undefined;
      if (typeof picked?.next === 'function') picked.next();
    }
  } catch (err) {
    if (!isLbError(err)) {
      const e = err as Error;
      throw new Error(`${label}: threw ${e?.constructor?.name ?? typeof err} "${e?.message}" instead of an LbError`);
    }
    expect(['LB_ERR_INVALID_OPTION', 'LB_ERR_INVALID_CONFIG'], label).toContain(err.code);
    return;
  } finally {
    await dispose(result).catch(() => {});
  }
}

type Entry = readonly [name: string, input: fc.Arbitrary<unknown>, call: (junk: unknown) => unknown];

const selectorFactories = [
  ['consistentHash', consistentHash, CONSISTENT_HASH_DEFAULTS],
  ['roundRobin', roundRobin, ROUND_ROBIN_DEFAULTS],
  ['random', random, RANDOM_DEFAULTS],
  ['fnvHash', fnvHash, FNV_HASH_DEFAULTS],
  ['maglev', maglev, MAGLEV_DEFAULTS],
  ['leastRequest', leastRequest, LEAST_REQUEST_DEFAULTS],
  ['peakEwma', peakEwma, PEAK_EWMA_DEFAULTS],
  ['boundedLoad', boundedLoad, BOUNDED_LOAD_DEFAULTS],
] as const;

const ENTRIES: readonly Entry[] = [
  // @switchyard/core
  ['backend(address)', fc.anything(), (j) => backend(j as string)],
  [
    'backend(address, weight, meta)',
    fc.tuple(fc.anything(), fc.anything()),
    (j) => backend('127.0.0.1:1', ...(j as [number, never])),
  ],
  ['parseHostPort', fc.anything(), (j) => parseHostPort(j as string)],
  ['new HttpPeer(address)', fc.anything(), (j) => new HttpPeer(j as string, false)],
  [
    'new HttpPeer(_, tls, sni, init)',
    fc.tuple(fc.anything(), fc.anything(), fc.anything()),
    (j) => new HttpPeer('127.0.0.1:1', ...(j as [boolean, string, never])),
  ],
  [
    'new HttpPeer(_, _, _, { options })',
    junkOptions(PEER_OPTIONS_DEFAULTS),
    (j) => new HttpPeer('127.0.0.1:1', true, 'a', { options: j as never }),
  ],
  ['resolvePeerOptions', junkOptions(PEER_OPTIONS_DEFAULTS), (j) => resolvePeerOptions(j as never)],
  ['new LoadTracker', junkOptions(LOAD_TRACKER_DEFAULTS), (j) => new LoadTracker(j as never)],
  // @switchyard/selectors
  ...selectorFactories.flatMap(([name, factory, defaults]): Entry[] => [
    [
      `${name}(backends, options)`,
      junkOptions(defaults),
      (j) => (factory as (b: unknown, o: unknown) => unknown)(BACKENDS, j),
    ],
    [`${name}(junk backends)`, fc.anything(), (j) => (factory as (b: unknown) => unknown)(j)],
  ]),
  ['pathRouter(routes)', fc.anything(), (j) => pathRouter(j as never)],
  [
    'pathRouter(routes, fallback, options)',
    fc.tuple(fc.anything(), junkOptions(PATH_ROUTER_DEFAULTS)),
    (j) => pathRouter([{ prefix: '/', selector: roundRobin(BACKENDS) }], ...(j as [never, never])),
  ],
  ['failover(tiers)', fc.anything(), (j) => failover(j as never)],
  ['failover(tiers, options)', junkOptions(FAILOVER_DEFAULTS), (j) => failover([roundRobin(BACKENDS)], j as never)],
  [
    'withSlowStart(factory, options)',
    junkOptions(SLOW_START_DEFAULTS),
    (j) => withSlowStart(roundRobin, j as never)(BACKENDS),
  ],
  ['withSlowStart(junk)', fc.anything(), (j) => withSlowStart(j as never)],
  // @switchyard/health
  ['tcpCheck', junkOptions(TCP_CHECK_DEFAULTS), (j) => tcpCheck(j as never)],
  ['httpCheck', junkOptions(HTTP_CHECK_DEFAULTS), (j) => httpCheck(j as never)],
  ['createHealthMonitor(junk)', fc.anything(), (j) => createHealthMonitor(j as never)],
  [
    'createHealthMonitor(options)',
    junkOptions(HEALTH_MONITOR_DEFAULTS),
    (j) => createHealthMonitor({ backends: BACKENDS, check: tcpCheck(), ...(j as object) } as never),
  ],
  ['createOutlierDetector', junkOptions(OUTLIER_DETECTOR_DEFAULTS), (j) => createOutlierDetector(j as never)],
  ['staticDiscovery', fc.anything(), (j) => staticDiscovery(j as never)],
  ['fileDiscovery(path)', fc.anything(), (j) => fileDiscovery(j as never)],
  [
    'fileDiscovery(path, options)',
    junkOptions(FILE_DISCOVERY_DEFAULTS),
    (j) => fileDiscovery('/nonexistent/switchyard-backends.json', j as never),
  ],
  ['dnsDiscovery(junk)', fc.anything(), (j) => dnsDiscovery(j as never)],
  [
    'dnsDiscovery(options)',
    junkOptions(DNS_DISCOVERY_DEFAULTS),
    (j) => dnsDiscovery({ name: 'svc.test', type: 'A', port: 80, ...(j as object) } as never),
  ],
  // @switchyard/proxy
  ['createBalancer(junk)', fc.anything(), (j) => createBalancer(j as never)],
  [
    'createBalancer(options)',
    junkOptions({
      backends: 0,
      discovery: 0,
      selector: 0,
      selectorOptions: 0,
      health: 0,
      outlier: 0,
      tracker: 0,
      maxIterations: 0,
      logger: 0,
    }),
    (j) => createBalancer({ backends: BACKENDS, selector: roundRobin, ...(j as object) } as never),
  ],
  ['createUpstreamPeer(junk)', fc.anything(), (j) => createUpstreamPeer(j as never)],
  ['createProxyServer(app)', fc.anything(), (j) => createProxyServer(j as never)],
  [
    'createProxyServer(app, options)',
    junkOptions(PROXY_SERVER_DEFAULTS),
    (j) => createProxyServer({ upstreamPeer: () => new HttpPeer('127.0.0.1:1', false) }, j as never),
  ],
  ['keyExtractor', fc.anything(), (j) => keyExtractor(j as never)],
  ['resolveConfig', fc.anything(), (j) => resolveConfig(j, '/nonexistent')],
];

describe('public entry points fed junk options', () => {
  for (const [name, input, call] of ENTRIES) {
    it(`${name}: works or throws LbError LB_ERR_INVALID_*, never a TypeError (seed ${SEED})`, async () => {
      await fc.assert(
        fc.asyncProperty(input, (junk) => expectLbErrorOrWorks(name, () => call(junk))),
        { seed: SEED, numRuns: RUNS },
      );
    });
  }
});
