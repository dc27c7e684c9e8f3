/**
 * Experiment (not in the shipped model): a novelty gate on a fused model. Words the model never heard
 * often get a digit's top probability, but their pooled embeddings (the members' global-average-pool
 * outputs, concatenated) lie far from every digit's. The gate scores each input
 *   s = min_c (e - mu_c)' P_d (e - mu_c) - (e - mu_n)' P_n (e - mu_n)
 * (Mahalanobis distance to the nearest digit class, tied digit covariance, minus the distance to the
 * "none" training clips' own Gaussian; both covariances shrunk toward their mean variance) and, where
 * s exceeds the given quantile of the training digits' scores, moves 99% of the digits' probability
 * to "none", inside the ONNX graph, so the recognizer, the listener and the kiosk run it unchanged.
 * Fitted on the FSDD official train split plus the synthetic speakers' digits; "none" on their words.
 *   npx tsx scripts/novelty-gate.ts [--model models/default.onnx] [--quantile 0.995] [--shrink 0.1]
 *       [--data DIR] [--synthetic DIR] --out gated.onnx
 * then, e.g.: npx tsx bench/stream-errors.ts --model gated.onnx --strings 0 --words bench|real|dev
 * The input must be an fp32 fused model with a "none" label (the gate's matrices are left fp32).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import * as ort from 'onnxruntime-node';
import { listFsddClips } from '../src/data/clips.js';
import { loadFsdd } from '../src/data/fsdd.js';
import { officialSplit } from '../src/data/splits.js';
import { MODEL_OUTPUT_NAME } from '../src/model/metadata.js';
import { DigitRecognizer } from '../src/model/recognizer.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { defaultSyntheticDir, findSynthetic } from '../src/train/dataset.js';
import { type GraphNode, decodeModel, encodeModel, int, ints, sortTopologically } from '../src/train/onnx/graph.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/default.onnx' },
    quantile: { type: 'string', default: '0.995' },
    shrink: { type: 'string', default: '0.1' },
    data: { type: 'string' },
    synthetic: { type: 'string' },
    out: { type: 'string' },
  },
});
const quantile = Number(values.quantile);
const shrink = Number(values.shrink);
if (!values.out || !(quantile > 0 && quantile <= 1) || !(shrink >= 0 && shrink < 1)) {
  process.stderr.write('usage: npx tsx scripts/novelty-gate.ts [--model M] [--quantile 0..1] [--shrink 0..1) [--data DIR] [--synthetic DIR] --out FILE\n');
  process.exit(2);
}
const bytes = new Uint8Array(fs.readFileSync(values.model));
const meta = parseModelMetadata(bytes, values.model);
const noneIndex = meta.labels.indexOf('none');
if (meta.precision !== 'fp32' || noneIndex < 0) throw new Error(`${values.model}: needs an fp32 model with a "none" label`);
const model = decodeModel(bytes);
const pools = model.graph.nodes.map((n) => n.outputs[0]).filter((o) => /^m\d+\/gap$/.test(o));
if (pools.length === 0) throw new Error(`${values.model}: no member pooling outputs (m<k>/gap); a fused resnet-se/cnn ensemble is expected`);

/** Pooled embeddings (members concatenated) of each input, as the recognizer feeds the model. */
async function embeddings(inputs: string[]): Promise<number[][]> {
  const probe = decodeModel(bytes);
  probe.graph.outputs.push(...pools.map((name) => ({ name, type: 'float' as const, shape: null })));
  const recognizer = await DigitRecognizer.load({ model: encodeModel(probe) });
  // The recognizer reads only "probabilities"; wrap its session to keep the pooled outputs too
  // (an experiment's reach into a private field, kept here rather than in the library's API).
  const session = (recognizer as unknown as { session: ort.InferenceSession }).session;
  const run = session.run.bind(session);
  const rows: number[][] = [];
  session.run = (async (feeds: ort.InferenceSession.FeedsType) => {
    const out = await run(feeds);
    const n = out[MODEL_OUTPUT_NAME].dims[0];
    for (let i = 0; i < n; i++)
      rows.push(pools.flatMap((p) => {
        const data = out[p].data as Float32Array;
        const d = data.length / n;
        return Array.from(data.subarray(i * d, (i + 1) * d));
      }));
    return out;
  }) as typeof session.run;
  for (let i = 0; i < inputs.length; i += 64) await recognizer.predictBatch(inputs.slice(i, i + 64));
  await recognizer.dispose();
  return rows;
}

const fsdd = await loadFsdd({ data: values.data });
const train = officialSplit(listFsddClips(fsdd.dir)).train;
const synthetic = findSynthetic(values.synthetic ?? defaultSyntheticDir());
const digitClips = [...train, ...synthetic.digits];
process.stderr.write(`embedding ${digitClips.length} training digits and ${synthetic.words.length} "none" clips\n`);
const digitRows = await embeddings(digitClips.map((c) => c.path));
const noneRows = await embeddings(synthetic.words);
const dims = digitRows[0].length;

const meanOf = (rows: number[][]) => Matrix.rowVector(rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length));
/** Whitening W (dims x dims, applied as e W) of the pooled, shrunk covariance of rows around their group means. */
function whitening(groups: number[][][], means: Matrix[]): Matrix {
  const centred = new Matrix(groups.flatMap((g, k) => g.map((r) => r.map((v, j) => v - means[k].get(0, j)))));
  const cov = centred.transpose().mmul(centred).div(centred.rows);
  const mean = cov.trace() / dims;
  const shrunk = cov.mul(1 - shrink).add(Matrix.eye(dims).mul(shrink * mean));
  const { realEigenvalues, eigenvectorMatrix } = new EigenvalueDecomposition(shrunk, { assumeSymmetric: true });
  return eigenvectorMatrix.mulRowVector(Matrix.rowVector(realEigenvalues.map((v) => 1 / Math.sqrt(v))));
}
const byDigit = Array.from({ length: 10 }, (_, d) => digitRows.filter((_, i) => digitClips[i].digit === d));
const digitMeans = byDigit.map(meanOf);
const noneMean = meanOf(noneRows);
const wDigits = whitening(byDigit, digitMeans);
const wNone = whitening([noneRows], [noneMean]);
const centres = new Matrix(digitMeans.map((m) => m.mmul(wDigits).getRow(0)));
const noneCentre = noneMean.mmul(wNone);

const sq = (a: number[], b: number[]) => a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0);
const score = (e: number[]) => {
  const z = Matrix.rowVector(e).mmul(wDigits).getRow(0);
  const zn = Matrix.rowVector(e).mmul(wNone).getRow(0);
  return Math.min(...centres.to2DArray().map((c) => sq(z, c))) - sq(zn, noneCentre.getRow(0));
};
const sorted = digitRows.map(score).sort((a, b) => a - b);
const tau = quantile === 1 ? Infinity : sorted[Math.floor(quantile * sorted.length)];
const noneGated = noneRows.filter((e) => score(e) > tau).length;
process.stdout.write(`threshold ${tau.toFixed(2)}: the ${(100 * quantile).toFixed(1)}th percentile of ${sorted.length} training digits' scores; ` +
  `${noneGated} of ${noneRows.length} "none" training clips lie beyond it\n`);

// The gate, after the members' mean: p' = p * (1 - r k mask) + r k sum(p mask) onehot(none), r = [s > tau], k = 0.99.
const g = model.graph;
const labels = meta.labels.length;
const f32 = (name: string, dimsOf: number[], data: ArrayLike<number>) => g.initializers.set(name, { name, type: 'float', dims: dimsOf, data: Float32Array.from(data) });
const i64 = (name: string, data: number[]) => g.initializers.set(name, { name, type: 'int64', dims: [data.length], data: BigInt64Array.from(data.map(BigInt)) });
f32('novelty/w_digits', [dims, dims], wDigits.to1DArray());
f32('novelty/w_none', [dims, dims], wNone.to1DArray());
f32('novelty/centres', [10, dims], centres.to1DArray());
f32('novelty/none_centre', [1, dims], noneCentre.to1DArray());
f32('novelty/threshold', [], [tau]);
f32('novelty/moved', [], [0.99]);
f32('novelty/one', [], [1]);
f32('novelty/digit_mask', [labels], meta.labels.map((_, k) => (k === noneIndex ? 0 : 1)));
f32('novelty/none_hot', [labels], meta.labels.map((_, k) => (k === noneIndex ? 1 : 0)));
i64('novelty/axis1', [1]);
i64('novelty/axis2', [2]);
const ungated = 'novelty/ungated';
for (const n of g.nodes) n.outputs = n.outputs.map((o) => (o === MODEL_OUTPUT_NAME ? ungated : o));
const add = (op: string, inputs: string[], output: string, attrs: GraphNode['attrs'] = {}) =>
  g.nodes.push({ name: `${output}/${op}`, op, inputs, outputs: [output], attrs });
add('Concat', pools, 'novelty/e', { axis: int(1) });
add('MatMul', ['novelty/e', 'novelty/w_digits'], 'novelty/z');
add('Unsqueeze', ['novelty/z', 'novelty/axis1'], 'novelty/z3');
add('Sub', ['novelty/z3', 'novelty/centres'], 'novelty/zd');
add('Mul', ['novelty/zd', 'novelty/zd'], 'novelty/zd2');
add('ReduceSum', ['novelty/zd2', 'novelty/axis2'], 'novelty/digit_dist', { keepdims: int(0) });
add('ReduceMin', ['novelty/digit_dist'], 'novelty/nearest', { axes: ints([1]), keepdims: int(1) });
add('MatMul', ['novelty/e', 'novelty/w_none'], 'novelty/zn');
add('Sub', ['novelty/zn', 'novelty/none_centre'], 'novelty/znd');
add('Mul', ['novelty/znd', 'novelty/znd'], 'novelty/znd2');
add('ReduceSum', ['novelty/znd2', 'novelty/axis1'], 'novelty/none_dist', { keepdims: int(1) });
add('Sub', ['novelty/nearest', 'novelty/none_dist'], 'novelty/score');
add('Greater', ['novelty/score', 'novelty/threshold'], 'novelty/far');
add('Cast', ['novelty/far'], 'novelty/r', { to: int(1) });
add('Mul', ['novelty/r', 'novelty/moved'], 'novelty/rk');
add('Mul', [ungated, 'novelty/digit_mask'], 'novelty/p_digits');
add('ReduceSum', ['novelty/p_digits', 'novelty/axis1'], 'novelty/digit_mass', { keepdims: int(1) });
add('Mul', ['novelty/digit_mass', 'novelty/rk'], 'novelty/to_none');
add('Mul', ['novelty/rk', 'novelty/digit_mask'], 'novelty/rk_digits');
add('Sub', ['novelty/one', 'novelty/rk_digits'], 'novelty/keep');
add('Mul', [ungated, 'novelty/keep'], 'novelty/kept');
add('Mul', ['novelty/to_none', 'novelty/none_hot'], 'novelty/none_gain');
add('Add', ['novelty/kept', 'novelty/none_gain'], MODEL_OUTPUT_NAME);
sortTopologically(g);
fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
fs.writeFileSync(values.out, encodeModel(model));
process.stdout.write(`wrote ${values.out} (${fs.statSync(values.out).size} bytes; ${values.model}: ${bytes.length})\n`);
