// Reading a V8 .cpuprofile (node --cpu-prof): self time per function and per code owner, so a
// hot spot can be named precisely (function, file, line) instead of guessed.
import path from 'node:path';

function owner(url) {
  if (!url) return '(native: syscalls such as writev, GC, builtins)';
  if (url.startsWith('node:'))
    return url
      .replace(/^node:(internal\/)?/, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/');
  const pkgs = url.match(/packages\/([^/]+)\/(dist|src)\//);
  if (pkgs) return `@switchyard/${pkgs[1]}`;
  const mod = url.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//);
  if (mod) return mod[1];
  return path.basename(url);
}

/**
 * Summarises a parsed .cpuprofile: total sampled ms, and the top `limit` functions and owners by
 * self time (idle and program time excluded from the percentages, GC kept). Samples in the first
 * `skipMs` of the profile (start-up: loading modules, the first connections) are left out.
 */
export function summarizeProfile(profile, limit = 30, skipMs = 0) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map();
  const deltas = profile.timeDeltas ?? [];
  let atMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    atMs += (deltas[i] ?? 0) / 1000;
    if (atMs < skipMs) continue;
    const id = profile.samples[i];
    selfMs.set(id, (selfMs.get(id) ?? 0) + (deltas[i] ?? 0) / 1000);
  }
  const fns = new Map();
  const owners = new Map();
  let busy = 0;
  let idle = 0;
  for (const [id, ms] of selfMs) {
    const { callFrame } = byId.get(id);
    if (callFrame.functionName === '(idle)' || callFrame.functionName === '(program)') {
      idle += ms;
      continue;
    }
    busy += ms;
    const where = callFrame.url
      ? `${path.relative(process.cwd(), callFrame.url.replace(/^file:\/\//, ''))}:${callFrame.lineNumber + 1}`
      : '';
    const key = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + ms);
    const who = owner(callFrame.url);
    owners.set(who, (owners.get(who) ?? 0) + ms);
  }
  const top = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: Math.round((1000 * ms) / busy) / 10 }));
  return {
    skippedMs: Math.round(skipMs),
    busyMs: Math.round(busy),
    idleMs: Math.round(idle),
    functions: top(fns),
    owners: top(owners),
  };
}

/** The summary as text for the terminal. */
export function profileText(summary) {
  const lines = [
    `busy ${summary.busyMs} ms, idle/program ${summary.idleMs} ms (the first ${summary.skippedMs ?? 0} ms, start-up, left out)`,
    '',
    'self time by owner:',
  ];
  for (const o of summary.owners) lines.push(`  ${String(o.pct).padStart(5)}%  ${o.name}`);
  lines.push('', 'self time by function:');
  for (const f of summary.functions) lines.push(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
  return lines.join('\n');
}
