// Regenerates the SVG chart from a result JSON without re-running the benchmark:
//   node bench/chart.mjs [docs/benchmarks.json] [docs/benchmarks.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderSvg } from './lib/svg.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const input = process.argv[2] ?? `${root}docs/benchmarks.json`;
const output = process.argv[3] ?? `${root}docs/benchmarks.svg`;
writeFileSync(output, renderSvg(JSON.parse(readFileSync(input, 'utf8'))));
console.log(`wrote ${output}`);
