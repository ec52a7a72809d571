import { isLbError } from '@switchyard/core';
import {
  createHealthMonitor,
  createOutlierDetector,
  dnsDiscovery,
  etcdDiscovery,
  fileDiscovery,
  type HealthCheck,
  httpCheck,
  tcpCheck,
} from '@switchyard/health';
import { priorityLoad } from '@switchyard/selectors';
import { BALANCER_DEFAULTS, checkMaxIterations } from '../balancer-defaults.js';
import { RetryBudget } from '../retry-budget.js';
import {
  PROXY_CLOSE_DEFAULTS,
  PROXY_SERVER_DEFAULTS,
  validateCloseDeadline,
  validateCloseDrain,
  validateProxyServerOptions,
} from '../server-defaults.js';
import { type ConfigIssue, formatPath, valueAt } from './issues.js';
import { RETRY_BUDGET_FIELDS, SERVER_OPTION_PATHS } from './server-options.js';

// The config schema checks only the JSON types of the fields below; their ranges and the
// rules between them are the library's own: each group of fields is handed to the factory
// or validator that `serve` hands it to, so `check` rejects exactly what `serve` would.
// (The server's TLS pair is checked where its files are read, in `resolve.ts`.)

/** A library option fed from the config: its name in the library and the config path it comes from. */
interface Field {
  readonly option: string;
  readonly path: readonly PropertyKey[];
}

/** Options → throws `LbError` `LB_ERR_INVALID_OPTION` naming `<component> <option>` when one is bad. */
type Validate = (options: Record<string, unknown>) => void;

/**
 * Runs `validate` on the options that `fields` take from `raw` (absent fields are left to the
 * library's defaults) and reports each rejected option at its config path. A rejected option is
 * dropped and the rest validated again, so every bad field is reported, not only the first.
 * Fields whose path already has an issue (a wrong JSON type) are left out.
 */
export function libraryIssues(
  raw: unknown,
  at: readonly PropertyKey[],
  component: string,
  fields: readonly Field[],
  validate: Validate,
  known: readonly ConfigIssue[],
): ConfigIssue[] {
  const options: Record<string, unknown> = {};
  for (const f of fields) {
    const value = valueAt(raw, f.path);
    const where = formatPath(f.path);
    if (
      value === undefined ||
      known.some((i) => i.path === where || i.path.startsWith(`${where}[`) || i.path.startsWith(`${where}.`))
    )
      continue;
    options[f.option] = value;
  }
  const out: ConfigIssue[] = [];
  // Each round drops one option: at most one round per field, plus the one that passes.
  for (let round = 0; round <= fields.length; round++) {
    try {
      validate(options);
      return out;
    } catch (err) {
      if (!isLbError(err)) throw err;
      const { option, rest, expected } = parse(err.message, component);
      const path = fields.find((f) => f.option === option)?.path;
      if (path === undefined || option === undefined) {
        // Not one of the file's fields (a default the library rejects): name the whole group.
        out.push({ path: formatPath(at), message: expected });
        return out;
      }
      const where = `${formatPath(path)}${rest}`;
      if (!out.some((i) => i.path === where)) out.push({ path: where, message: expected });
      // Absent, or already dropped and still rejected (a rule about its default): nothing to drop.
      if (!(option in options)) return out;
      delete options[option];
    }
  }
  return out;
}

/** `"<component> <option>[…]: expected …"` → the option's top-level name and the `expected …` text. */
function parse(message: string, component: string): { option?: string; rest: string; expected: string } {
  const colon = message.indexOf(': ');
  const what = colon < 0 ? '' : message.slice(0, colon);
  const expected = colon < 0 ? message : message.slice(colon + 2);
  if (!what.startsWith(`${component} `)) return { rest: '', expected: message };
  const name = what.slice(component.length + 1);
  const option = /^[A-Za-z]+/.exec(name)?.[0] ?? '';
  // `trustedProxies[0]` → `[0]`; `tcpKeepalive.idle (ms)` → `.idle`.
  const rest = name.slice(option.length).replace(/ .*$/, '');
  return { option, rest, expected };
}

const field = (option: string, ...path: PropertyKey[]): Field => ({ option, path });

/** Every library-checked field of a config file, validated by the library; `known` are the schema's issues. */
export function libraryConfigIssues(raw: unknown, known: readonly ConfigIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const run = (at: readonly PropertyKey[], component: string, fields: readonly Field[], validate: Validate) =>
    out.push(...libraryIssues(raw, at, component, fields, validate, known));
  run(
    [],
    'proxy server',
    Object.entries(SERVER_OPTION_PATHS)
      .filter(([option]) => option !== 'tls')
      .map(([option, path]) => field(option, ...path)),
    (o) => validateProxyServerOptions({ ...PROXY_SERVER_DEFAULTS, ...o }),
  );
  run(
    ['retries'],
    'retry budget',
    RETRY_BUDGET_FIELDS.map((f) => field(f, 'retries', f)),
    (o) => new RetryBudget(o),
  );
  run(['server'], 'proxy server close', [field('deadlineMs', 'server', 'shutdownTimeoutMs')], (o) =>
    validateCloseDeadline(o.deadlineMs ?? PROXY_CLOSE_DEFAULTS.deadlineMs),
  );
  run(['server'], 'proxy server close', [field('drainMs', 'server', 'drainMs')], (o) =>
    validateCloseDrain(o.drainMs ?? PROXY_CLOSE_DEFAULTS.drainMs),
  );
  const routes = valueAt(raw, ['routes']);
  if (Array.isArray(routes)) {
    routes.forEach((_, i) => {
      const at = ['routes', i];
      run(at, 'priorityLoad', [field('overprovisioning', ...at, 'overprovisioningFactor')], (o) => {
        if (o.overprovisioning !== undefined) priorityLoad([], o.overprovisioning as number);
      });
    });
  }
  const upstreams = valueAt(raw, ['upstreams']);
  if (typeof upstreams !== 'object' || upstreams === null) return out;
  for (const name of Object.keys(upstreams)) {
    const at = ['upstreams', name];
    run(at, 'createBalancer', [field('maxIterations', ...at, 'maxIterations')], (o) =>
      checkMaxIterations(o.maxIterations ?? BALANCER_DEFAULTS.maxIterations),
    );
    const h = [...at, 'health'];
    const type = valueAt(raw, [...h, 'type']);
    if (type === 'http' || type === 'tcp') {
      run(
        h,
        'health monitor',
        ['intervalMs', 'healthyThreshold', 'unhealthyThreshold', 'skipOnTraffic'].map((f) => field(f, ...h, f)),
        (o) => createHealthMonitor({ backends: [], check: UNUSED_CHECK, ...o }),
      );
      if (type === 'tcp')
        run(
          h,
          'tcpCheck',
          ['timeoutMs', 'reset'].map((f) => field(f, ...h, f)),
          (o) => tcpCheck(o),
        );
      else
        run(
          h,
          'httpCheck',
          ['timeoutMs', 'path', 'host', 'expectStatus'].map((f) => field(f, ...h, f)),
          (o) => httpCheck(o),
        );
    }
    const o = [...at, 'outlier'];
    run(
      o,
      'outlier',
      ['consecutiveFailures', 'baseEjectionMs', 'maxEjectionMs', 'maxEjectedPercent'].map((f) => field(f, ...o, f)),
      (options) => createOutlierDetector(options),
    );
    const d = [...at, 'discovery'];
    const discovery = valueAt(raw, [...d, 'type']);
    if (discovery === 'file') {
      run(d, 'fileDiscovery', [field('pollMs', ...d, 'pollMs')], (options) => fileDiscovery('unused', options));
    } else if (discovery === 'dns') {
      run(
        d,
        'dnsDiscovery',
        [
          field('name', ...d, 'name'),
          field('type', ...d, 'recordType'),
          field('port', ...d, 'port'),
          field('servers', ...d, 'servers'),
          field('refreshMs', ...d, 'refreshMs'),
        ],
        (options) => dnsDiscovery({ type: 'A', ...options } as Parameters<typeof dnsDiscovery>[0]),
      );
    } else if (discovery === 'etcd') {
      run(
        d,
        'etcdDiscovery',
        ['endpoints', 'prefix', 'dialTimeoutMs', 'retryInitialMs', 'retryMaxMs'].map((f) => field(f, ...d, f)),
        // A valid set builds a client that has not connected yet; it is closed at once.
        (options) => void etcdDiscovery(options).close?.(),
      );
    }
  }
  return out;
}

/** A check that is never run: the monitor built above only validates its settings. */
const UNUSED_CHECK: HealthCheck = { check: () => Promise.resolve({ ok: true, durationMs: 0 }) };
