import type * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../errors.js';
import { float, int, ints } from './graph.js';
import type { Emitter, Val } from './emitter.js';
import { type Perm, channelsFirst, onnxAxis, transposeData } from './layout.js';

/** Keras-style layer config as tfjs reports it (getConfig()). */
export type LayerConfig = Record<string, unknown>;

/**
 * Converts one tfjs layer call. Gets the inputs already exported, returns the outputs. Custom
 * layers (e.g. the zoo's transformer blocks) plug in with registerLayerConverter.
 */
export type LayerConverter = (ctx: LayerContext) => Val[];

export interface LayerContext {
  layer: tf.layers.Layer;
  config: LayerConfig;
  inputs: Val[];
  /** tfjs output shapes of this call (batch and unknown dims as -1). */
  outputShapes: number[][];
  em: Emitter;
  /** A weight by its short name ('kernel', 'bias', 'gamma', ...), or null if the layer has none. */
  weight(shortName: string): { data: Float32Array; shape: number[] } | null;
  /** Appends the activation named in tfjs terms ('relu', 'softmax', ...) to a value. */
  activation(v: Val, name: unknown): Val;
}

const converters = new Map<string, LayerConverter>();

/** Teach the exporter a layer class (by tfjs getClassName()). Later registrations win. */
export function registerLayerConverter(className: string, fn: LayerConverter): void {
  converters.set(className, fn);
}

export function layerConverter(className: string): LayerConverter | undefined {
  return converters.get(className);
}

export function supportedLayerClasses(): string[] {
  return [...converters.keys()].sort();
}

const fail = (ctx: LayerContext, msg: string): never => {
  throw new ModelError(`cannot export layer '${ctx.layer.name}' (${ctx.layer.getClassName()}): ${msg}`);
};

const need = (ctx: LayerContext, short: string) => ctx.weight(short) ?? fail(ctx, `weight '${short}' is missing`);

const pair = (v: unknown, n = 2): number[] => (Array.isArray(v) ? (v as number[]) : Array.from({ length: n }, () => v as number));

/** TF 'same' padding: total pad split with the extra element at the end. */
function samePads(inSize: number, k: number, stride: number, dilation: number): [number, number] {
  const eff = (k - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + eff - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function pads(ctx: LayerContext, spatial: number[], kernel: number[], strides: number[], dil: number[], padding: string): number[] {
  const begin: number[] = [];
  const end: number[] = [];
  spatial.forEach((size, i) => {
    if (padding === 'valid') {
      begin.push(0);
      end.push(0);
    } else if (padding === 'same') {
      if (!(size > 0)) fail(ctx, `'same' padding needs a static input size, got ${size}`);
      const [b, e] = samePads(size, kernel[i], strides[i], dil[i]);
      begin.push(b);
      end.push(e);
    } else if (padding === 'causal') {
      begin.push((kernel[i] - 1) * dil[i]);
      end.push(0);
    } else fail(ctx, `padding '${padding}' is not supported`);
  });
  return [...begin, ...end];
}

function checkChannelsLast(ctx: LayerContext): void {
  const df = ctx.config.dataFormat;
  if (df !== undefined && df !== 'channelsLast') fail(ctx, `dataFormat '${String(df)}' is not supported (use channelsLast)`);
}

/** Conv over the spatial axes of a channels-last input; `w` is already ONNX [out, in/group, ...k]. */
function emitConv(
  ctx: LayerContext,
  x: Val,
  w: { data: Float32Array; shape: number[] },
  bias: Float32Array | null,
  group: number,
  base: string,
): Val {
  const c = ctx.config;
  const rank = x.tfShape.length;
  const nsp = rank - 2;
  const kernel = w.shape.slice(2);
  const strides = pair(c.strides ?? 1, nsp);
  const dil = pair(c.dilationRate ?? 1, nsp);
  const cf: Perm = channelsFirst(rank);
  const xin = ctx.em.to(x, cf);
  const spatial = x.tfShape.slice(1, rank - 1);
  const p = pads(ctx, spatial, kernel, strides, dil, String(c.padding ?? 'valid'));
  const inputs = [xin.name, ctx.em.floatConst(`${base}_W`, w.shape, w.data)];
  if (bias) inputs.push(ctx.em.floatConst(`${base}_B`, [bias.length], bias));
  const y = ctx.em.one(
    'Conv',
    inputs,
    { kernel_shape: ints(kernel), strides: ints(strides), dilations: ints(dil), pads: ints(p), group: int(group) },
    base,
  );
  return { name: y, tfShape: ctx.outputShapes[0], perm: cf };
}

/** tfjs conv kernel [...k, in, out] -> ONNX [out, in, ...k]. */
function convKernel(k: { data: Float32Array; shape: number[] }) {
  const r = k.shape.length;
  return transposeData(k.data, k.shape, [r - 1, r - 2, ...Array.from({ length: r - 2 }, (_, i) => i)]);
}

/** tfjs depthwise kernel [...k, in, mult] -> ONNX grouped [in*mult, 1, ...k] (out channel = c*mult+m). */
function depthwiseKernel(k: { data: Float32Array; shape: number[] }) {
  const r = k.shape.length;
  const t = transposeData(k.data, k.shape, [r - 2, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i)]);
  return { data: t.data, shape: [k.shape[r - 2] * k.shape[r - 1], 1, ...k.shape.slice(0, r - 2)] };
}

const biasOf = (ctx: LayerContext) => (ctx.config.useBias === false ? null : (ctx.weight('bias')?.data ?? null));

function convLayer(ctx: LayerContext): Val[] {
  checkChannelsLast(ctx);
  const [x] = ctx.inputs;
  const groups = Number(ctx.config.groups ?? 1);
  const y = emitConv(ctx, x, convKernel(need(ctx, 'kernel')), biasOf(ctx), groups, ctx.layer.name);
  return [ctx.activation(y, ctx.config.activation)];
}

function depthwiseLayer(ctx: LayerContext): Val[] {
  checkChannelsLast(ctx);
  const [x] = ctx.inputs;
  const k = need(ctx, 'depthwise_kernel');
  const inC = k.shape[k.shape.length - 2];
  const y = emitConv(ctx, x, depthwiseKernel(k), biasOf(ctx), inC, ctx.layer.name);
  return [ctx.activation(y, ctx.config.activation)];
}

function separableLayer(ctx: LayerContext): Val[] {
  checkChannelsLast(ctx);
  const [x] = ctx.inputs;
  const dk = need(ctx, 'depthwise_kernel');
  const pk = need(ctx, 'pointwise_kernel');
  const inC = dk.shape[dk.shape.length - 2];
  const mult = dk.shape[dk.shape.length - 1];
  const rank = x.tfShape.length;
  const midShape = [...ctx.outputShapes[0].slice(0, rank - 1), inC * mult];
  const dw = emitConv({ ...ctx, outputShapes: [midShape] }, x, depthwiseKernel(dk), null, inC, `${ctx.layer.name}_dw`);
  // The pointwise step is a 1x1 conv with stride 1 whatever the depthwise strides were.
  const pwCtx: LayerContext = { ...ctx, config: { ...ctx.config, strides: 1, dilationRate: 1, padding: 'valid' } };
  const y = emitConv(pwCtx, dw, convKernel(pk), biasOf(ctx), 1, `${ctx.layer.name}_pw`);
  return [ctx.activation(y, ctx.config.activation)];
}

function denseLayer(ctx: LayerContext): Val[] {
  const [x] = ctx.inputs;
  const k = need(ctx, 'kernel');
  const b = biasOf(ctx);
  const em = ctx.em;
  const [inDim, units] = k.shape;
  let y: Val;
  if (x.tfShape.length === 2) {
    let kdata = k.data;
    if (x.order) {
      // Absorb a permuted flatten: ONNX feature i is tfjs feature order[i], so row i of the
      // kernel must be tfjs row order[i].
      kdata = new Float32Array(k.data.length);
      for (let i = 0; i < inDim; i++) kdata.set(k.data.subarray(x.order[i] * units, (x.order[i] + 1) * units), i * units);
    }
    const inputs = [x.name, em.floatConst(`${ctx.layer.name}_W`, [inDim, units], kdata)];
    if (b) inputs.push(em.floatConst(`${ctx.layer.name}_B`, [units], b));
    y = { name: em.one('Gemm', inputs, {}, ctx.layer.name), tfShape: ctx.outputShapes[0], perm: [0, 1] };
  } else {
    // Dense on [batch, ..., in] acts on the last axis; keep the other axes as they are arranged
    // if the last tfjs axis is also last in ONNX.
    const last = x.tfShape.length - 1;
    const xin = x.perm[last] === last && !x.order ? x : em.plain(x);
    let name = em.one('MatMul', [xin.name, em.floatConst(`${ctx.layer.name}_W`, [inDim, units], k.data)], {}, ctx.layer.name);
    if (b) name = em.one('Add', [name, em.floatConst(`${ctx.layer.name}_B`, [units], b)], {}, `${ctx.layer.name}_bias`);
    y = { name, tfShape: ctx.outputShapes[0], perm: xin.perm };
  }
  return [ctx.activation(y, ctx.config.activation)];
}

/** Shape for a per-channel constant so that it broadcasts along ONNX axis `axis` of a rank-`rank` tensor. */
const channelShape = (n: number, axis: number, rank: number) => [n, ...new Array<number>(rank - 1 - axis).fill(1)];

function batchNormLayer(ctx: LayerContext): Val[] {
  let [x] = ctx.inputs;
  const em = ctx.em;
  const c = ctx.config;
  const axisCfg = Array.isArray(c.axis) ? (c.axis as number[]) : [Number(c.axis ?? -1)];
  if (axisCfg.length !== 1) fail(ctx, 'only one normalization axis is supported');
  if (x.order) x = em.plain(x);
  const mean = need(ctx, 'moving_mean').data;
  const variance = need(ctx, 'moving_variance').data;
  const gamma = ctx.weight('gamma')?.data;
  const beta = ctx.weight('beta')?.data;
  const eps = Number(c.epsilon ?? 1e-3);
  const n = mean.length;
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // Same op order as tfjs (x - mean) * (gamma / sqrt(var + eps)) + beta, folded to x*s + t.
    scale[i] = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + eps);
    shift[i] = (beta ? beta[i] : 0) - mean[i] * scale[i];
  }
  const rank = x.tfShape.length;
  const axis = onnxAxis(x.perm, axisCfg[0]);
  const shape = channelShape(n, axis, rank);
  // Emitted as Mul+Add; the optimizer folds them into a preceding Conv/Gemm.
  const m = em.one('Mul', [x.name, em.floatConst(`${ctx.layer.name}_scale`, shape, scale)], {}, `${ctx.layer.name}_mul`);
  const a = em.one('Add', [m, em.floatConst(`${ctx.layer.name}_shift`, shape, shift)], {}, ctx.layer.name);
  return [em.like(x, a)];
}

function layerNormLayer(ctx: LayerContext): Val[] {
  let [x] = ctx.inputs;
  const em = ctx.em;
  const c = ctx.config;
  const axes = Array.isArray(c.axis) ? (c.axis as number[]) : [Number(c.axis ?? -1)];
  const rank = x.tfShape.length;
  const norm = axes.map((a) => (a < 0 ? rank + a : a)).sort((a, b) => a - b);
  // ONNX LayerNormalization normalizes from `axis` to the end, so the tfjs axes must be the trailing ones.
  if (!norm.every((a, i) => a === rank - norm.length + i)) fail(ctx, `normalization axes [${axes}] must be the last axes`);
  if (!(x.perm.slice(rank - norm.length).every((a, i) => a === norm[i]) && !x.order)) x = em.plain(x);
  const featShape = norm.map((a) => x.tfShape[a]);
  const size = featShape.reduce((p, q) => p * q, 1);
  const gamma = ctx.weight('gamma')?.data ?? new Float32Array(size).fill(1);
  const beta = ctx.weight('beta')?.data ?? new Float32Array(size);
  const y = em.one(
    'LayerNormalization',
    [x.name, em.floatConst(`${ctx.layer.name}_gamma`, featShape, gamma), em.floatConst(`${ctx.layer.name}_beta`, featShape, beta)],
    { axis: int(-norm.length), epsilon: float(Number(c.epsilon ?? 1e-3)) },
    ctx.layer.name,
  );
  return [em.like(x, y)];
}

function poolLayer(op: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (ctx) => {
    checkChannelsLast(ctx);
    const [x] = ctx.inputs;
    const rank = x.tfShape.length;
    const nsp = rank - 2;
    const c = ctx.config;
    const kernel = pair(c.poolSize ?? 2, nsp);
    const strides = pair(c.strides ?? kernel, nsp);
    const cf = channelsFirst(rank);
    const xin = ctx.em.to(x, cf);
    const p = pads(ctx, x.tfShape.slice(1, rank - 1), kernel, strides, new Array<number>(nsp).fill(1), String(c.padding ?? 'valid'));
    // tfjs averages over the valid (unpadded) elements only, which is ONNX's count_include_pad=0 default.
    const y = ctx.em.one(op, [xin.name], { kernel_shape: ints(kernel), strides: ints(strides), pads: ints(p) }, ctx.layer.name);
    return [{ name: y, tfShape: ctx.outputShapes[0], perm: cf }];
  };
}

function globalPoolLayer(op: 'ReduceMean' | 'ReduceMax'): LayerConverter {
  return (ctx) => {
    checkChannelsLast(ctx);
    let [x] = ctx.inputs;
    if (x.order) x = ctx.em.plain(x);
    const rank = x.tfShape.length;
    const keep = Boolean(ctx.config.keepDims);
    const tfAxes = Array.from({ length: rank - 2 }, (_, i) => i + 1);
    const cf = channelsFirst(rank);
    if (x.perm.every((a, i) => a === cf[i])) {
      // Channels-first already: the Global*Pool ops have int8 kernels, ReduceMean has none.
      const pooled = ctx.em.one(op === 'ReduceMean' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], {}, `${ctx.layer.name}_pool`);
      if (keep) return [{ name: pooled, tfShape: ctx.outputShapes[0], perm: cf }];
      return [{ name: ctx.em.one('Flatten', [pooled], { axis: int(1) }, ctx.layer.name), tfShape: ctx.outputShapes[0], perm: [0, 1] }];
    }
    const axes = tfAxes.map((a) => onnxAxis(x.perm, a));
    const y = ctx.em.one(op, [x.name], { axes: ints(axes), keepdims: int(keep ? 1 : 0) }, ctx.layer.name);
    if (keep) return [{ name: y, tfShape: ctx.outputShapes[0], perm: x.perm }];
    const remaining = x.perm.filter((a) => !tfAxes.includes(a));
    const relabel = [...remaining].sort((a, b) => a - b);
    return [{ name: y, tfShape: ctx.outputShapes[0], perm: remaining.map((a) => relabel.indexOf(a)) }];
  };
}

function reshapeLayer(ctx: LayerContext): Val[] {
  const x = ctx.em.plain(ctx.inputs[0]);
  const out = ctx.outputShapes[0];
  if (out.slice(1).some((d) => !(d > 0))) fail(ctx, `target shape [${out.slice(1)}] must be fully static`);
  const shape = ctx.em.int64Const(`${ctx.layer.name}_shape`, [0, ...out.slice(1)]);
  return [{ name: ctx.em.one('Reshape', [x.name, shape], {}, ctx.layer.name), tfShape: out, perm: out.map((_, i) => i) }];
}

function permuteLayer(ctx: LayerContext): Val[] {
  let [x] = ctx.inputs;
  if (x.order) x = ctx.em.plain(x);
  const dims = ctx.config.dims as number[];
  // tfjs output axis j is input axis q[j]; re-express the ONNX arrangement in output-axis terms.
  const q = [0, ...dims];
  const qinv = new Array<number>(q.length);
  q.forEach((inAxis, outAxis) => (qinv[inAxis] = outAxis));
  return [{ name: x.name, tfShape: ctx.outputShapes[0], perm: x.perm.map((a) => qinv[a]) }];
}

function mergeLayer(op: string): LayerConverter {
  return (ctx) => {
    const em = ctx.em;
    const first = ctx.inputs[0];
    const rankOk = ctx.inputs.every((v) => v.tfShape.length === first.tfShape.length);
    const target = rankOk ? em.commonLayout(ctx.inputs) : null;
    const xs = ctx.inputs.map((v) => (target ? em.to(v, target) : em.plain(v)));
    const perm = xs[0].perm;
    let y: string;
    if (op === 'Sub') y = em.one('Sub', [xs[0].name, xs[1].name], {}, ctx.layer.name);
    else if (op === 'Mean' || op === 'Max' || op === 'Min' || op === 'Sum') y = em.one(op, xs.map((v) => v.name), {}, ctx.layer.name);
    else {
      // Add/Mul are binary in ONNX; chain them for more inputs.
      y = xs[0].name;
      for (let i = 1; i < xs.length; i++) y = em.one(op, [y, xs[i].name], {}, i === xs.length - 1 ? ctx.layer.name : `${ctx.layer.name}_${i}`);
    }
    return [{ name: y, tfShape: ctx.outputShapes[0], perm }];
  };
}

function concatLayer(ctx: LayerContext): Val[] {
  const em = ctx.em;
  const target = em.commonLayout(ctx.inputs);
  const xs = ctx.inputs.map((v) => em.to(v, target));
  const axis = onnxAxis(xs[0].perm, Number(ctx.config.axis ?? -1));
  const y = em.one('Concat', xs.map((v) => v.name), { axis: int(axis) }, ctx.layer.name);
  return [{ name: y, tfShape: ctx.outputShapes[0], perm: xs[0].perm }];
}

const passThrough: LayerConverter = (ctx) => [{ ...ctx.inputs[0], tfShape: ctx.outputShapes[0] }];

function activationLayer(ctx: LayerContext): Val[] {
  return [ctx.activation(ctx.inputs[0], ctx.config.activation)];
}

function reluLayer(ctx: LayerContext): Val[] {
  const em = ctx.em;
  const x = ctx.inputs[0];
  const c = ctx.config;
  const maxValue = c.maxValue == null ? null : Number(c.maxValue);
  if (c.negativeSlope && Number(c.negativeSlope) !== 0) fail(ctx, 'negativeSlope is not supported');
  if (c.threshold && Number(c.threshold) !== 0) fail(ctx, 'threshold is not supported');
  if (maxValue === null) return [em.like(x, em.one('Relu', [x.name], {}, ctx.layer.name))];
  return [em.like(x, em.one('Clip', [x.name, em.floatConst('zero', [], [0]), em.floatConst('max', [], [maxValue])], {}, ctx.layer.name))];
}

function leakyReluLayer(ctx: LayerContext): Val[] {
  const x = ctx.inputs[0];
  return [ctx.em.like(x, ctx.em.one('LeakyRelu', [x.name], { alpha: float(Number(ctx.config.alpha ?? 0.3)) }, ctx.layer.name))];
}

function eluLayer(ctx: LayerContext): Val[] {
  const x = ctx.inputs[0];
  return [ctx.em.like(x, ctx.em.one('Elu', [x.name], { alpha: float(Number(ctx.config.alpha ?? 1)) }, ctx.layer.name))];
}

function softmaxLayer(ctx: LayerContext): Val[] {
  let x = ctx.inputs[0];
  if (x.order) x = ctx.em.plain(x);
  const axes = Array.isArray(ctx.config.axis) ? (ctx.config.axis as number[]) : [Number(ctx.config.axis ?? -1)];
  if (axes.length !== 1) fail(ctx, 'softmax over several axes is not supported');
  const axis = onnxAxis(x.perm, axes[0]);
  return [ctx.em.like(x, ctx.em.one('Softmax', [x.name], { axis: int(axis) }, ctx.layer.name))];
}

function zeroPaddingLayer(ctx: LayerContext): Val[] {
  checkChannelsLast(ctx);
  const x = ctx.inputs[0];
  const rank = x.tfShape.length;
  const raw = ctx.config.padding;
  const nsp = rank - 2;
  // [[top, bottom], [left, right]] or [h, w] or a number.
  const perAxis: [number, number][] = Array.from({ length: nsp }, (_, i) => {
    const v = Array.isArray(raw) ? raw[i] : raw;
    return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v ?? 1), Number(v ?? 1)];
  });
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  perAxis.forEach(([b, e], i) => {
    const a = onnxAxis(x.perm, i + 1);
    begin[a] = b;
    end[a] = e;
  });
  const y = ctx.em.one('Pad', [x.name, ctx.em.int64Const(`${ctx.layer.name}_pads`, [...begin, ...end])], { mode: { kind: 'string', v: 'constant' } }, ctx.layer.name);
  return [{ name: y, tfShape: ctx.outputShapes[0], perm: x.perm }];
}

function preluLayer(ctx: LayerContext): Val[] {
  let x = ctx.inputs[0];
  if (x.order) x = ctx.em.plain(x);
  const alpha = need(ctx, 'alpha');
  // alpha has the input shape without batch (shared axes as 1); arrange it like the ONNX tensor.
  const t = transposeData(alpha.data, alpha.shape, x.perm.slice(1).map((a) => a - 1));
  const y = ctx.em.one('PRelu', [x.name, ctx.em.floatConst(`${ctx.layer.name}_alpha`, t.shape, t.data)], {}, ctx.layer.name);
  return [ctx.em.like(x, y)];
}

function embeddingLayer(ctx: LayerContext): Val[] {
  const x = ctx.em.plain(ctx.inputs[0]);
  const e = need(ctx, 'embeddings');
  const idx = ctx.em.one('Cast', [x.name], { to: int(7) }, `${ctx.layer.name}_idx`);
  const y = ctx.em.one('Gather', [ctx.em.floatConst(`${ctx.layer.name}_table`, e.shape, e.data), idx], { axis: int(0) }, ctx.layer.name);
  return [{ name: y, tfShape: ctx.outputShapes[0], perm: ctx.outputShapes[0].map((_, i) => i) }];
}

for (const [name, fn] of Object.entries<LayerConverter>({
  Conv1D: convLayer,
  Conv2D: convLayer,
  DepthwiseConv2D: depthwiseLayer,
  SeparableConv2D: separableLayer,
  SeparableConv1D: separableLayer,
  Dense: denseLayer,
  BatchNormalization: batchNormLayer,
  LayerNormalization: layerNormLayer,
  MaxPooling1D: poolLayer('MaxPool'),
  MaxPooling2D: poolLayer('MaxPool'),
  AveragePooling1D: poolLayer('AveragePool'),
  AveragePooling2D: poolLayer('AveragePool'),
  GlobalAveragePooling1D: globalPoolLayer('ReduceMean'),
  GlobalAveragePooling2D: globalPoolLayer('ReduceMean'),
  GlobalMaxPooling1D: globalPoolLayer('ReduceMax'),
  GlobalMaxPooling2D: globalPoolLayer('ReduceMax'),
  Reshape: reshapeLayer,
  Permute: permuteLayer,
  Flatten: (ctx) => [ctx.em.flatten(ctx.inputs[0])],
  Add: mergeLayer('Add'),
  Multiply: mergeLayer('Mul'),
  Subtract: mergeLayer('Sub'),
  Average: mergeLayer('Mean'),
  Maximum: mergeLayer('Max'),
  Minimum: mergeLayer('Min'),
  Concatenate: concatLayer,
  Activation: activationLayer,
  ReLU: reluLayer,
  LeakyReLU: leakyReluLayer,
  ELU: eluLayer,
  PReLU: preluLayer,
  Softmax: softmaxLayer,
  ZeroPadding2D: zeroPaddingLayer,
  Embedding: embeddingLayer,
  // Training-only layers are the identity at inference.
  Dropout: passThrough,
  SpatialDropout1D: passThrough,
  SpatialDropout2D: passThrough,
  GaussianNoise: passThrough,
  GaussianDropout: passThrough,
  AlphaDropout: passThrough,
})) registerLayerConverter(name, fn);

/** Emits a tfjs activation function by name on a value, keeping its layout. */
export function emitActivation(em: Emitter, x: Val, name: unknown, base: string, where: string): Val {
  const act = String(name ?? 'linear');
  const un = (op: string, attrs = {}) => em.like(x, em.one(op, [x.name], attrs, base));
  const c = (v: number) => em.floatConst(`${base}_c`, [], [v]);
  switch (act) {
    case 'linear':
      return x;
    case 'relu':
      return un('Relu');
    case 'relu6':
      return em.like(x, em.one('Clip', [x.name, c(0), c(6)], {}, base));
    case 'sigmoid':
      return un('Sigmoid');
    case 'tanh':
      return un('Tanh');
    case 'elu':
      return un('Elu', { alpha: float(1) });
    case 'selu':
      return un('Selu', { alpha: float(1.6732632423543772), gamma: float(1.0507009873554805) });
    case 'softplus':
      return un('Softplus');
    case 'softsign':
      return un('Softsign');
    case 'hardSigmoid':
      return un('HardSigmoid', { alpha: float(0.2), beta: float(0.5) });
    case 'swish': {
      const s = em.one('Sigmoid', [x.name], {}, `${base}_sig`);
      return em.like(x, em.one('Mul', [x.name, s], {}, base));
    }
    case 'mish': {
      const sp = em.one('Softplus', [x.name], {}, `${base}_sp`);
      const th = em.one('Tanh', [sp], {}, `${base}_tanh`);
      return em.like(x, em.one('Mul', [x.name, th], {}, base));
    }
    case 'gelu': {
      // 0.5 * x * (1 + erf(x / sqrt(2))), the exact form tfjs uses.
      const d = em.one('Div', [x.name, c(Math.SQRT2)], {}, `${base}_div`);
      const e = em.one('Erf', [d], {}, `${base}_erf`);
      const a = em.one('Add', [e, c(1)], {}, `${base}_add`);
      const m = em.one('Mul', [x.name, a], {}, `${base}_mul`);
      return em.like(x, em.one('Mul', [m, c(0.5)], {}, base));
    }
    case 'gelu_new': {
      // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
      const x3 = em.one('Pow', [x.name, c(3)], {}, `${base}_cube`);
      const inner = em.one('Add', [x.name, em.one('Mul', [x3, c(0.044715)], {}, `${base}_k`)], {}, `${base}_inner`);
      const t = em.one('Tanh', [em.one('Mul', [inner, c(Math.sqrt(2 / Math.PI))], {}, `${base}_s`)], {}, `${base}_tanh`);
      const m = em.one('Mul', [x.name, em.one('Add', [t, c(1)], {}, `${base}_add`)], {}, `${base}_mul`);
      return em.like(x, em.one('Mul', [m, c(0.5)], {}, base));
    }
    case 'softmax': {
      const v = x.order ? em.plain(x) : x;
      return em.like(v, em.one('Softmax', [v.name], { axis: int(onnxAxis(v.perm, -1)) }, base));
    }
    default:
      throw new ModelError(`cannot export ${where}: activation '${act}' is not supported`);
  }
}

