/**
 * Leave-one-speaker-out accuracy of an ensemble of runs: averages the held-out clips' class
 * probabilities that `digits train --loso ...` wrote (<run>/<speaker>.test.json) over the given runs,
 * fold by fold, and prints each run's accuracy next to the ensemble's.
 *   npx tsx scripts/loso-ensemble.ts runs/loso-a runs/loso-b [runs/loso-c ...]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface FoldTest {
  labels: string[];
  truth: number[];
  probabilities: number[][];
}

const runs = process.argv.slice(2);
if (runs.length === 0) {
  process.stderr.write('usage: npx tsx scripts/loso-ensemble.ts RUN_DIR [RUN_DIR ...]\n');
  process.exit(2);
}
const speakersOf = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.json'))
    .map((f) => f.slice(0, -'.test.json'.length));
const speakers = speakersOf(runs[0]).filter((s) => runs.every((r) => fs.existsSync(path.join(r, `${s}.test.json`))));
if (speakers.length === 0) {
  process.stderr.write('no held-out speaker has a <speaker>.test.json in every run (runs from before this file was written have none)\n');
  process.exit(1);
}

const argmax = (row: number[]) => row.reduce((best, v, k) => (v > row[best] ? k : best), 0);
const accuracy = (truth: number[], rows: number[][]) => truth.filter((t, i) => argmax(rows[i]) === t).length / truth.length;
const pct = (v: number) => `${(100 * v).toFixed(1)}`.padStart(6);

const means = new Array<number>(runs.length + 1).fill(0);
process.stdout.write(`${'speaker'.padEnd(10)}${runs.map((_, k) => `   #${k + 1}`).join('')}  ensemble\n`);
for (const speaker of speakers) {
  const tests = runs.map((r) => JSON.parse(fs.readFileSync(path.join(r, `${speaker}.test.json`), 'utf8')) as FoldTest);
  const { truth, labels } = tests[0];
  for (const [k, t] of tests.entries()) {
    if (t.labels.join() !== labels.join() || t.truth.join() !== truth.join()) {
      process.stderr.write(`${runs[k]}: ${speaker}'s labels or clips differ from ${runs[0]}'s; runs must share labels and split\n`);
      process.exit(1);
    }
  }
  const mean = truth.map((_, i) => labels.map((__, c) => tests.reduce((s, t) => s + t.probabilities[i][c], 0) / tests.length));
  const accs = [...tests.map((t) => accuracy(truth, t.probabilities)), accuracy(truth, mean)];
  accs.forEach((a, k) => (means[k] += a / speakers.length));
  process.stdout.write(`${speaker.padEnd(10)}${accs.map(pct).join('')}\n`);
}
process.stdout.write(`${'mean'.padEnd(10)}${means.map(pct).join('')}\n`);
