import { ort } from '../../model/ort.js';
import { ModelError } from '../../errors.js';
import { METADATA_KEYS, MODEL_INPUT_NAME } from '../../model/metadata.js';
import { NORM_TARGETS_KEY } from '../../model/norm-adapt.js';
import { type GraphNode, type Initializer, type OnnxModel, consumers, decodeModel, encodeModel, graphNames, int, shortenNames, sortTopologically } from './graph.js';
import { removeDeadNodes } from './optimize.js';

/**
 * Static int8 quantization in QDQ form: weights of Conv/Gemm/MatMul become per-channel int8
 * (symmetric, -63..63 unless asked for the full range: see `reduceRange`), biases int32, and activations around those ops get QuantizeLinear/DequantizeLinear
 * pairs with per-tensor uint8 (or int8) parameters calibrated on real features. ONNX Runtime fuses
 * DQ -> op -> Q into integer kernels (QLinearConv, QGemm, ...).
 */

/** One calibration batch: float32 features [batch, numFrames, dims]. */
export interface CalibrationBatch {
  data: Float32Array;
  dims: number[];
}

export interface QuantizeOptions {
  /**
   * How activation ranges are set from the calibration data: 'minmax' (observed extremes) or
   * 'percentile' (drop the most extreme `percentile` tail on each side; default 99.99).
   */
  calibration?: 'minmax' | 'percentile';
  percentile?: number;
  /** uint8 (asymmetric, ONNX Runtime's fast path on x86) or int8 (symmetric) activations. */
  activationType?: 'uint8' | 'int8';
  /** Ops run in int8: a preset of QUANTIZE_OP_SETS (default 'linear') or a list of op types. */
  ops?: keyof typeof QUANTIZE_OP_SETS | string[];
  /**
   * Quantize plain depthwise convolutions (one channel per group) too (default). Leaving them fp32
   * costs a Q/DQ pair around each; on 100x40 maps int8 depthwise measured faster overall.
   */
  depthwise?: boolean;
  /** Quantize convs with one input channel (the first conv on a spectrogram); off by default, see above. */
  singleChannelConv?: boolean;
  /**
   * Weights with at least this many values get 4-bit precision (-7..7 per output channel) instead of
   * 8-bit, stored two per byte (see addPackedInt4): a smaller file, the same int8 kernels. Default
   * Infinity (all 8-bit). Check the accuracy it costs; the few largest layers hold most of the bytes.
   */
  int4MinWeights?: number;
  /**
   * 8-bit weights in -63..63 (7 bits) instead of -127..127 (default true). On x86 CPUs without VNNI
   * (with AVX2 or AVX-512: AMD before Zen 4, Intel before Cascade Lake and Ice Lake), ONNX Runtime
   * multiplies uint8 activations by int8 weights with VPMADDUBSW, which adds each two products into a
   * 16-bit sum that saturates: 2 x 255 x 127 does not fit, 2 x 255 x 63 does. With the full range the
   * same file gives other answers there than where nothing saturates (the shipped default on an AMD
   * EPYC with AVX2, top class in 5 dB babble: 79.3% at full range, 85.7% reduced, 86.0% in fp32). Full
   * range is a little more precise where nothing saturates; choose it only for CPUs with VNNI, and
   * measure there.
   */
  reduceRange?: boolean;
}

const WEIGHTED_OPS = ['Conv', 'Gemm', 'MatMul'];
const INT32_MAX = 2 ** 31 - 1;
/**
 * Op sets: 'linear' quantizes only the weighted ops; 'all' also runs the element-wise and pooling
 * ops that ONNX Runtime has integer kernels for in int8, which saves Q/DQ pairs between them.
 */
const QUANTIZE_OP_SETS = {
  linear: WEIGHTED_OPS,
  // Mul is left out: QLinearMul (swish, SE gates) measured several times slower than fp32 Mul.
  all: [...WEIGHTED_OPS, 'Add', 'Sigmoid', 'LeakyRelu', 'AveragePool', 'GlobalAveragePool'],
} as const;
// Ops that only move or select values: ONNX Runtime runs them on int8 directly when the Q/DQ
// around them share one scale, so quantizing through them saves a dequantize/quantize pair.
const PASS_THROUGH = new Set(['MaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze']);

interface QParams {
  scale: number;
  zeroPoint: number;
}

/** The largest magnitude of a quantized weight: 8 bits, 8 bits in the reduced range (see QuantizeOptions.reduceRange), 4 bits. */
const WEIGHT_LEVELS = { full: 127, reduced: 63, int4: 7 } as const;

/** Calibration features beyond this magnitude are not features (log-mel, MFCC and their normalized forms stay within a few hundred). */
const MAX_CALIBRATION_FEATURE = 1e6;

/**
 * Refuses calibration data that cannot set activation ranges: values that are not features (NaN,
 * infinite or huge), or the same features for every clip (digitally silent clips, a file of
 * zeros), from which the ranges would be those of one input and the int8 model would hear nothing.
 */
function checkCalibrationFeatures(batches: CalibrationBatch[]): void {
  const first = batches[0].data.subarray(0, batches[0].data.length / batches[0].dims[0]);
  let varies = false;
  let clip = 0;
  for (const b of batches) {
    const d = b.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (!(Math.abs(v) <= MAX_CALIBRATION_FEATURE)) throw new ModelError(`calibration clip ${clip + Math.floor(i / first.length)}'s features hold ${v}: not features of audio; check the calibration data`);
      if (!varies && v !== first[i % first.length]) varies = true;
    }
    clip += b.dims[0];
  }
  if (!varies) throw new ModelError('calibration features are the same for every clip (silent or constant clips?): the activation ranges would be those of one input; calibrate on clips of spoken digits');
}

/** Activation ranges for a set of tensors, gathered by running the float model. */
async function calibrate(model: OnnxModel, tensors: string[], batches: CalibrationBatch[], opts: Required<Pick<QuantizeOptions, 'calibration' | 'percentile'>>) {
  const g = model.graph;
  const probe: OnnxModel = {
    ...model,
    graph: { ...g, outputs: [...g.outputs, ...tensors.filter((t) => !g.outputs.some((o) => o.name === t)).map((name) => ({ name, type: 'float' as const, shape: null }))] },
  };
  const session = await ort.InferenceSession.create(encodeModel(probe), { intraOpNumThreads: 1, graphOptimizationLevel: 'basic' });
  const min = new Map<string, number>(tensors.map((t) => [t, Infinity]));
  const max = new Map<string, number>(tensors.map((t) => [t, -Infinity]));
  // Percentiles need the values; a strided sample per tensor keeps memory bounded.
  const samples = new Map<string, number[]>(tensors.map((t) => [t, []]));
  const perTensorBudget = 200_000;
  try {
    for (const b of batches) {
      const out = await session.run({ [MODEL_INPUT_NAME]: new ort.Tensor('float32', b.data, b.dims) }, tensors);
      for (const t of tensors) {
        const d = out[t].data as Float32Array;
        let lo = min.get(t)!;
        let hi = max.get(t)!;
        for (let i = 0; i < d.length; i++) {
          const v = d[i];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        min.set(t, lo);
        max.set(t, hi);
        if (opts.calibration === 'percentile') {
          const s = samples.get(t)!;
          const step = Math.max(1, Math.floor((d.length * batches.length) / perTensorBudget));
          for (let i = 0; i < d.length; i += step) s.push(d[i]);
        }
      }
    }
  } finally {
    await session.release();
  }
  const ranges = new Map<string, [number, number]>();
  for (const t of tensors) {
    let lo = min.get(t)!;
    let hi = max.get(t)!;
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ModelError(`calibration saw no finite values for tensor '${t}'; check the calibration features`);
    if (opts.calibration === 'percentile') {
      const s = Float64Array.from(samples.get(t)!).sort();
      const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round((p / 100) * (s.length - 1))))];
      lo = q(100 - opts.percentile);
      hi = q(opts.percentile);
    }
    ranges.set(t, [lo, hi]);
  }
  return ranges;
}

function activationParams([lo, hi]: [number, number], type: 'uint8' | 'int8'): QParams {
  // The range must contain 0 so that zero (padding, ReLU) is exact.
  const rmin = Math.min(0, lo);
  const rmax = Math.max(0, hi);
  if (type === 'int8') {
    const a = Math.max(Math.abs(rmin), Math.abs(rmax));
    return { scale: a > 0 ? a / 127 : 1, zeroPoint: 0 };
  }
  const scale = rmax - rmin > 0 ? (rmax - rmin) / 255 : 1;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-rmin / scale))) };
}

/**
 * Symmetric per-channel weights along `axis`, as integers in [-levels, levels]; returns them and one
 * scale per channel. 8-bit (63 or 127 levels) scales each channel by its largest magnitude; 4-bit (7
 * levels) is coarse enough that clipping the few largest weights pays, so each channel's clipping
 * ratio is the one in [0.5, 1] with the least squared error.
 */
function quantizeWeights(w: Initializer, axis: number, levels: number, minScales?: Float32Array): { q: Int8Array; scales: Float32Array } {
  const data = w.data as Float32Array;
  const channels = w.dims[axis];
  const inner = w.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chanOf = (i: number) => Math.floor(i / inner) % channels;
  const members: number[][] = Array.from({ length: channels }, () => []);
  for (let i = 0; i < data.length; i++) members[chanOf(i)].push(i);
  const ratios = Array.from({ length: 51 }, (_, k) => 0.5 + k / 100);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const peak = members[c].reduce((m, i) => Math.max(m, Math.abs(data[i])), 0);
    // 127 not 128 (63 not 64, 7 not 8) keeps the range symmetric, which ONNX Runtime's int8 kernels assume.
    scales[c] = peak > 0 ? peak / levels : 1;
    if (!(peak > 0) || levels > WEIGHT_LEVELS.int4) continue;
    let best = Infinity;
    for (const r of ratios) {
      const scale = Math.fround((peak * r) / levels);
      let err = 0;
      for (const i of members[c]) err += (Math.max(-levels, Math.min(levels, Math.round(data[i] / scale))) * scale - data[i]) ** 2;
      if (err < best) {
        best = err;
        scales[c] = scale;
      }
    }
  }
  // A channel whose int32 bias would not fit at its scale (tiny weights, a large bias) is quantized coarser.
  if (minScales) for (let c = 0; c < channels; c++) scales[c] = Math.max(scales[c], minScales[minScales.length === 1 ? 0 : c]);
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) q[i] = Math.max(-levels, Math.min(levels, Math.round(data[i] / scales[chanOf(i)])));
  return { q, scales };
}

/**
 * 4-bit weights in a graph without 4-bit types (opset 17): all of them packed two per byte into
 * one uint8 initializer (byte i holds value i + 8 in its low nibble and value i + half + 8 in its
 * high one), unpacked by integer ops on constants into the int8 tensors the DequantizeLinear
 * nodes read. ONNX Runtime folds these constant ops when it loads the model, so the int8 kernels
 * (QLinearConv, ...) run exactly as for 8-bit weights; only the file is smaller.
 */
function addPackedInt4(weights: { output: string; dims: number[]; q: Int8Array }[], addInit: (base: string, type: Initializer['type'], dims: number[], data: Initializer['data']) => string, fresh: (base: string) => string): GraphNode[] {
  const total = weights.reduce((a, w) => a + w.q.length, 0);
  const half = Math.ceil(total / 2);
  const all = new Int8Array(2 * half);
  let offset = 0;
  for (const w of weights) {
    all.set(w.q, offset);
    offset += w.q.length;
  }
  const packed = new Uint8Array(half);
  for (let i = 0; i < half; i++) packed[i] = (all[i] + 8) | ((all[i + half] + 8) << 4);
  const nodes: GraphNode[] = [];
  const node = (op: string, inputs: string[], attrs: GraphNode['attrs'] = {}, outputs = [fresh(`int4_${op}`)]) => {
    nodes.push({ name: fresh(`int4_${op}_node`), op, inputs, outputs, attrs });
    return outputs[0];
  };
  const sixteen = addInit('int4_16', 'int32', [], Int32Array.of(16));
  const bytes = node('Cast', [addInit('int4_packed', 'uint8', [half], packed)], { to: int(6) });
  const high = node('Div', [bytes, sixteen]);
  const low = node('Sub', [bytes, node('Mul', [high, sixteen])]);
  const nibbles = node('Concat', [low, high], { axis: int(0) });
  const values = node('Cast', [node('Sub', [nibbles, addInit('int4_8', 'int32', [], Int32Array.of(8))])], { to: int(3) });
  const sizes = weights.map((w) => w.q.length);
  const pieces = weights.map(() => fresh('int4_piece'));
  // An odd count leaves one padding value at the end, split off and unused.
  if (2 * half > total) {
    sizes.push(2 * half - total);
    pieces.push(fresh('int4_padding'));
  }
  node('Split', [values, addInit('int4_sizes', 'int64', [sizes.length], BigInt64Array.from(sizes, BigInt))], { axis: int(0) }, pieces);
  weights.forEach((w, k) => node('Reshape', [pieces[k], addInit('int4_shape', 'int64', [w.dims.length], BigInt64Array.from(w.dims, BigInt))], {}, [w.output]));
  return nodes;
}

/** The share of each activation's values kept by `calibration: 'percentile'` when none is given. */
export const DEFAULT_PERCENTILE = 99.99;

/**
 * Quantizes an fp32 spoken-digits ONNX model. `calibrationBatches` should be features of a few
 * hundred training clips (not test clips). The result keeps the metadata with precision "int8" and
 * records how it was calibrated in metadata key spoken_digits.quantization.
 */
export async function quantizeModel(onnxBytes: Uint8Array, calibrationBatches: CalibrationBatch[], options: QuantizeOptions = {}): Promise<Uint8Array> {
  const opts = {
    calibration: options.calibration ?? 'minmax',
    percentile: options.percentile ?? DEFAULT_PERCENTILE,
    activationType: options.activationType ?? 'uint8',
    depthwise: options.depthwise ?? true,
    singleChannelConv: options.singleChannelConv ?? false,
    int4MinWeights: options.int4MinWeights ?? Infinity,
    reduceRange: options.reduceRange ?? true,
    ops: typeof options.ops === 'string' ? [...(QUANTIZE_OP_SETS[options.ops] ?? [])] : (options.ops ?? [...QUANTIZE_OP_SETS.linear]),
  };
  if (typeof options.ops === 'string' && !(options.ops in QUANTIZE_OP_SETS))
    throw new ModelError(`unknown op set '${options.ops}'; use one of ${Object.keys(QUANTIZE_OP_SETS).join(', ')} or a list of op types`);
  if (opts.calibration !== 'minmax' && opts.calibration !== 'percentile') throw new ModelError(`calibration '${String(opts.calibration)}' must be minmax or percentile`);
  if (opts.activationType !== 'uint8' && opts.activationType !== 'int8') throw new ModelError(`activationType '${String(opts.activationType)}' must be uint8 or int8`);
  if (!(opts.percentile > 50 && opts.percentile <= 100)) throw new ModelError(`percentile ${opts.percentile} must be in (50, 100]`);
  if (!(opts.int4MinWeights >= 1)) throw new ModelError(`int4MinWeights ${opts.int4MinWeights} must be a positive count of weights`);
  if (calibrationBatches.length === 0) throw new ModelError('quantization needs at least one calibration batch of features');
  const model = decodeModel(onnxBytes);
  if (model.metadata[METADATA_KEYS.precision] === 'int8') throw new ModelError('the model is already int8; quantize the fp32 model instead');
  // Per-channel DequantizeLinear (its axis) and Split with sizes as an input, which this writes, are opset 13 and up.
  if (model.opset < 13) throw new ModelError(`the model is opset ${model.opset}; quantizing needs opset 13 or later (per-channel DequantizeLinear)`);
  const g = model.graph;
  // A misspelt op type ('Gemmm') would leave those layers fp32 without a word: each must be one the
  // model has or a preset's (other element-wise ops, e.g. Mul, are quantized when the graph has them).
  const known = new Set<string>([...QUANTIZE_OP_SETS.all, ...g.nodes.map((n) => n.op)]);
  const unknownOps = opts.ops.filter((op) => !known.has(op));
  if (unknownOps.length) throw new ModelError(`op type${unknownOps.length > 1 ? 's' : ''} ${unknownOps.map((o) => `'${o}'`).join(', ')}: the model has no such nodes and no preset names ${unknownOps.length > 1 ? 'them' : 'it'} (the model's op types: ${[...new Set(g.nodes.map((n) => n.op))].sort().join(', ')}; case matters)`);
  if (g.nodes.some((n) => n.op === 'QuantizeLinear' || n.op === 'DequantizeLinear')) throw new ModelError('the model already contains QuantizeLinear/DequantizeLinear nodes');
  const input = g.inputs.find((i) => i.name === MODEL_INPUT_NAME);
  if (!input) throw new ModelError(`the model has no '${MODEL_INPUT_NAME}' input; only spoken-digits models can be quantized`);
  for (const b of calibrationBatches) {
    const ok = b.dims.length === 3 && b.data.length === b.dims.reduce((x, y) => x * y, 1) && input.shape?.slice(1).every((d, i) => typeof d !== 'number' || d === b.dims[i + 1]);
    if (!ok) throw new ModelError(`calibration batch of shape [${b.dims}] does not fit the model input [${input.shape}]`);
  }
  checkCalibrationFeatures(calibrationBatches);

  const cons = consumers(g);
  const isConst = (name: string) => g.initializers.has(name);
  const floatValue = (name: string) => !!name && !isConst(name);

  // 1. Pick the nodes to run in int8 and the activation tensors that need Q/DQ.
  const weighted = new Set(WEIGHTED_OPS);
  const targets = g.nodes.filter((n) => {
    if (!opts.ops.includes(n.op)) return false;
    if (n.op === 'Gemm' && (n.attrs.transA?.v || (n.attrs.alpha && n.attrs.alpha.v !== 1) || (n.attrs.beta && n.attrs.beta.v !== 1))) return false;
    // Only weight MatMuls: activation x activation products (attention scores, attention x values)
    // measured slower in int8 and cost 10% agreement on the transformer.
    if ((n.op === 'Conv' || n.op === 'Gemm' || n.op === 'MatMul') && !isConst(n.inputs[1])) return false;
    if (n.op === 'Conv') {
      const w = g.initializers.get(n.inputs[1])!;
      const group = Number(n.attrs.group?.v ?? 1);
      // ONNX Runtime's int8 grouped conv is only fast for plain depthwise (one in and one out
      // channel per group); a channel multiplier made a separable block 20x slower than fp32.
      if (group > 1 && (!opts.depthwise || w.dims[0] !== group || w.dims[1] !== 1)) return false;
      // A conv on the single-channel spectrogram has a tiny reduction (k x k); int8 im2col costs
      // more than the fp32 kernel there (measured 2x slower), so the first conv stays fp32.
      if (group === 1 && w.dims[1] === 1 && !opts.singleChannelConv) return false;
    }
    // Element-wise ops only when every input is an activation (a constant operand would need its own quantization).
    if (!weighted.has(n.op) && !n.inputs.every(floatValue)) return false;
    // Nor one that makes a graph output (a gated model's probabilities are an Add): its value would be
    // rounded to the calibration's steps, and one calibrated on a range of 0 (a gate that never fired) to whole numbers.
    if (!weighted.has(n.op) && n.outputs.some((o) => g.outputs.some((out) => out.name === o))) return false;
    return true;
  });
  // ReLU (and ReLU6) right after a quantized op is absorbed: a uint8 Q with zero point 0 clamps
  // negatives, so the op's Q moves to the ReLU output and the ReLU node disappears.
  const absorbed = new Map<string, GraphNode>();
  if (opts.activationType === 'uint8')
    for (const n of targets) {
      const out = n.outputs[0];
      const next = cons.get(out);
      if (next?.length !== 1 || g.outputs.some((o) => o.name === out)) continue;
      const r = next[0];
      const clip6 = r.op === 'Clip' && r.inputs.length === 3 && isConst(r.inputs[1]) && (g.initializers.get(r.inputs[1])!.data as Float32Array)[0] === 0;
      if (r.op === 'Relu' || clip6) absorbed.set(n.name, r);
    }
  const quantOut = (n: GraphNode) => absorbed.get(n.name)?.outputs[0] ?? n.outputs[0];
  const qTensors = new Set<string>();
  for (const n of targets) {
    const ins = weighted.has(n.op) ? n.inputs.slice(0, 1) : n.inputs;
    for (const i of ins) if (floatValue(i)) qTensors.add(i);
    qTensors.add(quantOut(n));
  }
  // Extend through data-movement ops whose input is already quantized (same scale on both sides).
  const shareFrom = new Map<string, string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const n of g.nodes)
      if (PASS_THROUGH.has(n.op) && qTensors.has(n.inputs[0]) && !qTensors.has(n.outputs[0])) {
        const feedsQuantized = (cons.get(n.outputs[0]) ?? []).some((c) => targets.includes(c) || PASS_THROUGH.has(c.op));
        if (!feedsQuantized) continue;
        qTensors.add(n.outputs[0]);
        shareFrom.set(n.outputs[0], n.inputs[0]);
        grew = true;
      }
  }
  if (!targets.some((n) => weighted.has(n.op))) throw new ModelError(`the model has no ${WEIGHTED_OPS.join('/')} nodes to quantize`);

  // 2. Calibrate on the float model.
  const ranges = await calibrate(model, [...qTensors], calibrationBatches, opts);
  const params = new Map<string, QParams>();
  const root = (t: string): string => (shareFrom.has(t) ? root(shareFrom.get(t)!) : t);
  for (const t of qTensors) params.set(t, activationParams(ranges.get(root(t))!, opts.activationType));
  for (const [t, src] of shareFrom) params.set(t, params.get(root(src))!);

  // 3. Rewrite: drop absorbed activations, insert Q/DQ after each quantized tensor, quantize weights.
  const names = graphNames(g);
  const zpType = opts.activationType;
  const newNodes: GraphNode[] = [];
  const addInit = (base: string, type: Initializer['type'], dims: number[], data: Initializer['data']) => {
    const name = names.fresh(base);
    g.initializers.set(name, { name, type, dims, data });
    return name;
  };
  for (const [targetName, act] of absorbed) {
    const n = g.nodes.find((x) => x.name === targetName)!;
    n.outputs[0] = act.outputs[0];
    g.nodes = g.nodes.filter((x) => x !== act);
  }
  const dq = new Map<string, string>();
  for (const t of qTensors) {
    const p = params.get(t)!;
    const s = addInit(`${t}_scale`, 'float', [], Float32Array.of(p.scale));
    const z = addInit(`${t}_zp`, zpType, [], zpType === 'uint8' ? Uint8Array.of(p.zeroPoint) : Int8Array.of(p.zeroPoint));
    const q = names.fresh(`${t}_q`);
    const d = names.fresh(`${t}_dq`);
    newNodes.push({ name: names.fresh(`${t}_Q`), op: 'QuantizeLinear', inputs: [t, s, z], outputs: [q], attrs: {} });
    newNodes.push({ name: names.fresh(`${t}_DQ`), op: 'DequantizeLinear', inputs: [q, s, z], outputs: [d], attrs: {} });
    dq.set(t, d);
  }
  // Every float consumer reads the dequantized value; graph outputs stay float as they were.
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => dq.get(i) ?? i);

  const int4Weights: { output: string; dims: number[]; q: Int8Array }[] = [];
  for (const n of targets) {
    if (!weighted.has(n.op)) continue;
    const wName = n.inputs[1];
    const w = g.initializers.get(wName);
    if (!w || w.type !== 'float') continue;
    const transB = n.op === 'Gemm' && n.attrs.transB?.v === 1;
    // Output channels: Conv W [out, in, ...] axis 0; Gemm/MatMul W [in, out] axis 1 (or 0 if transB).
    const axis = n.op === 'Conv' || transB ? 0 : w.dims.length - 1;
    const fourBit = w.data.length >= opts.int4MinWeights;
    const bName = n.inputs[2];
    const b = bName ? g.initializers.get(bName) : undefined;
    const xParams = params.get(dqSource(n.inputs[0], dq));
    const intBias = b && b.type === 'float' && xParams ? (b.data as Float32Array) : null;
    // The int32 bias is bias / (input scale * weight scale): each channel's weight scale at least what keeps it within int32.
    const minScales = intBias ? Float32Array.from(intBias, (v) => Math.abs(v) / (xParams!.scale * INT32_MAX)) : undefined;
    const levels = fourBit ? WEIGHT_LEVELS.int4 : opts.reduceRange ? WEIGHT_LEVELS.reduced : WEIGHT_LEVELS.full;
    const { q, scales } = quantizeWeights(w, axis, levels, minScales);
    let wq: string;
    if (fourBit) {
      wq = names.fresh(`${wName}_q`);
      int4Weights.push({ output: wq, dims: w.dims, q });
    } else wq = addInit(`${wName}_q`, 'int8', w.dims, q);
    const ws = addInit(`${wName}_scale`, 'float', [scales.length], scales);
    const wz = addInit(`${wName}_zp`, 'int8', [scales.length], new Int8Array(scales.length));
    const wd = names.fresh(`${wName}_dq`);
    newNodes.push({ name: names.fresh(`${wName}_DQ`), op: 'DequantizeLinear', inputs: [wq, ws, wz], outputs: [wd], attrs: { axis: int(axis) } });
    n.inputs[1] = wd;
    if (b && intBias && xParams) {
      // int32 bias with scale = input scale * weight scale, the form the integer kernels add directly.
      const bScale = Float32Array.from(scales, (s) => s * xParams.scale);
      // Clamped too: float32 rounding of the scales may leave a value a step past the limit.
      const bq = Int32Array.from(intBias, (v, i) => Math.max(-INT32_MAX, Math.min(INT32_MAX, Math.round(v / bScale[bScale.length === 1 ? 0 : i]))));
      const bqName = addInit(`${bName}_q`, 'int32', b.dims, bq);
      const bsName = addInit(`${bName}_scale`, 'float', [bScale.length], bScale);
      const bzName = addInit(`${bName}_zp`, 'int32', [bScale.length], new Int32Array(bScale.length));
      const bdq = names.fresh(`${bName}_dq`);
      newNodes.push({ name: names.fresh(`${bName}_DQ`), op: 'DequantizeLinear', inputs: [bqName, bsName, bzName], outputs: [bdq], attrs: { axis: int(0) } });
      n.inputs[2] = bdq;
    }
  }
  if (int4Weights.length) newNodes.push(...addPackedInt4(int4Weights, addInit, (base) => names.fresh(base)));
  g.nodes.push(...newNodes);
  sortTopologically(g);
  removeDeadNodes(g);
  shortenNames(g);

  const describe =
    opts.calibration === 'percentile' ? `percentile ${opts.percentile}` : 'minmax';
  // Normalization targets name values that quantizing renames (and measure fp32 outputs): measured again on the int8 file.
  const { [NORM_TARGETS_KEY]: _targets, ...metadata } = model.metadata;
  return encodeModel({
    ...model,
    metadata: {
      ...metadata,
      [METADATA_KEYS.precision]: 'int8',
      'spoken_digits.quantization': JSON.stringify({
        format: 'QDQ',
        weights: `int8 symmetric per-channel, ${opts.reduceRange ? '-63..63' : '-127..127'}`,
        ...(int4Weights.length
          ? { int4Weights: { minWeights: opts.int4MinWeights, tensors: int4Weights.length, values: int4Weights.reduce((a, w) => a + w.q.length, 0), form: '-7..7 per channel, two per byte' } }
          : {}),
        activations: `${opts.activationType} per-tensor`,
        calibration: describe,
        calibrationBatches: calibrationBatches.length,
        calibrationClips: calibrationBatches.reduce((a, b) => a + b.dims[0], 0),
        ops: opts.ops,
        depthwise: opts.depthwise,
        singleChannelConv: opts.singleChannelConv,
      }),
    },
  });
}

/** The float tensor a dequantized value stands for. */
function dqSource(name: string, dq: Map<string, string>): string {
  for (const [t, d] of dq) if (d === name) return t;
  return name;
}


