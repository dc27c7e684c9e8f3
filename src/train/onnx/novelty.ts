import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { ModelError } from '../../errors.js';
import { METADATA_KEYS, MODEL_OUTPUT_NAME } from '../../model/metadata.js';
import { parseModelMetadata } from '../../model/read-metadata.js';
import { type FsddClip } from '../../data/clips.js';
import { loadClip } from '../../data/local.js';
import { type FeatureBackend } from '../../features/backend.js';
import { type AudioInput } from '../../model/recognizer.js';
import { makeNoise, mixAtSnr } from '../augment.js';
import { type SyntheticSet, loadWordAudio, wordExcerpt } from '../dataset.js';
import { Rng } from '../random.js';
import { probeModel } from './probe.js';
import { type Graph, type GraphNode, decodeModel, encodeModel, int, ints, sortTopologically, withGraphOutputs } from './graph.js';

/**
 * A novelty gate: words a model never heard often get a digit's top probability while their pooled
 * embedding (the members' global-average-pool outputs, concatenated) lies far from every digit's.
 * The gate scores an embedding e as
 *   s(e) = min_c |W_d (e - mu_c)|^2 - |W_n (e - mu_n)|^2
 * (the Mahalanobis distance to the nearest digit class under the digits' pooled covariance, minus
 * the distance to the "none" clips' own Gaussian; W are whitening matrices of the covariances shrunk
 * toward their mean variance) and, above a threshold (a percentile of the training digits' scores),
 * moves almost all of the digits' probability to "none". It is appended to the ONNX graph, so every
 * consumer of the model runs it unchanged. A model-building tool (scripts/build-default-model.ts
 * --novelty-gate, scripts/novelty-gate.ts), not part of the published library: ml-matrix, which it
 * fits with, is a devDependency.
 */
export interface NoveltyGate {
  dims: number;
  /** Directions each distance is measured along (dims: the whole Mahalanobis distance). */
  rank: number;
  /** [dims x rank], applied as e W (row vector). */
  wDigits: Float32Array;
  /** [10 x rank], the digit class means already projected by wDigits. */
  centres: Float32Array;
  wNone: Float32Array;
  /** [rank], the none mean projected by wNone. */
  noneCentre: Float32Array;
  threshold: number;
  /** What the threshold is: the quantile of the training digits' scores it sits at, and their count. */
  quantile: number;
  fittedOn: { digits: number; none: number };
  shrink: number;
}

export interface NoveltyFitOptions {
  /** Share of the training digits whose score the threshold keeps below it (default 0.995). */
  quantile?: number;
  /** Covariance shrinkage toward the mean variance, 0..1 (default 0.1). */
  shrink?: number;
  /**
   * Whitened directions each distance keeps (default: all). The digit distance keeps those the "none"
   * clips stray furthest from their nearest digit along, the none distance those the digits lie
   * furthest from "none" along: a smaller gate that keeps the directions that tell them apart.
   */
  rank?: number;
}

/** What a gated model's training metadata says about its gate (`training.novelty`). */
export interface NoveltyRecord {
  threshold: number;
  quantile: number;
  shrink: number;
  rank: number;
  fittedOn: { digits: number; none: number };
  moved: number;
}

/** Share of the digits' probability a gated input gives to "none". */
const MOVED = 0.99;

/** Graph outputs a fused resnet-se / cnn ensemble pools its members' features into (m0/gap, m1/gap, ...). */
function pooledOutputNames(g: Graph): string[] {
  return g.nodes.map((n) => n.outputs[0]).filter((o) => /^m\d+\/gap$/.test(o));
}

function whitening(rows: number[][], groupOf: (i: number) => number, means: Matrix, shrink: number): Matrix {
  const dims = means.columns;
  const centred = new Matrix(rows.map((r, i) => r.map((v, j) => v - means.get(groupOf(i), j))));
  const cov = centred.transpose().mmul(centred).div(rows.length);
  const meanVariance = cov.trace() / dims;
  const shrunk = cov.mul(1 - shrink).add(Matrix.eye(dims).mul(shrink * meanVariance));
  const { realEigenvalues, eigenvectorMatrix } = new EigenvalueDecomposition(shrunk, { assumeSymmetric: true });
  if (realEigenvalues.some((v) => !(v > 0))) throw new ModelError('novelty gate: the embeddings\' covariance is singular; use shrink > 0');
  return eigenvectorMatrix.mulRowVector(Matrix.rowVector(realEigenvalues.map((v) => 1 / Math.sqrt(v))));
}

/** The k unit directions the rows' second moment is largest along, as columns. */
function topDirections(rows: Matrix, k: number): Matrix {
  const { realEigenvalues, eigenvectorMatrix } = new EigenvalueDecomposition(rows.transpose().mmul(rows), { assumeSymmetric: true });
  const order = realEigenvalues.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, k).map(([, i]) => i);
  return eigenvectorMatrix.subMatrixColumn(order);
}

function meansOf(rows: number[][], groupOf: (i: number) => number, groups: number): Matrix {
  const dims = rows[0].length;
  const sums = Matrix.zeros(groups, dims);
  const counts = new Array<number>(groups).fill(0);
  rows.forEach((r, i) => {
    const g = groupOf(i);
    counts[g]++;
    r.forEach((v, j) => sums.set(g, j, sums.get(g, j) + v));
  });
  if (counts.some((c) => c === 0)) throw new ModelError(`novelty gate: every digit needs training embeddings (counts ${counts.join(', ')})`);
  return sums.divColumnVector(counts);
}

/** The graph outputs a fused ensemble pools its members' features into; a ModelError when there are none. */
function pooledNames(model: Uint8Array): string[] {
  const names = pooledOutputNames(decodeModel(model).graph);
  if (names.length === 0) throw new ModelError('the model has no member pooling outputs (m<k>/gap): a fused ensemble of pooled members is needed');
  return names;
}

/** The names of a fused ensemble's pooled member embeddings, and the model with them as extra graph outputs. */
export function withPooledOutputs(model: Uint8Array): { bytes: Uint8Array; names: string[] } {
  const names = pooledNames(model);
  return { bytes: withGraphOutputs(model, names), names };
}

/** Each input's pooled embedding (members concatenated) and probabilities, fed as the recognizer feeds the model. */
export async function pooledEmbeddings(model: Uint8Array, inputs: readonly AudioInput[]): Promise<{ embeddings: number[][]; probabilities: Float32Array[] }> {
  const rows = await probeModel(model, pooledNames(model), inputs);
  return { probabilities: rows.map(([p]) => p), embeddings: rows.map(([, ...pools]) => pools.flatMap((x) => Array.from(x))) };
}

/** What a gate is fitted on: labelled digits and "none" clips, as audio. */
export interface NoveltyFitSet {
  digits: AudioInput[];
  labels: number[];
  none: AudioInput[];
}

/**
 * The training digits (FSDD clips and the synthetic speakers'), each as on disk and once more in
 * babble of the other FSDD clips at 0-20 dB SNR (seeded): the model was trained on noisy digits, and a
 * gate fitted on clean ones alone takes noisy digits for novel. "none": the synthetic set's words, a
 * phrase (a real prompt) by a seeded excerpt of it, as training draws them.
 */
export function noveltyFitSet(fsddTrain: readonly FsddClip[], synthetic: SyntheticSet, sampleRate: number, backend: FeatureBackend, seed = 1): NoveltyFitSet {
  const clips = [...fsddTrain, ...synthetic.digits];
  const audio = clips.map((c) => loadClip(c, { sampleRate, backend }).samples);
  const pool = { clips: audio.slice(0, fsddTrain.length) };
  const rng = new Rng(seed);
  const noisy = audio.map((a) => mixAtSnr(a, makeNoise('babble', a.length, rng, pool), 20 * rng.next()));
  return {
    digits: [...audio, ...noisy].map((samples) => ({ samples, sampleRate })),
    labels: [...clips, ...clips].map((c) => c.digit),
    // A word is given as its file (the recognizer cuts it to speech at the file's own rate, as it does in use).
    none: loadWordAudio(synthetic.words, sampleRate, backend).map((a, i) => {
      const excerpt = wordExcerpt(a, sampleRate, rng);
      return excerpt === a ? synthetic.words[i] : { samples: excerpt, sampleRate };
    }),
  };
}

/** Fits the gate on the model's own embeddings of a fit set. */
export async function fitNoveltyGateOnAudio(model: Uint8Array, set: NoveltyFitSet, options: NoveltyFitOptions = {}): Promise<NoveltyGate> {
  const d = await pooledEmbeddings(model, set.digits);
  const n = await pooledEmbeddings(model, set.none);
  return fitNoveltyGate(d.embeddings, set.labels, n.embeddings, options);
}

/** Fits the gate on training digits' embeddings (labels 0-9) and "none" clips' embeddings. */
export function fitNoveltyGate(digits: number[][], labels: readonly number[], none: number[][], options: NoveltyFitOptions = {}): NoveltyGate {
  const quantile = options.quantile ?? 0.995;
  const shrink = options.shrink ?? 0.1;
  if (!(quantile > 0 && quantile < 1)) throw new ModelError(`novelty gate: quantile ${quantile} must be between 0 and 1`);
  if (!(shrink > 0 && shrink < 1)) throw new ModelError(`novelty gate: shrink ${shrink} must be between 0 and 1`);
  if (digits.length !== labels.length || digits.length === 0 || none.length === 0) {
    throw new ModelError(`novelty gate: ${digits.length} digit embeddings with ${labels.length} labels and ${none.length} "none" embeddings`);
  }
  const dims = digits[0].length;
  if ([...digits, ...none].some((r) => r.length !== dims || r.some((v) => !Number.isFinite(v)))) throw new ModelError(`novelty gate: embeddings must all be ${dims} finite numbers`);
  const rank = options.rank ?? dims;
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= dims)) throw new ModelError(`novelty gate: rank ${rank} must be a whole number from 1 to ${dims}`);
  const digitMeans = meansOf(digits, (i) => labels[i], 10);
  const noneMean = meansOf(none, () => 0, 1);
  let wDigits = whitening(digits, (i) => labels[i], digitMeans, shrink);
  let wNone = whitening(none, () => 0, noneMean, shrink);
  if (rank < dims) {
    const centres = digitMeans.mmul(wDigits).to2DArray();
    const strays = new Matrix(none).mmul(wDigits);
    for (let i = 0; i < strays.rows; i++) {
      const z = strays.getRow(i);
      const dists = centres.map((c) => z.reduce((s, v, j) => s + (v - c[j]) ** 2, 0));
      const nearest = centres[dists.indexOf(Math.min(...dists))];
      strays.setRow(i, z.map((v, j) => v - nearest[j]));
    }
    wDigits = wDigits.mmul(topDirections(strays, rank));
    const apart = new Matrix(digits).mmul(wNone).subRowVector(noneMean.mmul(wNone).getRow(0));
    wNone = wNone.mmul(topDirections(apart, rank));
  }
  const gate: NoveltyGate = {
    dims,
    rank,
    wDigits: Float32Array.from(wDigits.to1DArray()),
    centres: Float32Array.from(digitMeans.mmul(wDigits).to1DArray()),
    wNone: Float32Array.from(wNone.to1DArray()),
    noneCentre: Float32Array.from(noneMean.mmul(wNone).to1DArray()),
    threshold: 0,
    quantile,
    fittedOn: { digits: digits.length, none: none.length },
    shrink,
  };
  const scores = digits.map((e) => noveltyScore(gate, e)).sort((a, b) => a - b);
  gate.threshold = scores[Math.min(scores.length - 1, Math.floor(quantile * scores.length))];
  return gate;
}

/** s(e) as the graph computes it (float32 weights, float64 sums). */
export function noveltyScore(gate: NoveltyGate, e: ArrayLike<number>): number {
  const { dims, rank } = gate;
  const project = (w: Float32Array) => {
    const z = new Float64Array(rank);
    for (let j = 0; j < dims; j++) for (let i = 0; i < rank; i++) z[i] += e[j] * w[j * rank + i];
    return z;
  };
  const sq = (z: Float64Array, centres: Float32Array, at: number) => z.reduce((s, v, i) => s + (v - centres[at + i]) ** 2, 0);
  const z = project(gate.wDigits);
  let nearest = Infinity;
  for (let c = 0; c < 10; c++) nearest = Math.min(nearest, sq(z, gate.centres, c * rank));
  return nearest - sq(project(gate.wNone), gate.noneCentre, 0);
}

/** Whether the gate moves an input with this embedding to "none". */
export const isNovel = (gate: NoveltyGate, e: ArrayLike<number>) => noveltyScore(gate, e) > gate.threshold;

/**
 * The model with the gate after its output: p' = p (1 - r k mask) + r k sum(p mask) onehot(none),
 * r = [s(e) > threshold], k = 0.99, mask = the digit labels. The gate's description goes into the
 * model's training metadata (novelty).
 */
export function appendNoveltyGate(model: Uint8Array, gate: NoveltyGate): Uint8Array {
  const meta = parseModelMetadata(model, 'the model');
  const noneIndex = meta.labels.indexOf('none');
  if (noneIndex < 0) throw new ModelError('a novelty gate needs a model with a "none" label');
  if (meta.precision !== 'fp32') throw new ModelError(`append the novelty gate to the fp32 model, then quantize (this one is ${meta.precision})`);
  const m = decodeModel(model);
  const g = m.graph;
  if (g.nodes.some((n) => n.name.startsWith('novelty/'))) throw new ModelError('the model already has a novelty gate');
  const pools = pooledOutputNames(g);
  if (pools.length === 0) throw new ModelError('the model has no member pooling outputs (m<k>/gap) to gate on');
  const labels = meta.labels.length;
  const { dims, rank } = gate;
  const f32 = (name: string, shape: number[], data: ArrayLike<number>) => g.initializers.set(name, { name, type: 'float', dims: shape, data: Float32Array.from(data) });
  const i64 = (name: string, values: number[]) => g.initializers.set(name, { name, type: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
  // Both projections as one [dims x 2 rank] weight: one MatMul, and one tensor for the quantizer.
  const w = new Float32Array(dims * 2 * rank);
  for (let j = 0; j < dims; j++) {
    w.set(gate.wDigits.subarray(j * rank, (j + 1) * rank), j * 2 * rank);
    w.set(gate.wNone.subarray(j * rank, (j + 1) * rank), j * 2 * rank + rank);
  }
  f32('novelty/w', [dims, 2 * rank], w);
  f32('novelty/centres', [10, rank], gate.centres);
  f32('novelty/none_centre', [1, rank], gate.noneCentre);
  f32('novelty/threshold', [], [gate.threshold]);
  f32('novelty/moved', [], [MOVED]);
  f32('novelty/one', [], [1]);
  f32('novelty/digit_mask', [labels], meta.labels.map((_, k) => (k === noneIndex ? 0 : 1)));
  f32('novelty/none_hot', [labels], meta.labels.map((_, k) => (k === noneIndex ? 1 : 0)));
  i64('novelty/axis1', [1]);
  i64('novelty/axis2', [2]);
  i64('novelty/halves', [rank, rank]);
  const ungated = 'novelty/ungated';
  for (const n of g.nodes) n.outputs = n.outputs.map((o) => (o === MODEL_OUTPUT_NAME ? ungated : o));
  const add = (op: string, inputs: string[], output: string, attrs: GraphNode['attrs'] = {}) => g.nodes.push({ name: `${output}/${op}`, op, inputs, outputs: [output], attrs });
  add('Concat', pools, 'novelty/e', { axis: int(1) });
  add('MatMul', ['novelty/e', 'novelty/w'], 'novelty/zz');
  g.nodes.push({ name: 'novelty/split', op: 'Split', inputs: ['novelty/zz', 'novelty/halves'], outputs: ['novelty/z', 'novelty/zn'], attrs: { axis: int(1) } });
  add('Unsqueeze', ['novelty/z', 'novelty/axis1'], 'novelty/z3');
  add('Sub', ['novelty/z3', 'novelty/centres'], 'novelty/zd');
  add('Mul', ['novelty/zd', 'novelty/zd'], 'novelty/zd2');
  add('ReduceSum', ['novelty/zd2', 'novelty/axis2'], 'novelty/digit_dist', { keepdims: int(0) });
  add('ReduceMin', ['novelty/digit_dist'], 'novelty/nearest', { axes: ints([1]), keepdims: int(1) });
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
  const training = JSON.parse(m.metadata[METADATA_KEYS.training] ?? '{}') as Record<string, unknown>;
  const { threshold, quantile, shrink, fittedOn } = gate;
  const novelty: NoveltyRecord = { threshold: +threshold.toFixed(4), quantile, shrink, rank, fittedOn, moved: MOVED };
  m.metadata[METADATA_KEYS.training] = JSON.stringify({ ...training, novelty });
  // The ungated model's figures are not the gated one's: unmeasured until measured again (as a fused ensemble's).
  m.metadata[METADATA_KEYS.metrics] = JSON.stringify({});
  return encodeModel(m);
}
