import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOAD_TRACKER_DEFAULTS, PEER_OPTIONS_DEFAULTS } from '@switchyard/core';
import {
  DNS_DISCOVERY_DEFAULTS,
  ETCD_DISCOVERY_DEFAULTS,
  FILE_DISCOVERY_DEFAULTS,
  HEALTH_MONITOR_DEFAULTS,
  HTTP_CHECK_DEFAULTS,
  OUTLIER_DETECTOR_DEFAULTS,
  TCP_CHECK_DEFAULTS,
} from '@switchyard/health';
import { PROXY_CLOSE_DEFAULTS, PROXY_SERVER_DEFAULTS } from '@switchyard/proxy';
import {
  BOUNDED_LOAD_DEFAULTS,
  CONSISTENT_HASH_DEFAULTS,
  FAILOVER_DEFAULTS,
  FNV_HASH_DEFAULTS,
  HAPROXY_HASH_DEFAULTS,
  LEAST_REQUEST_DEFAULTS,
  MAGLEV_DEFAULTS,
  PATH_ROUTER_DEFAULTS,
  PEAK_EWMA_DEFAULTS,
  PREFIX_TABLE_DEFAULTS,
  RANDOM_DEFAULTS,
  RING_HASH_DEFAULTS,
  ROUND_ROBIN_DEFAULTS,
  SLOW_START_DEFAULTS,
} from '@switchyard/selectors';
import { REPO_ROOT } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { BALANCER_DEFAULTS } from '../src/balancer-defaults.js';
import { configSchema } from '../src/config/schema.js';
import { LOG_SINK_DEFAULTS } from '../src/internal/log-sink.js';

// Every table with a "Default" column in the packages' READMEs and in docs/ is compared with the
// defaults the code uses: the components' `*_DEFAULTS` literals, and for the config file the
// values the schema fills in. A literal in the column must equal the code's value; a descriptive
// entry ("none", "disabled", "backend host …") must stand for a value that is not a plain number,
// string or boolean; "required" and "—" say there is no default.

interface Row {
  readonly file: string;
  readonly heading: string;
  /** The first code span of the row's first cell (the option or field). */
  readonly option: string;
  /** The "Factory" cell of tables that have one (carried down over empty cells), or a `(qualifier)`. */
  readonly qualifier: string;
  readonly cell: string;
}

function splitRow(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

const firstSpan = (text: string): string | undefined => /`([^`]+)`/.exec(text)?.[1]?.replace(/\\\|/g, '|');

function tables(file: string): Row[] {
  const rows: Row[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^#+ /.test(line) || /^- `/.test(line)) heading = line;
    if (!/^\s*\|/.test(line) || !/(?<!\\)\|\s*Default\s*\|/.test(line)) continue;
    const header = splitRow(line);
    const at = header.indexOf('Default');
    const optionAt = header[0] === 'Factory' ? 1 : 0;
    let factory = '';
    for (i += 2; i < lines.length && /^\s*\|/.test(lines[i] ?? ''); i++) {
      const cells = splitRow(lines[i] ?? '');
      if (optionAt === 1 && (cells[0] ?? '') !== '') factory = firstSpan(cells[0] ?? '') ?? '';
      const first = cells[optionAt] ?? '';
      const qualifier = optionAt === 1 ? factory : (/\((?:of )?`?([A-Za-z]+)`?\)/.exec(first)?.[1] ?? '');
      rows.push({ file, heading, option: firstSpan(first) ?? first, qualifier, cell: cells[at] ?? '' });
    }
  }
  return rows;
}

const NO_DEFAULT = /^(required|—)/;
const LITERAL = Symbol('not a literal');

function literal(cell: string): unknown {
  const span = firstSpan(cell);
  if (span === undefined) return LITERAL;
  if (/^-?[\d_]+(\.\d+)?$/.test(span)) return Number(span.replace(/_/g, ''));
  if (/^'.*'$|^".*"$/.test(span)) return span.slice(1, -1);
  const words: Record<string, unknown> = { true: true, false: false, undefined: undefined, null: null };
  if (span in words) return words[span];
  if (span === '[]' || span === '{}') return JSON.parse(span);
  return LITERAL;
}

type Lookup = (option: string, qualifier: string) => unknown;

const pick =
  (defaults: object): Lookup =>
  (option) =>
    (defaults as Record<string, unknown>)[option];

/** The config file as the schema fills it in, from the least a file can say. */
const parsed = configSchema.parse({
  upstreams: { web: { backends: ['127.0.0.1:1'], health: { type: 'http' }, outlier: {} } },
});
const tcpHealth = configSchema.parse({ upstreams: { web: { backends: ['127.0.0.1:1'], health: { type: 'tcp' } } } })
  .upstreams.web?.health;
const upstream = parsed.upstreams.web as Record<string, unknown>;
const SELECTOR_OPTION_DEFAULTS: Record<string, readonly object[]> = {
  algorithm: [CONSISTENT_HASH_DEFAULTS],
  pointsPerWeight: [CONSISTENT_HASH_DEFAULTS],
  mode: [ROUND_ROBIN_DEFAULTS],
  fallbacks: [ROUND_ROBIN_DEFAULTS, RANDOM_DEFAULTS, FNV_HASH_DEFAULTS],
  tableSize: [MAGLEV_DEFAULTS],
  balanceFactor: [BOUNDED_LOAD_DEFAULTS],
  choices: [LEAST_REQUEST_DEFAULTS, PEAK_EWMA_DEFAULTS],
  decayMs: [PEAK_EWMA_DEFAULTS],
};

function valueAtPath(root: unknown, path: string): unknown {
  let value = root;
  for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
}

/** Where each table's defaults live in the code, by file and heading. */
const SOURCES: readonly [file: string, heading: RegExp, lookup: Lookup][] = [
  ['packages/core/README.md', /PeerOptions/, pick(PEER_OPTIONS_DEFAULTS)],
  ['packages/health/README.md', /tcpCheck/, pick(TCP_CHECK_DEFAULTS)],
  ['packages/health/README.md', /httpCheck/, pick(HTTP_CHECK_DEFAULTS)],
  ['packages/health/README.md', /createHealthMonitor/, pick(HEALTH_MONITOR_DEFAULTS)],
  ['packages/health/README.md', /createOutlierDetector/, pick(OUTLIER_DETECTOR_DEFAULTS)],
  ['packages/health/README.md', /fileDiscovery/, pick(FILE_DISCOVERY_DEFAULTS)],
  ['packages/health/README.md', /dnsDiscovery/, pick(DNS_DISCOVERY_DEFAULTS)],
  ['packages/health/README.md', /etcdDiscovery/, pick(ETCD_DISCOVERY_DEFAULTS)],
  ['packages/selectors/README.md', /consistentHash/, pick(CONSISTENT_HASH_DEFAULTS)],
  ['packages/selectors/README.md', /roundRobin/, pick(ROUND_ROBIN_DEFAULTS)],
  ['packages/selectors/README.md', /fnvHash/, pick(RANDOM_DEFAULTS)],
  [
    'packages/selectors/README.md',
    /pathRouter/,
    (o, q) => pick(q === 'failover' ? FAILOVER_DEFAULTS : PATH_ROUTER_DEFAULTS)(o, q),
  ],
  [
    'packages/selectors/README.md',
    /Beyond the anchors/,
    (o, q) => {
      const byFactory: Record<string, object> = {
        maglev: MAGLEV_DEFAULTS,
        boundedLoad: BOUNDED_LOAD_DEFAULTS,
        leastRequest: LEAST_REQUEST_DEFAULTS,
        peakEwma: PEAK_EWMA_DEFAULTS,
        withSlowStart: SLOW_START_DEFAULTS,
      };
      const defaults = byFactory[q.replace(/\(.*$/, '')];
      expect(defaults, `a defaults literal for ${q}`).toBeDefined();
      return (defaults as Record<string, unknown>)[o];
    },
  ],
  [
    'packages/selectors/README.md',
    /Same answers as HAProxy and Envoy/,
    (o, q) => {
      const byFactory: Record<string, object> = {
        haproxyHash: HAPROXY_HASH_DEFAULTS,
        ringHash: RING_HASH_DEFAULTS,
        maglev: MAGLEV_DEFAULTS,
      };
      const defaults = byFactory[q.replace(/\(.*$/, '')];
      expect(defaults, `a defaults literal for ${q}`).toBeDefined();
      return (defaults as Record<string, unknown>)[o];
    },
  ],
  [
    'packages/proxy/README.md',
    /the balancer/,
    (o) => (o === 'maxIterations' ? BALANCER_DEFAULTS.maxIterations : undefined),
  ],
  ['packages/proxy/README.md', /createProxyServer/, pick(PROXY_SERVER_DEFAULTS)],
  ['packages/proxy/README.md', /`close\(\)` options/, pick(PROXY_CLOSE_DEFAULTS)],
  ['packages/proxy/README.md', /### Top level/, (o) => valueAtPath(parsed, o)],
  [
    'packages/proxy/README.md',
    /### Routes/,
    (o) =>
      (configSchema.shape.routes.unwrap().element.parse({ prefix: '/', upstream: 'web' }) as Record<string, unknown>)[
        o
      ],
  ],
  [
    'packages/proxy/README.md',
    /### Upstream$/,
    (o) => {
      const [group, field] = o.split('.');
      if (group === 'selector' && field !== undefined && field in SELECTOR_OPTION_DEFAULTS) {
        const values = (SELECTOR_OPTION_DEFAULTS[field] ?? []).map((d) => (d as Record<string, unknown>)[field]);
        expect(new Set(values).size, `one default for selector.${field}`).toBe(1);
        return values[0];
      }
      if (group === 'selector' && field === 'hash') {
        return configSchema.parse({
          upstreams: { web: { backends: ['127.0.0.1:1'], selector: { type: 'bounded-load' } } },
        }).upstreams.web?.selector.hash;
      }
      return valueAtPath(upstream, o);
    },
  ],
  [
    'packages/proxy/README.md',
    /### Upstream `health`/,
    (o) => (upstream.health as Record<string, unknown>)[o] ?? (tcpHealth as Record<string, unknown> | undefined)?.[o],
  ],
  [
    'packages/proxy/README.md',
    /### Upstream `peer`/,
    (o) => (upstream.peer as Record<string, unknown>)[o] ?? pick(PEER_OPTIONS_DEFAULTS)(o, ''),
  ],
];

function docFiles(): string[] {
  const packages = readdirSync(join(REPO_ROOT, 'packages')).map((p) => join('packages', p, 'README.md'));
  const docs = readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f));
  return [...packages, ...docs, 'README.md'].filter((f) => {
    try {
      readFileSync(join(REPO_ROOT, f));
      return true;
    } catch {
      return false;
    }
  });
}

describe('the default column of every options table matches the code', () => {
  const rows = docFiles().flatMap((f) => tables(join(REPO_ROOT, f)).map((r) => ({ ...r, file: f })));

  it('finds the tables (the parser sees the READMEs)', () => {
    expect(rows.length).toBeGreaterThan(100);
  });

  for (const file of new Set(rows.map((r) => r.file))) {
    it(file, () => {
      for (const row of rows.filter((r) => r.file === file)) {
        const source = SOURCES.find(([f, heading]) => f === file && heading.test(row.heading));
        expect(source, `a source of defaults for the table under "${row.heading}" in ${file}`).toBeDefined();
        const where = `${file} "${row.heading}": ${row.option} = ${row.cell}`;
        if (NO_DEFAULT.test(row.cell)) continue;
        const code = source?.[2](row.option, row.qualifier);
        const documented = literal(row.cell);
        if (documented === LITERAL) {
          expect(['number', 'string', 'boolean'], `${where}: the code's default is ${String(code)}`).not.toContain(
            typeof code,
          );
        } else {
          expect(code, where).toEqual(documented);
        }
      }
    });
  }
});

/** Option interfaces whose fields' TSDoc `@defaultValue` must match a defaults literal. */
const TSDOC_SOURCES: readonly [file: string, iface: string, defaults: object][] = [
  ['packages/core/src/peer-options.ts', 'PeerOptions', PEER_OPTIONS_DEFAULTS],
  ['packages/core/src/load-tracker.ts', 'LoadTrackerOptions', LOAD_TRACKER_DEFAULTS],
  ['packages/health/src/health-monitor.ts', 'HealthMonitorSettings', HEALTH_MONITOR_DEFAULTS],
  ['packages/health/src/tcp-check.ts', 'TcpCheckOptions', TCP_CHECK_DEFAULTS],
  ['packages/health/src/http-check.ts', 'HttpCheckOptions', HTTP_CHECK_DEFAULTS],
  ['packages/health/src/outlier-detector.ts', 'OutlierDetectorOptions', OUTLIER_DETECTOR_DEFAULTS],
  ['packages/health/src/file-discovery.ts', 'FileDiscoveryOptions', FILE_DISCOVERY_DEFAULTS],
  ['packages/health/src/dns-discovery.ts', 'DnsDiscoveryOptions', DNS_DISCOVERY_DEFAULTS],
  ['packages/proxy/src/proxy-app.ts', 'ProxyServerOptions', PROXY_SERVER_DEFAULTS],
  ['packages/proxy/src/internal/log-sink.ts', 'LogSinkOptions', LOG_SINK_DEFAULTS],
  ['packages/proxy/src/proxy-app.ts', 'ProxyCloseOptions', PROXY_CLOSE_DEFAULTS],
  ['packages/selectors/src/consistent-hash.ts', 'ConsistentHashOptions', CONSISTENT_HASH_DEFAULTS],
  ['packages/selectors/src/round-robin.ts', 'RoundRobinOptions', ROUND_ROBIN_DEFAULTS],
  ['packages/selectors/src/maglev.ts', 'MaglevOptions', MAGLEV_DEFAULTS],
  ['packages/selectors/src/bounded-load.ts', 'BoundedLoadOptions', BOUNDED_LOAD_DEFAULTS],
  ['packages/selectors/src/least-request.ts', 'LeastRequestOptions', LEAST_REQUEST_DEFAULTS],
  ['packages/selectors/src/peak-ewma.ts', 'PeakEwmaOptions', PEAK_EWMA_DEFAULTS],
  ['packages/selectors/src/slow-start.ts', 'SlowStartOptions', SLOW_START_DEFAULTS],
  ['packages/selectors/src/prefix-table.ts', 'PrefixTableOptions', PREFIX_TABLE_DEFAULTS],
  ['packages/selectors/src/haproxy-hash.ts', 'HaproxyHashOptions', HAPROXY_HASH_DEFAULTS],
  ['packages/selectors/src/ring-hash.ts', 'RingHashOptions', RING_HASH_DEFAULTS],
  ['packages/selectors/src/failover.ts', 'FailoverOptions', FAILOVER_DEFAULTS],
];

/** `field → @defaultValue text` of the fields of `iface` in `source`. */
function tsdocDefaults(source: string, iface: string): Map<string, string> {
  const start = source.indexOf(`export interface ${iface} `);
  expect(start, `interface ${iface}`).toBeGreaterThanOrEqual(0);
  const body = source.slice(start, source.indexOf('\n}', start));
  const out = new Map<string, string>();
  for (const m of body.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*readonly (\w+)\??:/g)) {
    const text = /@defaultValue\s+([^\n*]+)/.exec(m[1] ?? '')?.[1]?.trim();
    if (text !== undefined && m[2] !== undefined) out.set(m[2], text);
  }
  return out;
}

describe('the @defaultValue of every option in the TSDoc matches its defaults literal', () => {
  for (const [file, iface, defaults] of TSDOC_SOURCES) {
    it(`${iface} (${file})`, () => {
      const docs = tsdocDefaults(readFileSync(join(REPO_ROOT, file), 'utf8'), iface);
      expect(docs.size, `${iface} documents its defaults`).toBeGreaterThan(0);
      for (const [field, text] of docs) {
        const code = (defaults as Record<string, unknown>)[field];
        // A leading literal is the value (`300000`, `'h1'`, `true`); anything else describes it.
        const bare = text.replace(/^`([^`]*)`/, '$1');
        const span = /^(-?[\d_]+(?:\.\d+)?|'[^']*'|"[^"]*"|true|false|undefined|\[\]|\{\})(?:\s|$|\))/.exec(bare)?.[1];
        const documented = span === undefined ? LITERAL : literal(`\`${span}\``);
        const where = `${iface}.${field}: @defaultValue ${text}`;
        if (documented === LITERAL) {
          expect(['number', 'string', 'boolean'], `${where}; the code's default is ${String(code)}`).not.toContain(
            typeof code,
          );
        } else {
          expect(code, where).toEqual(documented);
        }
      }
    });
  }
});
