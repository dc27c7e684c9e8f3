/**
 * Leave-one-speaker-out accuracy with and without speaker adaptation (VoiceAdapter): each fold's
 * model, from `digits train --loso ... --fold-models` (<run>/<speaker>/model.onnx), is evaluated on
 * its held-out speaker's 500 clips as is and with `evaluate({ adaptVoice })` — the online protocol
 * of `digits eval --adapt-voice`: clips in a seeded random order, each heard with the shift learnt
 * from the earlier ones, no labels. Top-class accuracy (threshold 0), as the training's LOSO figure.
 * Several runs: each fold's models are fused into one ensemble model first (as the shipped default).
 * A run whose folds ran as separate processes is its folders joined by commas (as in loso-ensemble.ts).
 * --norm: also with normalization adaptation (NormAdapter, `evaluate({ adaptNorm })`), the fold
 * model's normalization targets measured first on its own training clips (the five other speakers),
 * with --norm-options its NormAdapterOptions as JSON (e.g. '{"selfEnroll":true}').
 *   npx tsx scripts/loso-adapt.ts runs/loso-logmel [runs/loso-mfcc] [--norm [--norm-options JSON]] [--data DIR] [--json]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { listFsddClips } from '../src/data/clips.js';
import { loadFsdd } from '../src/data/fsdd.js';
import { type EvalItem, evaluate } from '../src/model/evaluate.js';
import { DigitRecognizer } from '../src/model/recognizer.js';
import { fuseEnsemble } from '../src/train/onnx/fuse.js';
import { leaveSpeakersOut } from '../src/data/splits.js';
import { withMeasuredNormTargets } from '../src/model/norm-targets.js';
import type { NormAdapterOptions } from '../src/model/norm-adapter.js';

const { values, positionals: runs } = parseArgs({ allowPositionals: true, options: { data: { type: 'string' }, json: { type: 'boolean' }, norm: { type: 'boolean' }, 'norm-options': { type: 'string' } } });
const normOptions: NormAdapterOptions | true = values['norm-options'] ? JSON.parse(values['norm-options']) : true;
if (runs.length === 0) {
  process.stderr.write('usage: npx tsx scripts/loso-adapt.ts RUN_DIR [RUN_DIR ...] [--norm [--norm-options JSON]] [--data DIR] [--json]\n');
  process.exit(2);
}
/** The fold model of `speaker` in whichever of the run's folders holds it ('' when none does). */
const modelOf = (run: string, speaker: string) =>
  run
    .split(',')
    .filter(Boolean)
    .map((d) => path.join(d, speaker, 'model.onnx'))
    .find((f) => fs.existsSync(f)) ?? '';
const fsdd = await loadFsdd({ data: values.data });
const clips = listFsddClips(fsdd.dir);
const speakers = [...new Set(clips.map((c) => c.speaker))].sort().filter((s) => runs.every((r) => modelOf(r, s)));
if (speakers.length === 0) {
  process.stderr.write(`no speaker has a fold model (<run>/<speaker>/model.onnx) in every run; train with --loso ... --fold-models\n`);
  process.exit(1);
}

const rows: { speaker: string; plain: number; adapted: number; shift: number; norm?: number }[] = [];
for (const speaker of speakers) {
  const models = runs.map((r) => new Uint8Array(fs.readFileSync(modelOf(r, speaker))));
  const fused = models.length === 1 ? models[0] : fuseEnsemble(models, { sources: runs.map((r) => modelOf(r, speaker)) });
  const model = values.norm
    ? await withMeasuredNormTargets(fused, leaveSpeakersOut(clips, [speaker]).train.map((c) => c.path), `FSDD without ${speaker}`)
    : fused;
  const recognizer = await DigitRecognizer.load({ model, threshold: 0 });
  const items: EvalItem[] = clips.filter((c) => c.speaker === speaker).map((c) => ({ path: c.path, label: c.digit, speaker }));
  const plain = await evaluate(recognizer, items);
  const adapted = await evaluate(recognizer, items, { adaptVoice: true });
  const norm = values.norm ? (await evaluate(recognizer, items, { adaptNorm: normOptions })).accuracy! : undefined;
  await recognizer.dispose();
  rows.push({ speaker, plain: plain.accuracy!, adapted: adapted.accuracy!, shift: adapted.voiceShift!.perSpeaker[speaker], norm });
  const pct = (x: number) => (100 * x).toFixed(1).padStart(5);
  if (!values.json) process.stdout.write(`${speaker.padEnd(10)} ${pct(plain.accuracy!)}  ->  ${pct(adapted.accuracy!)}  (x${rows.at(-1)!.shift.toFixed(2)})${norm === undefined ? '' : `   normalization adapted ${pct(norm)}`}\n`);
}
const mean = (k: 'plain' | 'adapted' | 'norm') => rows.reduce((s, r) => s + (r[k] ?? NaN), 0) / rows.length;
if (values.json) process.stdout.write(`${JSON.stringify({ runs, folds: rows, mean: { plain: mean('plain'), adapted: mean('adapted'), ...(values.norm ? { norm: mean('norm') } : {}) } })}\n`);
else process.stdout.write(`${'mean'.padEnd(10)} ${(100 * mean('plain')).toFixed(2).padStart(5)}  ->  ${(100 * mean('adapted')).toFixed(2).padStart(5)}${values.norm ? `   normalization adapted ${(100 * mean('norm')).toFixed(2)}` : ''}  over ${rows.length} folds\n`);
