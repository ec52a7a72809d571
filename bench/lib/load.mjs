// The load generators: wrk (when installed) with Lua scripts written into the run's temp dir,
// otherwise autocannon in-process. Both report the same shape of result.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BIG_PATH, BIG_SIZE, DOWNLOAD_PATH, HUGE_SIZE, KEY_COUNT, KEY_HEADER, UPLOAD_PATH } from './bodies.mjs';
import { HOST } from './children.mjs';
import { requireFromProxy } from './deps.mjs';

/** Where Debian installs wrk. */
export const WRK_PATH = '/usr/bin/wrk';

/**
 * The load shapes: plain GETs, GETs with a rotating key header, 64 KiB POSTs answered with 64 KiB,
 * GETs answered with 1 MiB (download), 1 MiB POSTs answered with the small body (upload).
 */
export const LOADS = Object.freeze(['plain', 'keyed', 'big', 'download', 'upload']);

/** `'wrk'` when installed, else `'autocannon'`. */
export function defaultLoader() {
  return existsSync(WRK_PATH) ? 'wrk' : 'autocannon';
}

// wrk calls done() once with the totals of all threads; one JSON line is easier to trust than
// parsing its human-readable summary (units vary: us/ms/s).
const DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%.0f,"durationUs":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50Us":%.0f,"p99Us":%.0f,"meanUs":%.1f,"maxUs":%.0f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
`;

const SCRIPTS = {
  plain: DONE,
  // Every request carries the next of KEY_COUNT distinct values; each wrk thread rotates its own.
  keyed: `
local counter = 0
request = function()
  counter = counter + 1
  if counter > ${KEY_COUNT} then counter = 1 end
  return wrk.format(nil, nil, { ["${KEY_HEADER}"] = "key-" .. counter })
end
${DONE}`,
  big: `
wrk.method = "POST"
wrk.path = "${BIG_PATH}"
wrk.body = string.rep("x", ${BIG_SIZE})
wrk.headers["Content-Type"] = "application/octet-stream"
${DONE}`,
  download: `
wrk.path = "${DOWNLOAD_PATH}"
${DONE}`,
  upload: `
wrk.method = "POST"
wrk.path = "${UPLOAD_PATH}"
wrk.body = string.rep("x", ${HUGE_SIZE})
wrk.headers["Content-Type"] = "application/octet-stream"
${DONE}`,
};

/** Writes the Lua scripts into `dir`; returns their paths by load name. */
export async function writeWrkScripts(dir) {
  const paths = {};
  for (const [name, text] of Object.entries(SCRIPTS)) {
    paths[name] = path.join(dir, `wrk-${name}.lua`);
    await writeFile(paths[name], text);
  }
  return paths;
}

/**
 * One load run against `http://127.0.0.1:port/`: for `durationS` seconds, or (autocannon only)
 * exactly `amount` requests.
 * Resolves `{ requests, durationS, rps, p50Ms, p99Ms, errors, errorDetail }`; `errors` counts
 * every request that did not get a 2xx/3xx answer (socket errors, timeouts and bad statuses).
 */
export function runLoad({ loader, port, load, durationS, connections, threads, scripts, amount }) {
  if (!LOADS.includes(load)) throw new Error(`load: expected one of ${LOADS.join(', ')}, got ${load}`);
  return loader === 'wrk'
    ? runWrk({ port, load, durationS, connections, threads, scripts })
    : runAutocannon({ port, load, durationS, connections, amount });
}

function runWrk({ port, load, durationS, connections, threads, scripts }) {
  const seconds = Math.max(1, Math.round(durationS));
  // A 10 s timeout: on a shared, overloaded VM the slowest Node peers' p99 reaches seconds with
  // 64 KiB bodies; a request slower than 10 s still counts as failed.
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '10s',
    '-s',
    scripts[load],
    `http://${HOST}:${port}/`,
  ];
  return new Promise((resolve, reject) => {
    execFile(WRK_PATH, args, { timeout: (seconds + 30) * 1000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`wrk ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        return;
      }
      const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
      if (!line) {
        reject(new Error(`wrk printed no summary:\n${stdout}\n${stderr}`));
        return;
      }
      const w = JSON.parse(line.slice('WRKJSON '.length));
      const durationS = w.durationUs / 1e6;
      const errorDetail = { connect: w.connect, read: w.read, write: w.write, timeout: w.timeout, status: w.status };
      resolve({
        requests: w.requests,
        durationS,
        rps: w.requests / durationS,
        p50Ms: w.p50Us / 1000,
        p99Ms: w.p99Us / 1000,
        errors: w.connect + w.read + w.write + w.timeout + w.status,
        errorDetail,
      });
    });
  });
}

async function runAutocannon({ port, load, durationS, connections, amount }) {
  const autocannon = requireFromProxy('autocannon');
  const options = { url: `http://${HOST}:${port}/`, connections, timeout: 10 };
  if (amount === undefined) options.duration = durationS;
  // autocannon notices the end of an `amount` run on its sampling tick (1 s by default).
  else Object.assign(options, { amount, connections: Math.min(connections, amount), sampleInt: 20 });
  if (load === 'big') {
    Object.assign(options, {
      method: 'POST',
      url: `http://${HOST}:${port}${BIG_PATH}`,
      body: Buffer.alloc(BIG_SIZE, 'x'),
      headers: { 'content-type': 'application/octet-stream' },
    });
  } else if (load === 'upload') {
    Object.assign(options, {
      method: 'POST',
      url: `http://${HOST}:${port}${UPLOAD_PATH}`,
      body: Buffer.alloc(HUGE_SIZE, 'x'),
      headers: { 'content-type': 'application/octet-stream' },
    });
  } else if (load === 'download') {
    options.url = `http://${HOST}:${port}${DOWNLOAD_PATH}`;
  } else if (load === 'keyed') {
    let counter = 0;
    options.requests = [
      {
        setupRequest(request) {
          counter = (counter % KEY_COUNT) + 1;
          return { ...request, headers: { ...request.headers, [KEY_HEADER]: `key-${counter}` } };
        },
      },
    ];
  }
  const result = await autocannon(options);
  // autocannon reconnects silently when a server closes a connection without answering, so a
  // dropped request is neither a response nor an error to it. With `amount`, every request sent
  // has had its chance to be answered when the run ends: the shortfall is the dropped ones.
  const answered = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  const dropped = amount === undefined ? 0 : Math.max(0, amount - answered - result.errors);
  const errorDetail = { errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, dropped };
  return {
    requests: result.requests.total,
    durationS: result.duration,
    rps: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx + dropped,
    errorDetail,
  };
}
