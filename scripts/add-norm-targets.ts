/**
 * Measures a model's normalization targets (each conv output channel's mean and variance over the
 * FSDD train split, clean) and writes them into the file's metadata, in place: what
 * `DigitRecognizer.adaptNormalization`, `NormAdapter`, `digits eval --adapt-norm` and
 * `digits listen --adapt-norm` adapt to (src/model/norm-adapt.ts). scripts/build-default-model.ts
 * does this for the files it writes.
 *   npx tsx scripts/add-norm-targets.ts MODEL.onnx [MODEL.onnx ...] [--data DIR]
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadFsdd } from '../src/data/fsdd.js';
import { withFsddNormTargets } from '../src/model/norm-targets.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { data: { type: 'string' } } });
if (positionals.length === 0) {
  process.stderr.write('usage: npx tsx scripts/add-norm-targets.ts MODEL.onnx [MODEL.onnx ...] [--data DIR]\n');
  process.exit(2);
}
const fsdd = await loadFsdd({ data: values.data });
for (const file of positionals) {
  const before = fs.readFileSync(file);
  const after = await withFsddNormTargets(new Uint8Array(before), fsdd.dir);
  fs.writeFileSync(file, after);
  process.stdout.write(`${file}: ${before.length} -> ${after.length} bytes\n`);
}
