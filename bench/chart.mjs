// Regenerates the SVG chart (and the generated tables of docs/benchmarks.md, when the input is
// docs/benchmarks.json) from a result JSON without re-running the benchmark:
//   node bench/chart.mjs [docs/benchmarks.json] [docs/benchmarks.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { evaluateGoals, markdownReport, replaceGeneratedSection } from './lib/report.mjs';
import { renderSvg } from './lib/svg.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const input = process.argv[2] ?? `${root}docs/benchmarks.json`;
const output = process.argv[3] ?? `${root}docs/benchmarks.svg`;
const doc = JSON.parse(readFileSync(input, 'utf8'));
// The goals are derived data: re-evaluated so a fix in their definitions reaches old results.
doc.goals = evaluateGoals(doc.scenarios, doc.rss);
writeFileSync(output, renderSvg(doc));
if (process.argv[2] === undefined) writeFileSync(input, `${JSON.stringify(doc, null, 2)}\n`);
console.log(`wrote ${output}`);
if (
  process.argv[2] === undefined &&
  (await replaceGeneratedSection(`${root}docs/benchmarks.md`, markdownReport(doc)))
) {
  console.log('updated the generated tables in docs/benchmarks.md');
}
