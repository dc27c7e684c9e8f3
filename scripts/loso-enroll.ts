/**
 * What a labelled enrollment (`enrollSpeaker`, `digits enroll`) wins on voices a model never heard:
 * for fold models of `digits train --loso S --fold-models` (<run>/<S>/model.onnx, or a fused pair
 * or an int8 file made from fold models and put beside it), the held-out speaker S's highest takes
 * of each digit are the enrollment and the speaker's other clips are scored with the base and the
 * personal model.
 *   npx tsx scripts/loso-enroll.ts FOLD_MODEL.onnx [...] [--data DIR] [--per-digit 1,3] [--l2 0.1] [--steps 300] [--voice-shift auto|1] [--json]
 * The speaker is the name of the folder the model file is in. Scores: top class (a "none" counts as
 * wrong) and decided (the model's rejection threshold applied, as `digits eval` counts).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type FsddClip, listFsddClips } from '../src/data/clips.js';
import { loadFsdd } from '../src/data/fsdd.js';
import { topLabels } from '../src/model/decision.js';
import { enrollSpeaker } from '../src/model/enroll.js';
import { DigitRecognizer } from '../src/model/recognizer.js';

const { values, positionals: models } = parseArgs({
  allowPositionals: true,
  options: { data: { type: 'string' }, 'per-digit': { type: 'string' }, l2: { type: 'string' }, steps: { type: 'string' }, 'voice-shift': { type: 'string' }, json: { type: 'boolean' } },
});
const perDigitCounts = (values['per-digit'] ?? '1,3').split(',').map(Number);
const l2 = Number(values.l2 ?? 0.1);
const steps = Number(values.steps ?? 300);
const voiceShift = (values['voice-shift'] ?? 'auto') === 'auto' ? 'auto' : Number(values['voice-shift']);
if (models.length === 0 || perDigitCounts.some((k) => !(Number.isInteger(k) && k >= 1 && k <= 25)) || !(l2 >= 0) || !(steps >= 1) || !(voiceShift === 'auto' || voiceShift > 0)) {
  process.stderr.write('usage: npx tsx scripts/loso-enroll.ts FOLD_MODEL.onnx [...] [--data DIR] [--per-digit 1,3] [--l2 0.1] [--steps 300] [--voice-shift auto|1] [--json]\n');
  process.exit(2);
}

const fsddClips = listFsddClips((await loadFsdd({ data: values.data })).dir);

/** Top-class and decided counts of a model on clips. */
async function score(model: string | Uint8Array, clips: FsddClip[]): Promise<{ top: number; decided: number }> {
  const recognizer = await DigitRecognizer.load({ model });
  try {
    const predictions = await recognizer.predictBatch(clips.map((c) => c.path));
    return {
      top: predictions.filter((p, i) => topLabels(p.probabilities, p.labels, 1)[0].label === String(clips[i].digit)).length / clips.length,
      decided: predictions.filter((p, i) => p.digit === clips[i].digit).length / clips.length,
    };
  } finally {
    await recognizer.dispose();
  }
}

type Row = { model: string; speaker: string; perDigit: number; voiceShift: number; testClips: number; before: { top: number; decided: number }; after: { top: number; decided: number } };
const rows: Row[] = [];
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
for (const model of models) {
  const speaker = path.basename(path.dirname(path.resolve(model)));
  const clips = fsddClips.filter((c) => c.speaker === speaker);
  if (clips.length === 0) {
    process.stderr.write(`${model}: no FSDD clips of speaker '${speaker}' (the folder the model is in names the held-out speaker)\n`);
    process.exitCode = 1;
    continue;
  }
  for (const k of perDigitCounts) {
    // Each digit's k highest takes.
    const enroll = clips.filter((c) => clips.filter((o) => o.digit === c.digit && o.take > c.take).length < k);
    const test = clips.filter((c) => !enroll.includes(c));
    const personal = await enrollSpeaker(
      enroll.map((c) => ({ input: c.path, digit: c.digit })),
      { model, l2, steps, voiceShift, crossCheck: false },
    );
    const row = { model, speaker, perDigit: k, voiceShift: personal.voiceShift, testClips: test.length, before: await score(model, test), after: await score(personal.model, test) };
    rows.push(row);
    if (!values.json)
      console.log(`${model}\t${speaker}\t${k} per digit\tx${personal.voiceShift}\ttop ${pct(row.before.top)} -> ${pct(row.after.top)}\tdecided ${pct(row.before.decided)} -> ${pct(row.after.decided)}\t(${test.length} clips)`);
  }
}
if (values.json) console.log(JSON.stringify({ l2, steps, voiceShift, rows }, null, 2));
else
  for (const k of perDigitCounts) {
    const r = rows.filter((x) => x.perDigit === k);
    const mean = (f: (x: Row) => number) => pct(r.reduce((s, x) => s + f(x), 0) / r.length);
    if (r.length)
      console.log(`mean over ${r.length} folds, ${k} per digit: top ${mean((x) => x.before.top)} -> ${mean((x) => x.after.top)}, decided ${mean((x) => x.before.decided)} -> ${mean((x) => x.after.decided)}`);
  }
