/**
 * The novelty gate (src/train/onnx/novelty.ts) on a fused model, fitted on the data the model was
 * trained on: FSDD's official train split plus the synthetic speakers' digits (clean and in babble),
 * and their "none" words.
 *   npx tsx scripts/novelty-gate.ts [--model models/default.onnx] [--quantile 0.995] [--shrink 0.1] [--rank K]
 *       [--data DIR] [--synthetic DIR] --out gated.onnx
 * writes the fp32 model with the gate in its graph (then `scripts/build-default-model.ts --from-model
 * gated.onnx` quantizes and measures it; `bench/stream-errors.ts --model gated.onnx` streams with it).
 *
 * What it costs strangers' digits, per leave-one-speaker-out fold (each fold's members from
 * `digits train --loso S --fold-models`, fused; the gate fitted on that fold's own training data, i.e.
 * every other FSDD speaker plus the synthetic digits):
 *   npx tsx scripts/novelty-gate.ts --loso RUN_DIR [RUN_DIR ...] [--quantile Q] [--shrink S] [--rank K]
 * prints each held-out speaker's top-class accuracy without and with the gate.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type FsddClip, listFsddClips } from '../src/data/clips.js';
import { loadFsdd } from '../src/data/fsdd.js';
import { officialSplit } from '../src/data/splits.js';
import { loadFeatureBackend } from '../src/features/index.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { defaultSyntheticDir, findSynthetic } from '../src/train/dataset.js';
import { fuseEnsemble } from '../src/train/onnx/fuse.js';
import { appendNoveltyGate, fitNoveltyGateOnAudio, isNovel, noveltyFitSet, pooledEmbeddings, type NoveltyGate } from '../src/train/onnx/novelty.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', default: 'models/default.onnx' },
    quantile: { type: 'string', default: '0.995' },
    shrink: { type: 'string', default: '0.1' },
    rank: { type: 'string' },
    data: { type: 'string' },
    synthetic: { type: 'string' },
    out: { type: 'string' },
    loso: { type: 'boolean' },
  },
});
const fit = { quantile: Number(values.quantile), shrink: Number(values.shrink), rank: values.rank === undefined ? undefined : Number(values.rank) };
if (values.loso ? positionals.length === 0 : !values.out) {
  process.stderr.write('usage: npx tsx scripts/novelty-gate.ts [--model M] [--quantile Q] [--shrink S] [--rank K] [--data DIR] [--synthetic DIR] --out FILE\n' +
    '       npx tsx scripts/novelty-gate.ts --loso RUN_DIR [RUN_DIR ...] [--quantile Q] [--shrink S] [--rank K] [--data DIR] [--synthetic DIR]\n');
  process.exit(2);
}

const fsdd = await loadFsdd({ data: values.data });
const clips = listFsddClips(fsdd.dir);
const synthetic = findSynthetic(values.synthetic ?? defaultSyntheticDir());
const backend = await loadFeatureBackend();

const fitOn = (model: Uint8Array, train: FsddClip[]) =>
  fitNoveltyGateOnAudio(model, noveltyFitSet(train, synthetic, parseModelMetadata(model, 'the model').featureConfig.sampleRate, backend), fit);
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
    const { embeddings, probabilities } = await pooledEmbeddings(model, held.map((c) => c.path));
    const right = held.map((c, i) => argmax(probabilities[i]) === c.digit);
    const novel = embeddings.map((e) => isNovel(gate, e));
    const plain = right.filter(Boolean).length;
    const gatedRight = right.filter((r, i) => r && !novel[i]).length;
    const pct = (n: number) => `${((100 * n) / held.length).toFixed(1)}%`;
    process.stdout.write(`${speaker}: ${pct(plain)} -> ${pct(gatedRight)} with the gate; it moved ${novel.filter(Boolean).length} of ${held.length} clips to "none" (${plain - gatedRight} of them right before); ${describe(gate)}\n`);
  }
}
