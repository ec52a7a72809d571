// Before any load, each target is asked a few questions by hand: does it answer the right bytes,
// does round-robin reach every upstream, does the keyed target send a key to the same upstream
// every time? A fast proxy that answers the wrong thing would otherwise win the table.
import http from 'node:http';
import {
  BIG_BODY,
  BIG_PATH,
  BIG_SIZE,
  DOWNLOAD_PATH,
  HUGE_BODY,
  HUGE_SIZE,
  KEY_HEADER,
  SMALL_BODY,
  UPLOAD_PATH,
  UPSTREAM_HEADER,
} from './bodies.mjs';
import { HOST } from './children.mjs';

function request(agent, port, { method = 'GET', path = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method, path, headers, agent, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} on port ${port}: no answer within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

function expectOk(what, res, expected) {
  if (res.status !== 200) throw new Error(`${what}: status ${res.status}, expected 200`);
  if (!res.body.equals(expected)) {
    throw new Error(`${what}: body of ${res.body.length} bytes differs from the expected ${expected.length} bytes`);
  }
  // The load generators keep connections open; a target that closes each one measures connects.
  if (res.headers.connection === 'close') throw new Error(`${what}: the response closes the keep-alive connection`);
  const upstream = res.headers[UPSTREAM_HEADER];
  if (typeof upstream !== 'string') throw new Error(`${what}: no ${UPSTREAM_HEADER} header in the response`);
  return upstream;
}

/**
 * Checks `port` for one load shape. `balance`: 'round-robin' expects `distinct` upstreams over 12
 * requests, 'consistent' expects each key to stick to one upstream, 'none' checks bytes only.
 */
export async function checkTarget(label, port, options) {
  // One keep-alive connection, like each of the load generator's.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await checkWith(agent, label, port, options);
  } finally {
    agent.destroy();
  }
}

/** How long {@link checkTargetReady} waits for a target's health checks to settle. */
const SETTLE_MS = 15_000;

/**
 * {@link checkTarget}, but a target that reaches too few upstreams is asked again, once a second,
 * for up to 15 s: a proxy started beside a busy machine (1,000 health checks a second, a
 * 1,000-port nginx starting) may hold an upstream down until its next check passes. Wrong bytes,
 * a wrong status or a key moving between upstreams fail at once, and a target that never reaches
 * every upstream still fails, with what `explain()` says (the target's health log lines).
 * Resolves the number of checks it took.
 */
export async function checkTargetReady(label, port, options, explain = () => '') {
  const deadline = Date.now() + SETTLE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await checkTarget(label, port, options);
      return attempt;
    } catch (err) {
      const unsettled = /reached \d+ upstream\(s\), expected round-robin/.test(String(err?.message));
      if (!unsettled) throw err;
      if (Date.now() >= deadline || attempt > SETTLE_MS / 1000) {
        const why = explain();
        throw why === '' ? err : new Error(`${err.message} after ${attempt} checks; ${why}`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function checkWith(agent, label, port, { load, balance, distinct = 3 }) {
  const small = Buffer.from(SMALL_BODY);
  if (load === 'big') {
    const res = await request(agent, port, {
      method: 'POST',
      path: BIG_PATH,
      headers: { 'content-type': 'application/octet-stream', 'content-length': BIG_SIZE },
      body: Buffer.alloc(BIG_SIZE, 'x'),
    });
    expectOk(`${label} POST ${BIG_PATH}`, res, BIG_BODY);
    return;
  }
  if (load === 'upload') {
    const res = await request(agent, port, {
      method: 'POST',
      path: UPLOAD_PATH,
      headers: { 'content-type': 'application/octet-stream', 'content-length': HUGE_SIZE },
      body: Buffer.alloc(HUGE_SIZE, 'x'),
    });
    expectOk(`${label} POST ${UPLOAD_PATH}`, res, small);
    return;
  }
  if (load === 'download') {
    expectOk(`${label} GET ${DOWNLOAD_PATH}`, await request(agent, port, { path: DOWNLOAD_PATH }), HUGE_BODY);
    return;
  }
  if (balance === 'consistent') {
    const seen = new Set();
    for (let k = 0; k < 20; k++) {
      const headers = { [KEY_HEADER]: `check-${k}` };
      const first = expectOk(`${label} key ${k}`, await request(agent, port, { headers }), small);
      const second = expectOk(`${label} key ${k}`, await request(agent, port, { headers }), small);
      if (first !== second) throw new Error(`${label}: key check-${k} went to ${first}, then to ${second}`);
      seen.add(first);
    }
    if (seen.size < 2) throw new Error(`${label}: 20 keys all went to one upstream (${[...seen]})`);
    return;
  }
  const seen = new Set();
  for (let i = 0; i < 12; i++) {
    const headers = load === 'keyed' ? { [KEY_HEADER]: `check-${i}` } : {};
    seen.add(expectOk(`${label} GET /`, await request(agent, port, { headers }), small));
  }
  if (balance === 'round-robin' && seen.size < distinct) {
    throw new Error(
      `${label}: 12 requests reached ${seen.size} upstream(s), expected round-robin over at least ${distinct}`,
    );
  }
}
