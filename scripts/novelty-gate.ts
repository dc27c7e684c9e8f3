/**
 * The novelty gate (src/train/onnx/novelty.ts) on a fused model, fitted on the data the model was
 * trained on: FSDD's official train split plus the synthetic speakers' digits, and their "none" words.
 *   npx tsx scripts/novelty-gate.ts [--model models/default.onnx] [--quantile 0.995] [--shrink 0.1]
 *       [--data DIR] [--synthetic DIR] --out gated.onnx
 * writes the fp32 model with the gate in its graph (then `scripts/build-default-model.ts --from-model
 * gated.onnx` quantizes and measures it; `bench/stream-errors.ts --model gated.onnx` streams with it).
 *
 * What it costs strangers' digits, per leave-one-speaker-out fold (each fold's members from
 * `digits train --loso S --fold-models`, fused; the gate fitted on that fold's own training data, i.e.
 * every other FSDD speaker plus the synthetic digits):
 *   npx tsx scripts/novelty-gate.ts --loso RUN_DIR [RUN_DIR ...] [--quantile Q] [--shrink S]
 * prints each held-out speaker's top-class accuracy without and with the gate.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type FsddClip, listFsddClips } from '../src/data/clips.js';
import { loadFsdd } from '../src/data/fsdd.js';
import { officialSplit } from '../src/data/splits.js';
import { DigitRecognizer } from '../src/model/recognizer.js';
import { MODEL_OUTPUT_NAME } from '../src/model/metadata.js';
import { defaultSyntheticDir, findSynthetic } from '../src/train/dataset.js';
import { fuseEnsemble } from '../src/train/onnx/fuse.js';
import { appendNoveltyGate, fitNoveltyGate, isNovel, withPooledOutputs, type NoveltyGate } from '../src/train/onnx/novelty.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', default: 'models/default.onnx' },
    quantile: { type: 'string', default: '0.995' },
    shrink: { type: 'string', default: '0.1' },
    data: { type: 'string' },
    synthetic: { type: 'string' },
    out: { type: 'string' },
    loso: { type: 'boolean' },
  },
});
const fit = { quantile: Number(values.quantile), shrink: Number(values.shrink) };
if (values.loso ? positionals.length === 0 : !values.out) {
  process.stderr.write('usage: npx tsx scripts/novelty-gate.ts [--model M] [--quantile Q] [--shrink S] [--data DIR] [--synthetic DIR] --out FILE\n' +
    '       npx tsx scripts/novelty-gate.ts --loso RUN_DIR [RUN_DIR ...] [--quantile Q] [--shrink S] [--data DIR] [--synthetic DIR]\n');
  process.exit(2);
}

/** Each input's pooled embedding (members concatenated) and probabilities, as the recognizer feeds the model. */
async function embed(model: Uint8Array, inputs: string[]): Promise<{ embeddings: number[][]; probabilities: Float32Array[] }> {
  const { bytes, names } = withPooledOutputs(model);
  const recognizer = await DigitRecognizer.load({ model: bytes });
  const embeddings: number[][] = [];
  const probabilities: Float32Array[] = [];
  for (let i = 0; i < inputs.length; i += 64) {
    for (const [p, ...pools] of await recognizer.graphOutputs(inputs.slice(i, i + 64), [MODEL_OUTPUT_NAME, ...names])) {
      probabilities.push(p);
      embeddings.push(pools.flatMap((x) => Array.from(x)));
    }
  }
  await recognizer.dispose();
  return { embeddings, probabilities };
}

const fsdd = await loadFsdd({ data: values.data });
const clips = listFsddClips(fsdd.dir);
const synthetic = findSynthetic(values.synthetic ?? defaultSyntheticDir());

async function fitOn(model: Uint8Array, train: FsddClip[]): Promise<NoveltyGate> {
  const digitClips = [...train, ...synthetic.digits];
  const digits = await embed(model, digitClips.map((c) => c.path));
  const none = await embed(model, synthetic.words);
  return fitNoveltyGate(digits.embeddings, digitClips.map((c) => c.digit), none.embeddings, fit);
}
const describe = (gate: NoveltyGate) =>
  `threshold ${gate.threshold.toFixed(2)} (the ${(100 * gate.quantile).toFixed(1)}th percentile of ${gate.fittedOn.digits} training digits' scores; ${gate.fittedOn.none} "none" clips)`;

if (!values.loso) {
  const model = new Uint8Array(fs.readFileSync(values.model));
  const gate = await fitOn(model, officialSplit(clips).train);
  const gated = appendNoveltyGate(model, gate);
  fs.mkdirSync(path.dirname(path.resolve(values.out!)), { recursive: true });
  fs.writeFileSync(values.out!, gated);
  process.stdout.write(`${describe(gate)}\nwrote ${values.out} (${gated.length} bytes; ${values.model}: ${model.length})\n`);
} else {
  const modelOf = (run: string, speaker: string) => path.join(run, speaker, 'model.onnx');
  const speakers = [...new Set(clips.map((c) => c.speaker))].sort().filter((s) => positionals.every((r) => fs.existsSync(modelOf(r, s))));
  if (speakers.length === 0) {
    process.stderr.write('no speaker has a fold model (<run>/<speaker>/model.onnx) in every run; train with --loso ... --fold-models\n');
    process.exit(1);
  }
  const argmax = (p: Float32Array) => p.reduce((best, v, k) => (v > p[best] ? k : best), 0);
  for (const speaker of speakers) {
    const members = positionals.map((r) => new Uint8Array(fs.readFileSync(modelOf(r, speaker))));
    const model = members.length > 1 ? fuseEnsemble(members, { sources: positionals }) : members[0];
    const gate = await fitOn(model, clips.filter((c) => c.speaker !== speaker));
    const held = clips.filter((c) => c.speaker === speaker);
    const { embeddings, probabilities } = await embed(model, held.map((c) => c.path));
    const right = held.map((c, i) => argmax(probabilities[i]) === c.digit);
    const novel = embeddings.map((e) => isNovel(gate, e));
    const plain = right.filter(Boolean).length;
    const gatedRight = right.filter((r, i) => r && !novel[i]).length;
    const pct = (n: number) => `${((100 * n) / held.length).toFixed(1)}%`;
    process.stdout.write(`${speaker}: ${pct(plain)} -> ${pct(gatedRight)} with the gate; it moved ${novel.filter(Boolean).length} of ${held.length} clips to "none" (${plain - gatedRight} of them right before); ${describe(gate)}\n`);
  }
}
