import { Resolver } from 'node:dns';
import { isIP } from 'node:net';
import { parseHostPort } from '@switchyard/core';
import {
  ETCD_DISCOVERY_DEFAULTS,
  FILE_DISCOVERY_DEFAULTS,
  HEALTH_MONITOR_DEFAULTS,
  HTTP_CHECK_DEFAULTS,
  OUTLIER_DETECTOR_DEFAULTS,
  TCP_CHECK_DEFAULTS,
} from '@switchyard/health';
import { DEFAULT_OVERPROVISIONING_FACTOR, ROUND_ROBIN_DEFAULTS } from '@switchyard/selectors';
import { z } from 'zod';
import { BALANCER_DEFAULTS } from '../balancer-defaults.js';
import { LOG_SINK_DEFAULTS } from '../internal/log-sink.js';
import { KEY_SPEC_PATTERN } from '../keys.js';
import type { ForwardedHeaders } from '../proxy-app.js';
import { RETRY_BUDGET_DEFAULTS } from '../retry-budget.js';
import { FORWARDED_HEADERS_VALUES, PROXY_SERVER_DEFAULTS, SERVE_CLOSE_DEFAULTS } from '../server-defaults.js';
import { SELECTOR_TYPES } from './selector-types.js';

// Every leaf carries an `error` that says what was expected; the formatter in
// `issues.ts` prints it as `<path>: expected <error>, got <value>`.
//
// One fact, one place: a field that a library component takes (server, retries, health,
// outlier, discovery, maxIterations) is typed here only as a JSON number, string or boolean,
// with the component's `*_DEFAULTS` value as its default; its range and the rules between
// fields are the component's own validator, which `library-checks.ts` runs on the file.

/** A strict object whose unknown-field error lists the known fields. */
function object<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `only the fields ${known}` : `an object with ${known}`),
  });
}

const nonNegative = () => z.number({ error: 'a number >= 0' }).min(0, { error: 'a number >= 0' });
const int = (min: number, max: number) => {
  const what = `an integer from ${min} to ${max}`;
  return z.int({ error: what }).min(min, { error: what }).max(max, { error: what });
};
const bool = () => z.boolean({ error: 'true or false' });
/** A number a library validator checks further (its range lives there). */
const num = (what: string) => z.number({ error: what });
const ms = () => num('a duration in ms');
const text = (what = 'a non-empty string') => z.string({ error: what }).min(1, { error: what });

function isAddress(value: string): boolean {
  try {
    parseHostPort(value);
    return true;
  } catch {
    return false;
  }
}

const ADDRESS = '"host:port" (or "[v6]:port") with a port from 1 to 65535';
const address = () => z.string({ error: ADDRESS }).refine(isAddress, { error: ADDRESS });

const LISTEN = '"host:port" with a port from 0 to 65535 (0: any free port)';
/** Like a backend address, but port 0 (let the OS pick) is allowed. */
const listen = () =>
  z.string({ error: LISTEN }).refine((value) => {
    const colon = value.lastIndexOf(':');
    const port = value.slice(colon + 1);
    if (colon < 0 || !/^\d{1,5}$/.test(port) || Number(port) > 65535) return false;
    return isAddress(`${value.slice(0, colon)}:1`);
  }, LISTEN);

const backendEntry = z.union([address(), object({ address: address(), weight: int(1, 65535).default(1) })], {
  error: `${ADDRESS} or { address, weight }`,
});

const KEY = '"uri", "path", "client-ip", "header:NAME", "cookie:NAME" or "query:NAME"';
const keySpec = z.string({ error: KEY }).regex(KEY_SPEC_PATTERN, { error: KEY });

const SELECTOR_NAMES = Object.keys(SELECTOR_TYPES);
const selector = z.discriminatedUnion(
  'type',
  Object.entries(SELECTOR_TYPES).map(([type, entry]) =>
    object({
      type: z.literal(type),
      key: keySpec.default('uri'),
      slowStartMs: z.number({ error: 'a duration in ms > 0' }).positive({ error: 'a duration in ms > 0' }).optional(),
      ...entry.shape,
    }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
  { error: `a selector type: ${SELECTOR_NAMES.map((n) => JSON.stringify(n)).join(' | ')}` },
);

const H = HEALTH_MONITOR_DEFAULTS;
const thresholds = {
  intervalMs: ms().default(H.intervalMs),
  healthyThreshold: num('an integer').default(H.healthyThreshold),
  unhealthyThreshold: num('an integer').default(H.unhealthyThreshold),
  skipOnTraffic: bool().default(H.skipOnTraffic),
};
const health = z.discriminatedUnion(
  'type',
  [
    object({
      type: z.literal('http'),
      path: z.string({ error: 'a path starting with "/"' }).default(HTTP_CHECK_DEFAULTS.path),
      host: z.string({ error: 'a Host header value' }).optional(),
      expectStatus: num('an HTTP status').default(HTTP_CHECK_DEFAULTS.expectStatus as number),
      timeoutMs: ms().default(HTTP_CHECK_DEFAULTS.timeoutMs),
      ...thresholds,
    }),
    object({
      type: z.literal('tcp'),
      reset: bool().default(TCP_CHECK_DEFAULTS.reset),
      timeoutMs: ms().default(TCP_CHECK_DEFAULTS.timeoutMs),
      ...thresholds,
    }),
  ],
  { error: 'a health check type: "http" | "tcp"' },
);

const O = OUTLIER_DETECTOR_DEFAULTS;
const outlier = object({
  consecutiveFailures: num('an integer').default(O.consecutiveFailures),
  baseEjectionMs: ms().default(O.baseEjectionMs),
  maxEjectionMs: ms().default(O.maxEjectionMs),
  maxEjectedPercent: num('a percentage').default(O.maxEjectedPercent),
});

const DNS_SERVER = 'an IP address, "ip:port" or "[v6]:port"';
/** What `dnsDiscovery` accepts as a server: whatever `node:dns` `Resolver#setServers` takes. */
function isDnsServer(value: string): boolean {
  try {
    new Resolver().setServers([value]);
    return true;
  } catch {
    return false;
  }
}

const discovery = z.discriminatedUnion(
  'type',
  [
    object({
      type: z.literal('file'),
      path: text('a file path'),
      pollMs: ms().default(FILE_DISCOVERY_DEFAULTS.pollMs),
    }),
    object({
      type: z.literal('dns'),
      name: text('a DNS name'),
      recordType: z.enum(['A', 'AAAA', 'SRV'], { error: '"A", "AAAA" or "SRV"' }).default('A'),
      port: num('a port').optional(),
      servers: z
        .array(z.string({ error: DNS_SERVER }).refine(isDnsServer, { error: DNS_SERVER }), {
          error: `an array of ${DNS_SERVER}`,
        })
        .optional(),
      refreshMs: ms().optional(),
    }),
    object({
      type: z.literal('etcd'),
      endpoints: z.array(text('an etcd endpoint'), { error: 'an array of etcd endpoints ("host:port")' }),
      prefix: text('a key prefix'),
      dialTimeoutMs: ms().default(ETCD_DISCOVERY_DEFAULTS.dialTimeoutMs),
      retryInitialMs: ms().default(ETCD_DISCOVERY_DEFAULTS.retryInitialMs),
      retryMaxMs: ms().default(ETCD_DISCOVERY_DEFAULTS.retryMaxMs),
    }),
  ],
  { error: 'a discovery type: "file" | "dns" | "etcd"' },
);

const URL_TEXT = 'an http:// or https:// URL';
const proxyUrl = z.string({ error: URL_TEXT }).refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, URL_TEXT);

/** An upstream's `peer`: core's `PeerOptions` and the peer's files. */
export const peerSchema = object({
  connectionTimeout: nonNegative().optional(),
  totalConnectionTimeout: nonNegative().optional(),
  readTimeout: nonNegative().optional(),
  writeTimeout: nonNegative().optional(),
  idleTimeout: nonNegative().optional(),
  verifyCert: bool().optional(),
  verifyHostname: bool().optional(),
  useSystemCerts: bool().optional(),
  alternativeCn: text('a host name').optional(),
  alpn: z.enum(['h1', 'h2', 'h2h1'], { error: '"h1", "h2" or "h2h1"' }).optional(),
  ca: z
    .union([text('a file path'), z.array(text('a file path'))], { error: 'a file path or an array of them' })
    .optional(),
  clientCert: object({ cert: text('a file path'), key: text('a file path') }).optional(),
  proxy: proxyUrl.optional(),
  proxyHeaders: z
    .record(z.string(), z.string({ error: 'a string' }), { error: 'an object of header strings' })
    .optional(),
  bindTo: z
    .string({ error: 'a local IP address' })
    .refine((v) => isIP(v) !== 0, 'a local IP address')
    .optional(),
  tcpKeepalive: object({ idle: nonNegative(), interval: nonNegative(), count: int(1, 127) }).optional(),
  requestPolicy: z
    .enum(['standard', 'preserve', 'deny-upgrades'], { error: '"standard", "preserve" or "deny-upgrades"' })
    .default('standard'),
});

/** One entry of `upstreams`. */
export const upstreamSchema = object({
  backends: z.array(backendEntry, { error: 'an array of backends' }).optional(),
  discovery: discovery.optional(),
  selector: selector.default({ type: 'round-robin', key: 'uri', mode: ROUND_ROBIN_DEFAULTS.mode }),
  health: health.optional(),
  outlier: outlier.optional(),
  tls: bool().default(false),
  sni: z.string({ error: 'a string' }).default(''),
  peer: peerSchema.default({ requestPolicy: 'standard' }),
  maxIterations: num('an integer').default(BALANCER_DEFAULTS.maxIterations),
});

const PREFIX = 'a path prefix starting with "/"';
/** One entry of `routes`. */
export const routeSchema = object({
  prefix: z.string({ error: PREFIX }).startsWith('/', { error: PREFIX }),
  upstream: text('an upstream name'),
  failover: z.array(text('an upstream name'), { error: 'an array of upstream names' }).default([]),
  overprovisioningFactor: num('a number >= 1').default(DEFAULT_OVERPROVISIONING_FACTOR),
});

/** `server.tls`: file paths of the downstream certificate and key. */
export const serverTlsSchema = object({ cert: text('a file path'), key: text('a file path') });

const S = PROXY_SERVER_DEFAULTS;
const R = RETRY_BUDGET_DEFAULTS;
const server = object({
  tls: serverTlsSchema.optional(),
  headersTimeout: ms().default(S.headersTimeout),
  requestTimeout: ms().default(S.requestTimeout),
  keepAliveTimeout: ms().default(S.keepAliveTimeout),
  maxHeaderSize: num('a size in bytes').default(S.maxHeaderSize),
  shutdownTimeoutMs: ms().default(SERVE_CLOSE_DEFAULTS.deadlineMs),
  drainMs: ms().default(SERVE_CLOSE_DEFAULTS.drainMs),
});

/** The config file's schema (before file paths are resolved and backends parsed). */
export const configSchema = object({
  listen: listen().default('127.0.0.1:8080'),
  upstreams: z.record(text('an upstream name'), upstreamSchema, { error: 'an object of named upstreams' }),
  routes: z.array(routeSchema, { error: 'an array of routes' }).optional(),
  retries: object({
    maxAttempts: num('an integer').default(S.maxAttempts),
    budgetPercent: num('a percentage').default(R.budgetPercent),
    budgetWindowMs: ms().default(R.budgetWindowMs),
    minPerSecond: num('a rate per second').default(R.minPerSecond),
  }).default({
    maxAttempts: S.maxAttempts,
    budgetPercent: R.budgetPercent,
    budgetWindowMs: R.budgetWindowMs,
    minPerSecond: R.minPerSecond,
  }),
  accessLog: bool().default(S.accessLog),
  logBufferBytes: int(0, 1 << 20).default(LOG_SINK_DEFAULTS.bufferBytes),
  logFlushMs: z
    .number({ error: 'a duration in ms > 0' })
    .positive({ error: 'a duration in ms > 0' })
    .max(2 ** 31 - 1, { error: 'a duration in ms of at most 2147483647' })
    .default(LOG_SINK_DEFAULTS.flushMs),
  logLevel: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: '"fatal", "error", "warn", "info", "debug", "trace" or "silent"',
    })
    .default('info'),
  trustedProxies: z
    .array(z.string({ error: 'an IP address' }), { error: 'an array of IP addresses' })
    .default([...S.trustedProxies]),
  forwardedHeaders: z
    .enum(FORWARDED_HEADERS_VALUES as [ForwardedHeaders, ...ForwardedHeaders[]], {
      error: FORWARDED_HEADERS_VALUES.map((v) => `"${v}"`).join(', '),
    })
    .default(S.forwardedHeaders),
  workers: int(1, 256).default(1),
  server: server.default({
    headersTimeout: S.headersTimeout,
    requestTimeout: S.requestTimeout,
    keepAliveTimeout: S.keepAliveTimeout,
    maxHeaderSize: S.maxHeaderSize,
    shutdownTimeoutMs: SERVE_CLOSE_DEFAULTS.deadlineMs,
    drainMs: SERVE_CLOSE_DEFAULTS.drainMs,
  }),
});

/** The parsed (not yet resolved) config. */
export type ParsedConfig = z.output<typeof configSchema>;
