/**
 * Adapting a model's internal normalization to one speaker, without labels (test-time adaptation in
 * the manner of AdaBN, Li et al. 2016): every convolution's output channels are re-standardized so
 * that, over the speaker's own clips, each has the mean and variance it has over the training clips.
 * A voice the model never heard shifts these statistics layer by layer; putting them back is what
 * batch normalization would have done had the speaker been in the training batches.
 *
 * The targets (each conv output channel's mean and variance over clean training clips) are stored in
 * the model file (metadata `spoken_digits.norm_targets`, written by `withNormTargets`). Adapting runs
 * the speaker's clips through the model once, as one batch, in a graph where every conv output is
 * re-standardized with that batch's own statistics: each layer sees the layers before it already
 * adapted, as it will at inference (adapting all layers from the unadapted model's statistics at once
 * made things far worse: george's fold 88.6 -> 84.7%). The adapted model is the original with a
 * per-channel scale and shift folded into each conv (applyNormalization). No Node imports: the
 * browser can use it too.
 */
import { ModelError } from '../errors.js';
import { OPTIONAL_METADATA_KEYS } from './metadata.js';
import { type Graph, type GraphNode, type Initializer, type NameScope, type OnnxModel, decodeModel, encodeModel, graphNames, int, ints } from '../train/onnx/graph.js';

export const NORM_TARGETS_KEY = OPTIONAL_METADATA_KEYS.normTargets;

/** Per conv output channel: mean and variance over the training clips. */
export interface NormTargets {
  /** Each conv's output value name and channel count, in graph order. */
  layers: { name: string; channels: number }[];
  mean: Float32Array;
  variance: Float32Array;
  /** How many clips they were measured on, and which. */
  clips: number;
  data: string;
}

/**
 * Runs a model (bytes) on the clips the caller holds (decoded and cut as the recognizer feeds them,
 * as one batch) and returns the named outputs, each flattened over the batch.
 */
export type StatsRunner = (model: Uint8Array, outputs: readonly string[]) => Promise<Record<string, Float32Array>>;

/** A channel's scale is kept within these bounds (a dead channel's variance is ~0 on every voice). */
const MIN_SCALE = 0.1;
const MAX_SCALE = 10;
const VAR_FLOOR = 1e-6;

function toBase64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: string, n: number, what: string): Float32Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new ModelError(`metadata ${NORM_TARGETS_KEY}: ${what} is not base64`);
  }
  if (bin.length !== n * 4) throw new ModelError(`metadata ${NORM_TARGETS_KEY}: ${what} holds ${bin.length / 4} values, the layers ${n}`);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const out = new Float32Array(bytes.buffer);
  if (out.some((v) => !Number.isFinite(v))) throw new ModelError(`metadata ${NORM_TARGETS_KEY}: ${what} holds a value that is not finite`);
  return out;
}

export function encodeNormTargets(t: NormTargets): string {
  return JSON.stringify({ layers: t.layers.map((l) => [l.name, l.channels]), mean: toBase64(t.mean), variance: toBase64(t.variance), clips: t.clips, data: t.data });
}

/** The model's normalization targets (metadata), or null when it has none. */
export function parseNormTargets(metadata: Record<string, string>, source = 'model'): NormTargets | null {
  const raw = metadata[NORM_TARGETS_KEY];
  if (raw === undefined) return null;
  let j: { layers?: unknown; mean?: unknown; variance?: unknown; clips?: unknown; data?: unknown };
  try {
    j = JSON.parse(raw);
  } catch {
    throw new ModelError(`${source}: metadata ${NORM_TARGETS_KEY} is not JSON`);
  }
  const layers = Array.isArray(j.layers) ? j.layers : null;
  if (!layers || layers.length === 0 || !layers.every((l) => Array.isArray(l) && typeof l[0] === 'string' && Number.isInteger(l[1]) && l[1] > 0) || typeof j.mean !== 'string' || typeof j.variance !== 'string')
    throw new ModelError(`${source}: metadata ${NORM_TARGETS_KEY} must be {"layers": [[name, channels], ...], "mean": base64, "variance": base64}`);
  const n = layers.reduce((s: number, l: [string, number]) => s + l[1], 0);
  return {
    layers: layers.map((l: [string, number]) => ({ name: l[0], channels: l[1] })),
    mean: fromBase64(j.mean, n, 'mean'),
    variance: fromBase64(j.variance, n, 'variance'),
    clips: typeof j.clips === 'number' ? j.clips : 0,
    data: typeof j.data === 'string' ? j.data : '',
  };
}

/** Conv nodes in graph order. */
function convNodes(g: Graph): GraphNode[] {
  return g.nodes.filter((n) => n.op === 'Conv');
}

/** Reduction axes of a conv output: all but the channels (batch and spatial ones). */
function statAxes(conv: GraphNode, withBatch: boolean): number[] {
  const k = conv.attrs.kernel_shape;
  const rank = k && k.kind === 'ints' ? k.v.length + 2 : 4;
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  return withBatch ? [0, ...spatial] : spatial;
}

/** Points every use of `from` at `to`, except in the nodes `skip` (those that compute `to` from it). */
function rewire(g: Graph, from: string, to: string, skip: ReadonlySet<GraphNode>): void {
  for (const n of g.nodes) if (!skip.has(n)) n.inputs = n.inputs.map((i) => (i === from ? to : i));
}

/** Inserts nodes right after `conv` (keeps the node list topological). */
function insertAfter(g: Graph, conv: GraphNode, nodes: GraphNode[]): void {
  g.nodes.splice(g.nodes.indexOf(conv) + 1, 0, ...nodes);
}

/**
 * The model with, for every conv output, two extra outputs: each clip's per-channel mean and mean
 * square ([batch, channels]). Running it on the training clips gives the targets.
 */
export function withConvMoments(model: Uint8Array): { model: Uint8Array; layers: { name: string; mean: string; square: string }[] } {
  const m = decodeModel(model);
  const g = m.graph;
  const names = graphNames(g);
  const layers: { name: string; mean: string; square: string }[] = [];
  for (const conv of convNodes(g)) {
    const y = conv.outputs[0];
    const axes = ints(statAxes(conv, false));
    const mean = names.fresh(`${y}/norm_mean`);
    const sq = names.fresh(`${y}/norm_sq`);
    const square = names.fresh(`${y}/norm_square`);
    insertAfter(g, conv, [
      { name: names.fresh(`${y}/norm_mean_op`), op: 'ReduceMean', inputs: [y], outputs: [mean], attrs: { axes, keepdims: int(0) } },
      { name: names.fresh(`${y}/norm_sq_op`), op: 'Mul', inputs: [y, y], outputs: [sq], attrs: {} },
      { name: names.fresh(`${y}/norm_square_op`), op: 'ReduceMean', inputs: [sq], outputs: [square], attrs: { axes, keepdims: int(0) } },
    ]);
    g.outputs.push({ name: mean, type: 'float', shape: null }, { name: square, type: 'float', shape: null });
    layers.push({ name: y, mean, square });
  }
  if (layers.length === 0) throw new ModelError('the model has no convolutions: its normalization cannot be adapted');
  return { model: encodeModel(m), layers };
}

/** Accumulates per-clip channel moments (withConvMoments' outputs) over batches into targets. */
export class MomentTally {
  private sum: Float64Array[] = [];
  private sq: Float64Array[] = [];
  private channels: number[] = [];
  private clips = 0;
  constructor(private readonly layers: { name: string; mean: string; square: string }[]) {}

  add(outputs: Record<string, Float32Array>, batch: number): void {
    if (this.clips === 0) {
      this.channels = this.layers.map((l) => outputs[l.mean].length / batch);
      this.sum = this.channels.map((c) => new Float64Array(c));
      this.sq = this.channels.map((c) => new Float64Array(c));
    }
    this.layers.forEach((l, k) => {
      const c = this.channels[k];
      const mean = outputs[l.mean];
      const square = outputs[l.square];
      if (mean.length !== batch * c || square.length !== batch * c) throw new ModelError(`conv ${l.name}: expected ${batch} x ${c} statistics, got ${mean.length}`);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < c; i++) {
          this.sum[k][i] += mean[b * c + i];
          this.sq[k][i] += square[b * c + i];
        }
    });
    this.clips += batch;
  }

  targets(data: string): NormTargets {
    if (this.clips === 0) throw new ModelError('no clips to measure the normalization targets on');
    const n = this.channels.reduce((s, c) => s + c, 0);
    const mean = new Float32Array(n);
    const variance = new Float32Array(n);
    let o = 0;
    this.layers.forEach((_, k) => {
      for (let i = 0; i < this.channels[k]; i++, o++) {
        mean[o] = this.sum[k][i] / this.clips;
        variance[o] = Math.max(0, this.sq[k][i] / this.clips - mean[o] * mean[o]);
      }
    });
    return { layers: this.layers.map((l, k) => ({ name: l.name, channels: this.channels[k] })), mean, variance, clips: this.clips, data };
  }
}

/** The model with its normalization targets in the metadata. */
export function withNormTargets(model: Uint8Array, targets: NormTargets): Uint8Array {
  const m = decodeModel(model);
  checkTargets(m, targets);
  m.metadata[NORM_TARGETS_KEY] = encodeNormTargets(targets);
  return encodeModel(m);
}

function checkTargets(m: OnnxModel, t: NormTargets): GraphNode[] {
  const convs = convNodes(m.graph);
  const byName = new Map(convs.map((c) => [c.outputs[0], c]));
  return t.layers.map((l) => {
    const conv = byName.get(l.name);
    if (!conv) throw new ModelError(`the normalization targets name conv output ${l.name}, which this model does not have: they were measured on another model`);
    return conv;
  });
}

/**
 * Adapts `model` (bytes with normalization targets) to the clips `run` feeds it: one batch run of a
 * graph in which every conv output is re-standardized with the batch's statistics, then the original
 * model with the resulting per-channel scale and shift folded into each conv. Returns the adapted bytes.
 * At least 2 clips; 20-50 of the speaker's digits adapt about as well as 500 (docs/training-record.md, "Stop 31").
 */
export async function adaptNormalization(model: Uint8Array, run: StatsRunner): Promise<{ model: Uint8Array; scale: Float32Array; shift: Float32Array }> {
  // The batch-statistics graph, made from the model as decoded.
  const probe = decodeModel(model);
  const targets = parseNormTargets(probe.metadata);
  if (!targets) throw new ModelError(`the model has no normalization targets (metadata ${NORM_TARGETS_KEY}) to adapt to; models built since they were added carry them`);
  const convs = checkTargets(probe, targets);
  const pg = probe.graph;
  const names = graphNames(pg);
  const statNames: { mean: string; variance: string }[] = [];
  let offset = 0;
  for (const [k, l] of targets.layers.entries()) {
    const conv = convs[k];
    const y = l.name;
    const shape = [1, l.channels, ...statAxes(conv, false).map(() => 1)];
    const axes = ints(statAxes(conv, true));
    const sd = new Float32Array(l.channels);
    for (let i = 0; i < l.channels; i++) sd[i] = Math.sqrt(targets.variance[offset + i] + VAR_FLOOR);
    const tMean = targets.mean.slice(offset, offset + l.channels);
    offset += l.channels;
    const init = (base: string, data: Float32Array, dims = shape) => {
      const name = names.fresh(`${y}/${base}`);
      pg.initializers.set(name, { name, type: 'float', dims, data });
      return name;
    };
    const sdName = init('target_sd', sd);
    const meanName = init('target_mean', tMean);
    const epsName = init('var_floor', new Float32Array([VAR_FLOOR]), []);
    const minName = init('min_scale', new Float32Array([MIN_SCALE]), []);
    const maxName = init('max_scale', new Float32Array([MAX_SCALE]), []);
    const v = (s: string) => names.fresh(`${y}/${s}`);
    const [m, d, dd, vr, r, sq, a, ac, ya, out] = ['m', 'd', 'dd', 'v', 'r', 'sqrt', 'a', 'ac', 'ya', 'adapted'].map(v);
    const added: GraphNode[] = [
      { name: v('m_op'), op: 'ReduceMean', inputs: [y], outputs: [m], attrs: { axes, keepdims: int(1) } },
      { name: v('d_op'), op: 'Sub', inputs: [y, m], outputs: [d], attrs: {} },
      { name: v('dd_op'), op: 'Mul', inputs: [d, d], outputs: [dd], attrs: {} },
      { name: v('v_op'), op: 'ReduceMean', inputs: [dd], outputs: [vr], attrs: { axes, keepdims: int(1) } },
      { name: v('r_op'), op: 'Add', inputs: [vr, epsName], outputs: [r], attrs: {} },
      { name: v('sqrt_op'), op: 'Sqrt', inputs: [r], outputs: [sq], attrs: {} },
      { name: v('a_op'), op: 'Div', inputs: [sdName, sq], outputs: [a], attrs: {} },
      { name: v('clip_op'), op: 'Clip', inputs: [a, minName, maxName], outputs: [ac], attrs: {} },
      { name: v('ya_op'), op: 'Mul', inputs: [d, ac], outputs: [ya], attrs: {} },
      { name: v('out_op'), op: 'Add', inputs: [ya, meanName], outputs: [out], attrs: {} },
    ];
    rewire(pg, y, out, new Set(added));
    insertAfter(pg, conv, added);
    pg.outputs.push({ name: m, type: 'float', shape: null }, { name: vr, type: 'float', shape: null });
    statNames.push({ mean: m, variance: vr });
  }
  const measured = await run(encodeModel(probe), statNames.flatMap((s) => [s.mean, s.variance]));

  // Scale and shift per channel, from the batch statistics each layer saw.
  const total = targets.mean.length;
  const scale = new Float32Array(total);
  const shift = new Float32Array(total);
  offset = 0;
  targets.layers.forEach((l, k) => {
    const mean = measured[statNames[k].mean];
    const variance = measured[statNames[k].variance];
    if (!mean || !variance || mean.length !== l.channels || variance.length !== l.channels) throw new ModelError(`conv ${l.name}: expected ${l.channels} batch statistics`);
    for (let i = 0; i < l.channels; i++, offset++) {
      const a = Math.min(MAX_SCALE, Math.max(MIN_SCALE, Math.sqrt(targets.variance[offset] + VAR_FLOOR) / Math.sqrt(variance[i] + VAR_FLOOR)));
      scale[offset] = a;
      shift[offset] = targets.mean[offset] - a * mean[i];
    }
  });
  return { model: applyNormalization(model, scale, shift), scale, shift };
}

/**
 * The model with `y * scale + shift` per channel on every conv output the targets name (scale and
 * shift in the targets' order). Folded into each conv where it can be, so the graph keeps its shape
 * and speed (int8 convs stay fused): float weights and bias scaled directly; int8 (QDQ) weights
 * through their per-channel dequantization scale, the int32 bias re-quantized at the scaled bias
 * scale. A conv it cannot fold into (a per-tensor weight scale) gets a Mul and an Add after it, as
 * every conv does with `fold: false` (what the tests check the folding against).
 */
export function applyNormalization(model: Uint8Array, scale: Float32Array, shift: Float32Array, options: { fold?: boolean } = {}): Uint8Array {
  const m = decodeModel(model);
  const targets = parseNormTargets(m.metadata);
  if (!targets) throw new ModelError(`the model has no normalization targets (metadata ${NORM_TARGETS_KEY})`);
  const convs = checkTargets(m, targets);
  if (scale.length !== targets.mean.length || shift.length !== targets.mean.length) throw new ModelError('scale and shift must have one value per conv channel');
  if (!scale.every((a) => a > 0 && Number.isFinite(a)) || !shift.every(Number.isFinite)) throw new ModelError('scale must be positive and shift finite');
  const g = m.graph;
  const names = graphNames(g);
  let offset = 0;
  targets.layers.forEach((l, k) => {
    const a = scale.slice(offset, offset + l.channels);
    const c = shift.slice(offset, offset + l.channels);
    offset += l.channels;
    if (options.fold === false || !foldIntoConv(g, names, convs[k], a, c)) appendAffine(g, names, convs[k], l.name, a, c);
  });
  return encodeModel(m);
}

/** An initializer this node alone may change: a private copy when others use it too. */
function ownInitializer(g: Graph, names: NameScope, node: GraphNode, input: number): Initializer | undefined {
  const name = node.inputs[input];
  const init = g.initializers.get(name);
  if (!init) return undefined;
  const shared = g.nodes.some((n) => n !== node && n.inputs.includes(name)) || g.outputs.some((o) => o.name === name);
  if (!shared) return init;
  const copy: Initializer = { ...init, name: names.fresh(`${name}/speaker`), data: init.data.slice() as Initializer['data'] };
  g.initializers.set(copy.name, copy);
  node.inputs[input] = copy.name;
  return copy;
}

const producerOf = (g: Graph, value: string) => g.nodes.find((n) => n.outputs.includes(value));

function foldIntoConv(g: Graph, names: NameScope, conv: GraphNode, a: Float32Array, c: Float32Array): boolean {
  const channels = a.length;
  const weightDq = producerOf(g, conv.inputs[1]);
  const floatWeights = g.initializers.get(conv.inputs[1]);
  const biasDq = conv.inputs[2] ? producerOf(g, conv.inputs[2]) : undefined;
  if (floatWeights) {
    if (floatWeights.type !== 'float' || floatWeights.dims[0] !== channels) return false;
    const bias = conv.inputs[2] ? g.initializers.get(conv.inputs[2]) : undefined;
    if (conv.inputs[2] && (!bias || bias.type !== 'float' || bias.data.length !== channels)) return false;
    const w = ownInitializer(g, names, conv, 1)!.data as Float32Array;
    const per = w.length / channels;
    for (let o = 0; o < channels; o++) for (let i = 0; i < per; i++) w[o * per + i] *= a[o];
    if (bias) {
      const b = ownInitializer(g, names, conv, 2)!.data as Float32Array;
      for (let o = 0; o < channels; o++) b[o] = a[o] * b[o] + c[o];
    } else {
      const name = names.fresh(`${conv.outputs[0]}/speaker_bias`);
      g.initializers.set(name, { name, type: 'float', dims: [channels], data: c.slice() });
      conv.inputs[2] = name;
    }
    return true;
  }
  // int8 QDQ: weights and bias through DequantizeLinear with per-channel scales.
  if (!weightDq || weightDq.op !== 'DequantizeLinear' || !biasDq || biasDq.op !== 'DequantizeLinear') return false;
  const wScale = g.initializers.get(weightDq.inputs[1]);
  const bScale = g.initializers.get(biasDq.inputs[1]);
  const bData = g.initializers.get(biasDq.inputs[0]);
  if (!wScale || wScale.data.length !== channels || !bScale || bScale.data.length !== channels || !bData || bData.type !== 'int32' || bData.data.length !== channels) return false;
  const ws = ownInitializer(g, names, weightDq, 1)!.data as Float32Array;
  const bs = ownInitializer(g, names, biasDq, 1)!.data as Float32Array;
  const bq = ownInitializer(g, names, biasDq, 0)!.data as Int32Array;
  for (let o = 0; o < channels; o++) {
    ws[o] *= a[o];
    const bias = bq[o] * bs[o];
    bs[o] *= a[o];
    const q = Math.round((a[o] * bias + c[o]) / bs[o]);
    bq[o] = Math.max(-2147483648, Math.min(2147483647, q));
  }
  return true;
}

/** `y * a + c` per channel as a Mul and an Add after the conv (where folding is not possible). */
function appendAffine(g: Graph, names: NameScope, conv: GraphNode, y: string, a: Float32Array, c: Float32Array): void {
  const shape = [1, a.length, ...statAxes(conv, false).map(() => 1)];
  const sName = names.fresh(`${y}/speaker_scale`);
  const tName = names.fresh(`${y}/speaker_shift`);
  g.initializers.set(sName, { name: sName, type: 'float', dims: shape, data: a });
  g.initializers.set(tName, { name: tName, type: 'float', dims: shape, data: c });
  const scaled = names.fresh(`${y}/speaker_scaled`);
  const out = names.fresh(`${y}/speaker`);
  const added: GraphNode[] = [
    { name: names.fresh(`${y}/speaker_scale_op`), op: 'Mul', inputs: [y, sName], outputs: [scaled], attrs: {} },
    { name: names.fresh(`${y}/speaker_shift_op`), op: 'Add', inputs: [scaled, tName], outputs: [out], attrs: {} },
  ];
  rewire(g, y, out, new Set(added));
  insertAfter(g, conv, added);
}
