// Regenerates the SVG chart (and the generated tables of docs/benchmarks.md, when the input is
// docs/benchmarks.json) from a result JSON without re-running the benchmark:
//   node bench/chart.mjs [docs/benchmarks.json] [docs/benchmarks.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { markdownReport, replaceGeneratedSection } from './lib/report.mjs';
import { renderSvg } from './lib/svg.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const input = process.argv[2] ?? `${root}docs/benchmarks.json`;
const output = process.argv[3] ?? `${root}docs/benchmarks.svg`;
const doc = JSON.parse(readFileSync(input, 'utf8'));
writeFileSync(output, renderSvg(doc));
console.log(`wrote ${output}`);
if (
  process.argv[2] === undefined &&
  (await replaceGeneratedSection(`${root}docs/benchmarks.md`, markdownReport(doc)))
) {
  console.log('updated the generated tables in docs/benchmarks.md');
}
