/**
 * Measures a model's normalization targets (each conv output channel's mean and variance over the
 * FSDD train split, clean) and writes them into the file's metadata, in place: what
 * `DigitRecognizer.adaptNormalization`, `NormAdapter`, `digits eval --adapt-norm` and
 * `digits listen --adapt-norm` adapt to (src/model/norm-adapt.ts). scripts/build-default-model.ts
 * does this for the files it writes. `--without S` measures them on a leave-one-speaker-out fold's
 * training clips instead (every clip of the other speakers, as `digits train --loso S` trains on),
 * so that the fold model adapts to S without having seen S.
 *   npx tsx scripts/add-norm-targets.ts MODEL.onnx [MODEL.onnx ...] [--data DIR] [--without SPEAKER[,SPEAKER]]
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadFsdd } from '../src/data/fsdd.js';
import { listFsddClips, leaveSpeakersOut, speakersOf } from '../src/data/index.js';
import { withFsddNormTargets, withMeasuredNormTargets } from '../src/model/norm-targets.js';

const usage = 'usage: npx tsx scripts/add-norm-targets.ts MODEL.onnx [MODEL.onnx ...] [--data DIR] [--without SPEAKER[,SPEAKER]]\n';
const { values, positionals } = parseArgs({ allowPositionals: true, options: { data: { type: 'string' }, without: { type: 'string' } } });
if (positionals.length === 0) {
  process.stderr.write(usage);
  process.exit(2);
}
const fsdd = await loadFsdd({ data: values.data });
const without = values.without?.split(',').map((s) => s.trim()).filter(Boolean);
let foldClips: string[] | undefined;
if (without) {
  const clips = listFsddClips(fsdd.dir);
  const known = speakersOf(clips);
  const unknown = without.filter((s) => !known.includes(s));
  if (without.length === 0 || unknown.length > 0) {
    process.stderr.write(`--without: ${unknown.length ? `no clips of ${unknown.join(', ')}` : 'no speaker named'}; ${fsdd.dir} has ${known.join(', ')}\n${usage}`);
    process.exit(2);
  }
  foldClips = leaveSpeakersOut(clips, without).train.map((c) => c.path);
}
for (const file of positionals) {
  const before = new Uint8Array(fs.readFileSync(file));
  const after = foldClips ? await withMeasuredNormTargets(before, foldClips, `FSDD without ${without!.join(', ')} (${foldClips.length} clips), clean`) : await withFsddNormTargets(before, fsdd.dir);
  fs.writeFileSync(file, after);
  process.stdout.write(`${file}: ${before.length} -> ${after.length} bytes\n`);
}
