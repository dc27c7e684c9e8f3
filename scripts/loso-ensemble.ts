/**
 * Leave-one-speaker-out accuracy of an ensemble of runs: averages the held-out clips' class
 * probabilities that `digits train --loso ...` wrote (<run>/<speaker>.test.json) over the given runs,
 * fold by fold, and prints each run's accuracy next to the ensemble's.
 *   npx tsx scripts/loso-ensemble.ts runs/loso-a runs/loso-b [runs/loso-c ...]
 * A member whose folds ran as separate processes is its folders joined by commas
 * (runs/a-loso-1,runs/a-loso-2). With --out FILE --arch NAME it also writes the ensemble's folds as
 * a loso.json (NAME must be the fused model's type, e.g. "ensemble(resnet-se logmel, resnet-se mfcc)";
 * scripts/build-default-model.ts --loso checks it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { perDigitAccuracy } from '../src/train/report.js';

interface FoldTest {
  labels: string[];
  truth: number[];
  probabilities: number[][];
}

const { values, positionals: members } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, arch: { type: 'string' } } });
if (members.length === 0 || Boolean(values.out) !== Boolean(values.arch)) {
  process.stderr.write('usage: npx tsx scripts/loso-ensemble.ts RUN_DIR[,RUN_DIR...] [RUN_DIR ...] [--out loso.json --arch NAME]\n');
  process.exit(2);
}
const dirsOf = (member: string) => member.split(',').filter(Boolean);
/** The member's <speaker>.test.json, from whichever of its folders holds it. */
const foldFile = (member: string, speaker: string) => dirsOf(member).map((d) => path.join(d, `${speaker}.test.json`)).find((f) => fs.existsSync(f));
const speakersOf = (member: string) =>
  dirsOf(member).flatMap((d) =>
    fs
      .readdirSync(d)
      .filter((f) => f.endsWith('.test.json'))
      .map((f) => f.slice(0, -'.test.json'.length)),
  );
const speakers = [...new Set(speakersOf(members[0]))].filter((s) => members.every((m) => foldFile(m, s))).sort();
if (speakers.length === 0) {
  process.stderr.write('no held-out speaker has a <speaker>.test.json in every run (runs from before this file was written have none)\n');
  process.exit(1);
}

const argmax = (row: number[]) => row.reduce((best, v, k) => (v > row[best] ? k : best), 0);
const accuracy = (truth: number[], rows: number[][]) => truth.filter((t, i) => argmax(rows[i]) === t).length / truth.length;
const pct = (v: number) => `${(100 * v).toFixed(1)}`.padStart(6);

const means = new Array<number>(members.length + 1).fill(0);
const folds: { speaker: string; accuracy: number; testClips: number; perDigit: Record<string, number>; confusion: number[][] }[] = [];
process.stdout.write(`${'speaker'.padEnd(10)}${members.map((_, k) => `   #${k + 1}`).join('')}  ensemble\n`);
for (const speaker of speakers) {
  const tests = members.map((m) => JSON.parse(fs.readFileSync(foldFile(m, speaker)!, 'utf8')) as FoldTest);
  const { truth, labels } = tests[0];
  for (const [k, t] of tests.entries()) {
    if (t.labels.join() !== labels.join() || t.truth.join() !== truth.join()) {
      process.stderr.write(`${members[k]}: ${speaker}'s labels or clips differ from ${members[0]}'s; runs must share labels and split\n`);
      process.exit(1);
    }
  }
  const mean = truth.map((_, i) => labels.map((__, c) => tests.reduce((s, t) => s + t.probabilities[i][c], 0) / tests.length));
  const accs = [...tests.map((t) => accuracy(truth, t.probabilities)), accuracy(truth, mean)];
  accs.forEach((a, k) => (means[k] += a / speakers.length));
  process.stdout.write(`${speaker.padEnd(10)}${accs.map(pct).join('')}\n`);
  const confusion = labels.map(() => new Array<number>(labels.length).fill(0));
  truth.forEach((t, i) => confusion[t][argmax(mean[i])]++);
  const perDigit = perDigitAccuracy(confusion);
  folds.push({ speaker, accuracy: accs[accs.length - 1], testClips: truth.length, perDigit, confusion });
}
process.stdout.write(`${'mean'.padEnd(10)}${means.map(pct).join('')}\n`);

if (values.out) {
  // The recipe of the members (epochs, utterance norm) from the first member's loso.json.
  const recipeFile = dirsOf(members[0]).map((d) => path.join(d, 'loso.json')).find((f) => fs.existsSync(f));
  const recipe = recipeFile ? (JSON.parse(fs.readFileSync(recipeFile, 'utf8')) as { epochs?: number; utteranceNorm?: boolean; seed?: number }) : {};
  const out = {
    arch: values.arch,
    epochs: recipe.epochs ?? null,
    utteranceNorm: recipe.utteranceNorm ?? false,
    members: members.map(dirsOf),
    mean: means[members.length],
    folds,
  };
  fs.writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${values.out}\n`);
}
