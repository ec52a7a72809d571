// Prints the issue-3 speed targets as ratios from a `vitest bench --outputJson` run
// (bench-results/selectors.json) and the ring memory figure (bench-results/memory.json).
// Usage: node bench/report.mjs [results.json]. Exits 1 if a target is missed.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

const resultsPath = process.argv[2] ?? new URL('../bench-results/selectors.json', import.meta.url);
const results = JSON.parse(readFileSync(resultsPath, 'utf8'));
const memory = JSON.parse(readFileSync(new URL('../bench-results/memory.json', import.meta.url), 'utf8'));
// Each group's name says how many picks one op makes: "… (100 picks per op)".
const byName = new Map();
for (const file of results.files) {
  for (const group of file.groups) {
    const batch = Number(/\((\d+) picks per op\)/.exec(group.fullName)?.[1] ?? 1);
    for (const b of group.benchmarks) byName.set(b.name, { ...b, batch });
  }
}
const get = (name) => {
  const b = byName.get(name);
  if (b === undefined) throw new Error(`no benchmark named ${JSON.stringify(name)} in ${resultsPath}`);
  return b;
};
// Medians, not means: on a shared machine a few descheduled samples skew the mean, and
// the comparison is between benchmarks of the same run.
const rate = (name) => (1000 / get(name).median) * get(name).batch;
const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));

console.log(
  `medians of one run; node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg()[0].toFixed(1)}\n`,
);
let missed = 0;
const row = (what, value, target, ok) => {
  if (!ok) missed++;
  console.log(`${ok ? 'ok  ' : 'MISS'}  ${what.padEnd(58)} ${value.padStart(16)}   target ${target}`);
};

const nginx = rate("consistentHash 'nginx'");
const ketama = rate("consistentHash 'ketama'");
const hrGet = rate('hashring get (cache never hits)');
const hrLookup = rate('hashring uncached lookup');
const hrBest = Math.max(hrGet, hrLookup);
console.log(
  `first picks/s, 100 backends: nginx ${fmt(nginx)}, ketama ${fmt(ketama)}, ` +
    `hashring get ${fmt(hrGet)}, hashring uncached lookup ${fmt(hrLookup)}\n`,
);
row('nginx ring vs hashring get (cache never hits)', `${fmt(nginx / hrGet)}x`, '>= 10x', nginx / hrGet >= 10);
row('nginx ring vs hashring uncached lookup', `${fmt(nginx / hrLookup)}x`, '>= 10x', nginx / hrBest >= 10);
row('ketama vs hashring get (cache never hits)', `${fmt(ketama / hrGet)}x`, '>= 2x', ketama / hrGet >= 2);
row('ketama vs hashring uncached lookup', `${fmt(ketama / hrLookup)}x`, '>= 2x', ketama / hrBest >= 2);

const rr10 = rate('smooth, 10 backends (weights 1–4)');
const rr1000 = rate('smooth, 1000 backends (weight 1)');
row('smooth round-robin first picks/s, 10 backends', fmt(rr10), '>= 20,000,000', rr10 >= 20e6);
row('smooth round-robin first picks/s, 1000 backends', fmt(rr1000), '>= 1,000,000', rr1000 >= 1e6);
const rrLong = rate('smooth, 1000 backends, total weight 599,500 (O(n) per pick)');
console.log(`      (1000 backends with total weight above the schedule limit, O(n) per pick: ${fmt(rrLong)} picks/s)`);

const build = get("consistentHash 'nginx' (160,000 points)");
const hrBuild = get('hashring');
row("build 'nginx' ring, 1000 backends: CPU ms per build", fmt(memory.warmCpuMs), '< 50 ms', memory.warmCpuMs < 50);
console.log(
  `      wall clock: median ${fmt(build.median)} ms, min ${fmt(build.min)} ms, mean ${fmt(build.mean)} ms; ` +
    `first (cold, unoptimised) build ${fmt(memory.coldWallMs)} ms wall / ${fmt(memory.coldCpuMs)} ms CPU`,
);
console.log(
  `      hashring builds a ring for the same 1000 servers in ${fmt(hrBuild.median)} ms (median wall), ` +
    `${fmt(hrBuild.median / build.median)}x slower`,
);
console.log(
  `      memory: ${memory.points.toLocaleString('en-US')} points x 6 bytes + bucket index = ` +
    `${(memory.retainedBytes / 2 ** 20).toFixed(2)} MiB retained; typed-array growth during build ` +
    `${(memory.arrayBuffersDelta / 2 ** 20).toFixed(2)} MiB (includes radix-sort scratch)`,
);
const beside = rate("consistentHash 'nginx' (beside the compatible hashes)");
console.log(
  '\nHAProxy- and Envoy-compatible selectors, first picks/s, 100 backends (no target; x = vs the nginx ring):',
);
for (const name of [
  "haproxyHash 'consistent'",
  "haproxyHash 'map-based'",
  'ringHash (Envoy ring_hash)',
  "maglev 'envoy'",
]) {
  console.log(`      ${name.padEnd(32)} ${fmt(rate(name)).padStart(14)}   ${fmt(rate(name) / beside)}x`);
}
process.exitCode = missed === 0 ? 0 : 1;
