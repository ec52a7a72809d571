import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport } from '../simulate/format.js';
import { renderHtml } from '../simulate/html.js';
import { parseLatencyModel, parseWeights, SIMULATE_DEFAULTS, type SimulateOptions } from '../simulate/options.js';
import { ProgressBar } from '../simulate/progress.js';
import { type ExtraSelectors, runSimulation } from '../simulate/run.js';
import { SIMULATED_SELECTORS, type SimulatedSelector } from '../simulate/selectors.js';
import { BASELINE_SELECTORS, isSelectorFile, loadUserSelector } from '../simulate/user-selector.js';
import { type Command, EXIT_USAGE, errorText } from './command.js';

const d = SIMULATE_DEFAULTS;
const USAGE = `Usage: switchyard simulate [--selector NAME | --compare A,B,...] [options]

Replays a synthetic workload through selectors and prints, per selector: key shares per
backend (max/mean, min/mean, coefficient of variation; exact hash-space shares for
Maglev), keys moved by a membership change against the minimum, picks per second, and
a discrete-event load simulation (injected clock, no real waiting) over a heterogeneous
pool: tail latency, in-flight spread, traffic sent to the slow backends.

Selectors: ${Object.keys(SIMULATED_SELECTORS).join(', ')}

Options:
  --selector NAME         one selector (default ${d.selectors.join(',')})
  --selector FILE         your own selector factory (default export or named "factory",
                          called as factory(backends, { tracker, random })), beside the
                          --compare list (default ${BASELINE_SELECTORS.join(',')})
  --compare A,B,...       several side by side (e.g. consistent,maglev,bounded-load)
  --backends N            pool size (default ${d.backends})
  --keys N                distinct keys for shares and movement (default ${d.keys})
  --weights W1,W2,...     weights cycled over the backends (default ${d.weights.join(',')})
  --remove N              backends removed for the movement figure (default ${d.remove})
  --add N                 backends added for the movement figure (default ${d.add})
  --latency-model M[,F:S] mean service ms, and a fraction F of backends at S ms
                          (default ${d.latencyModel.mean},${d.latencyModel.slowFraction}:${d.latencyModel.slowMean})
  --requests N            requests in the load simulation, 0 to skip (default ${d.requests})
  --utilization U         offered load as a fraction of capacity (default ${d.utilization})
  --concurrency N         workers per unit of weight per backend (default ${d.concurrency})
  --zipf S                Zipf exponent of key popularity, 0 = uniform (default ${d.zipf})
  --seed N                seed of every random choice (default ${d.seed})
  --html FILE             also write a self-contained HTML report with charts
  --json                  print the report as JSON instead of text
  --help, -h              this text

Exit codes: 0 success, 1 failed run, 64 usage error (a bad flag or option value).`;

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new Error(`--${name}: expected a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function decimal(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n))
    throw new Error(`--${name}: expected a number, got ${JSON.stringify(text)}`);
  return n;
}

/** Turns the command line into {@link SimulateOptions} overrides; throws on a usage error. */
export function parseSimulateArgs(args: readonly string[]): {
  options: Partial<SimulateOptions>;
  html?: string;
  json: boolean;
  help: boolean;
} {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      selector: { type: 'string', short: 's' },
      compare: { type: 'string' },
      backends: { type: 'string', short: 'n' },
      keys: { type: 'string', short: 'k' },
      weights: { type: 'string' },
      remove: { type: 'string' },
      add: { type: 'string' },
      'latency-model': { type: 'string' },
      requests: { type: 'string' },
      utilization: { type: 'string' },
      concurrency: { type: 'string' },
      zipf: { type: 'string' },
      seed: { type: 'string' },
      html: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const file = values.selector !== undefined && isSelectorFile(values.selector) ? values.selector : undefined;
  if (values.selector !== undefined && values.compare !== undefined && file === undefined) {
    throw new Error('--selector and --compare: give one or the other (or --selector FILE with --compare)');
  }
  const compared = values.compare?.split(',').map((s) => s.trim());
  // A user's selector file runs first, beside the built-ins named by --compare or the baseline.
  const selectors =
    file !== undefined
      ? [file, ...(compared ?? BASELINE_SELECTORS)]
      : (compared ?? (values.selector === undefined ? undefined : [values.selector]));
  const entries: [keyof SimulateOptions, unknown][] = [
    ['selectors', selectors],
    ['backends', integer('backends', values.backends)],
    ['keys', integer('keys', values.keys)],
    ['weights', values.weights === undefined ? undefined : parseWeights(values.weights)],
    ['remove', integer('remove', values.remove)],
    ['add', integer('add', values.add)],
    ['latencyModel', values['latency-model'] === undefined ? undefined : parseLatencyModel(values['latency-model'])],
    ['requests', integer('requests', values.requests)],
    ['utilization', decimal('utilization', values.utilization)],
    ['concurrency', integer('concurrency', values.concurrency)],
    ['zipf', decimal('zipf', values.zipf)],
    ['seed', integer('seed', values.seed)],
  ];
  const options = Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as Partial<SimulateOptions>;
  return {
    options,
    ...(values.html === undefined ? {} : { html: values.html }),
    json: values.json === true,
    help: values.help === true,
  };
}

/** Loads every selector file named in `options.selectors` and names it in the report (file stem). */
async function loadSelectorFiles(
  options: Partial<SimulateOptions>,
): Promise<{ options: Partial<SimulateOptions>; extra: ExtraSelectors }> {
  const extra: Record<string, SimulatedSelector> = {};
  const names: string[] = [];
  for (const entry of options.selectors ?? []) {
    if (!isSelectorFile(entry)) {
      names.push(entry);
      continue;
    }
    const loaded = await loadUserSelector(entry);
    const name = Object.hasOwn(extra, loaded.name) ? entry : loaded.name;
    extra[name] = loaded.selector;
    names.push(name);
  }
  return { options: options.selectors === undefined ? options : { ...options, selectors: names }, extra };
}

/** `switchyard simulate`: compare selectors on a synthetic workload. */
export const simulateCommand: Command = {
  summary: 'replay a synthetic workload through selectors and compare shares, movement and load',
  usage: USAGE,
  async run(args) {
    let parsed: ReturnType<typeof parseSimulateArgs>;
    try {
      parsed = parseSimulateArgs(args);
    } catch (err) {
      process.stderr.write(`switchyard simulate: ${errorText(err)}\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    if (parsed.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    let loaded: Awaited<ReturnType<typeof loadSelectorFiles>>;
    try {
      loaded = await loadSelectorFiles(parsed.options);
    } catch (err) {
      // The flag was well formed; the user's module failed to load or misbehaved: a failed run.
      process.stderr.write(`switchyard simulate: ${errorText(err)}\n`);
      return 1;
    }
    const bar = new ProgressBar(process.stderr);
    try {
      const { options, extra } = loaded;
      const report = runSimulation(options, (label, done, total) => bar.update(label, done, total), extra);
      bar.done();
      process.stdout.write(`${parsed.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
      if (parsed.html !== undefined) {
        writeFileSync(parsed.html, renderHtml(report));
        process.stderr.write(`switchyard simulate: wrote ${parsed.html}\n`);
      }
      return 0;
    } catch (err) {
      bar.done();
      // Options are validated before any work starts: a bad value is a usage error, like a bad flag.
      const usage = (err as { code?: unknown }).code === 'LB_ERR_INVALID_OPTION';
      process.stderr.write(`switchyard simulate: ${errorText(err)}\n${usage ? `\n${USAGE}\n` : ''}`);
      return usage ? EXIT_USAGE : 1;
    }
  },
};
