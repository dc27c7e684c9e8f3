/**
 * How much a short labelled enrollment would win on a voice the model never heard: for each
 * leave-one-speaker-out fold model (`digits train --loso S --fold-models` writes <run>/<S>/model.onnx),
 * the held-out speaker's last takes of each digit (the highest take numbers) are the enrollment ("say 0 to 9"),
 * the model's last layer (the Gemm the softmax reads) is refitted on their pooled embeddings, and
 * the speaker's other clips are scored before and after.
 *   npx tsx scripts/loso-enroll.ts RUN_DIR [RUN_DIR ...] [--data DIR] [--per-digit 1,3] [--l2 0.1] [--steps 300] [--json]
 * The refit: softmax cross-entropy on the enrollment clips plus l2 × the squared distance to the
 * trained weights, full-batch gradient descent (rate 0.05). A measurement, not a library feature.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readWavFile } from '../src/audio/index.js';
import { type FsddClip, listFsddClips } from '../src/data/clips.js';
import { loadFsdd } from '../src/data/fsdd.js';
import { DigitRecognizer } from '../src/model/recognizer.js';
import { MODEL_OUTPUT_NAME } from '../src/model/metadata.js';
import { decodeModel, encodeModel } from '../src/train/onnx/graph.js';

const { values, positionals: runs } = parseArgs({
  allowPositionals: true,
  options: { data: { type: 'string' }, 'per-digit': { type: 'string' }, l2: { type: 'string' }, steps: { type: 'string' }, json: { type: 'boolean' } },
});
const perDigitCounts = (values['per-digit'] ?? '1,3').split(',').map(Number);
const l2 = Number(values.l2 ?? 0.1);
const steps = Number(values.steps ?? 300);
if (runs.length === 0 || perDigitCounts.some((k) => !(Number.isInteger(k) && k >= 1 && k <= 25)) || !(l2 >= 0) || !(steps >= 1)) {
  process.stderr.write('usage: npx tsx scripts/loso-enroll.ts RUN_DIR [RUN_DIR ...] [--data DIR] [--per-digit 1,3] [--l2 0.1] [--steps 300] [--json]\n');
  process.exit(2);
}

interface Clip {
  digit: number;
  take: number;
  embedding: number[];
  probabilities: Float32Array;
}

const fsddClips = listFsddClips((await loadFsdd({ data: values.data })).dir);

/** The held-out speaker's clips through the fold model, with the pooled embedding the last layer reads. */
async function speakerClips(modelPath: string, speaker: string): Promise<{ clips: Clip[]; weights: number[][]; bias: number[] }> {
  const model = decodeModel(new Uint8Array(fs.readFileSync(modelPath)));
  const last = model.graph.nodes.filter((n) => n.op === 'Gemm').pop();
  const pool = last && model.graph.nodes.find((n) => n.outputs.includes(last.inputs[0]));
  if (!last || !pool || model.graph.nodes.some((n) => n !== last && n.inputs.includes(pool.outputs[0])))
    throw new Error(`${modelPath}: not a single model whose last layer reads a pooled embedding (a fused ensemble is not supported)`);
  const w = model.graph.initializers.get(last.inputs[1])!;
  const b = model.graph.initializers.get(last.inputs[2])!;
  const transB = last.attrs.transB?.kind === 'int' && last.attrs.transB.v === 1;
  const [rows, cols] = w.dims;
  const dims = transB ? cols : rows;
  const classes = transB ? rows : cols;
  const at = (i: number, k: number) => (w.data as Float32Array)[transB ? k * dims + i : i * classes + k];
  const weights = Array.from({ length: dims }, (_, i) => Array.from({ length: classes }, (_, k) => at(i, k)));
  const bias = Array.from(b.data as Float32Array);
  model.graph.outputs.push({ name: pool.outputs[0], type: 'float', shape: null });
  const recognizer = await DigitRecognizer.load({ model: encodeModel(model) });
  const clips: Clip[] = [];
  try {
    const files: FsddClip[] = fsddClips.filter((c) => c.speaker === speaker);
    for (let i = 0; i < files.length; i += 64) {
      const batch = files.slice(i, i + 64);
      const inputs = await Promise.all(batch.map(async (f) => readWavFile(f.path)));
      const outs = await recognizer.graphOutputs(inputs, [MODEL_OUTPUT_NAME, pool.outputs[0]]);
      outs.forEach(([probabilities, embedding], j) => clips.push({ digit: batch[j].digit, take: batch[j].take, probabilities, embedding: Array.from(embedding) }));
    }
  } finally {
    await recognizer.dispose();
  }
  return { clips, weights, bias };
}

const argmaxDigit = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < 10; i++) if (v[i] > v[best]) best = i;
  return best;
};
const logits = (e: number[], w: number[][], b: number[]) => b.map((bk, k) => e.reduce((s, v, i) => s + v * w[i][k], bk));

/** The last layer refitted on the enrollment clips (see the header). */
function refit(enroll: Clip[], w0: number[][], b0: number[]): { w: number[][]; b: number[] } {
  const w = w0.map((r) => [...r]);
  const b = [...b0];
  const rate = 0.05;
  for (let s = 0; s < steps; s++) {
    const gw = w0.map((r) => r.map(() => 0));
    const gb = b0.map(() => 0);
    for (const c of enroll) {
      const z = logits(c.embedding, w, b);
      const m = Math.max(...z);
      const ex = z.map((v) => Math.exp(v - m));
      const sum = ex.reduce((a, v) => a + v, 0);
      ex.forEach((v, k) => {
        const g = (v / sum - (k === c.digit ? 1 : 0)) / enroll.length;
        gb[k] += g;
        c.embedding.forEach((e, i) => (gw[i][k] += g * e));
      });
    }
    w.forEach((r, i) => r.forEach((v, k) => (r[k] = v - rate * (gw[i][k] + l2 * (v - w0[i][k])))));
    b.forEach((v, k) => (b[k] = v - rate * (gb[k] + l2 * (v - b0[k]))));
  }
  return { w, b };
}

const rows: { run: string; speaker: string; perDigit: number; before: number; after: number; testClips: number }[] = [];
for (const run of runs) {
  const speakers = fs.readdirSync(run).filter((s) => fs.existsSync(path.join(run, s, 'model.onnx')));
  if (speakers.length === 0) process.stderr.write(`${run}: no <speaker>/model.onnx (train with --loso ... --fold-models)\n`);
  for (const speaker of speakers.sort()) {
    const { clips, weights, bias } = await speakerClips(path.join(run, speaker, 'model.onnx'), speaker);
    for (const k of perDigitCounts) {
      // Each digit's k highest takes.
      const enroll = clips.filter((c) => clips.filter((o) => o.digit === c.digit && o.take > c.take).length < k);
      const test = clips.filter((c) => !enroll.includes(c));
      const { w, b } = refit(enroll, weights, bias);
      const before = test.filter((c) => argmaxDigit(c.probabilities) === c.digit).length / test.length;
      const after = test.filter((c) => argmaxDigit(logits(c.embedding, w, b)) === c.digit).length / test.length;
      rows.push({ run, speaker, perDigit: k, before, after, testClips: test.length });
      if (!values.json) console.log(`${run}\t${speaker}\t${k} per digit\t${(100 * before).toFixed(1)}% -> ${(100 * after).toFixed(1)}% (${test.length} clips)`);
    }
  }
}
if (values.json) console.log(JSON.stringify({ l2, steps, rows }, null, 2));
else
  for (const k of perDigitCounts) {
    const r = rows.filter((x) => x.perDigit === k);
    const mean = (f: (x: (typeof r)[number]) => number) => (100 * r.reduce((s, x) => s + f(x), 0)) / r.length;
    if (r.length) console.log(`mean over ${r.length} folds, ${k} per digit: ${mean((x) => x.before).toFixed(1)}% -> ${mean((x) => x.after).toFixed(1)}%`);
  }
