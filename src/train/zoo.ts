import * as tf from '@tensorflow/tfjs';

/**
 * The model zoo. Every model takes the feature matrix exactly as the DSP core returns it,
 * [numFrames, dims] (batch first), and ends in a softmax over the labels, so an exported file
 * needs no glue code. Layers are limited to what the ONNX exporter maps one-to-one: Dense, Conv2D,
 * DepthwiseConv2D, BatchNormalization, ReLU/sigmoid/softmax, pooling, Reshape, Add, Multiply,
 * Dropout (identity at inference), LayerNormalization, plus the two transformer layers below whose
 * math is spelled out in their `call`.
 */
export const ARCHITECTURES = ['mlp', 'cnn', 'dscnn', 'resnet-se', 'transformer'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface ModelShape {
  numFrames: number;
  dims: number;
  numClasses: number;
  /** Seeds every initializer, so two runs with one seed start from identical weights. */
  seed: number;
  /** Width multiplier (1 = the default size). */
  width?: number;
  /** Subtract each feature dimension's mean over the clip first (see UtteranceMeanNormalization). */
  utteranceNorm?: boolean;
}

export function isArchitecture(name: string): name is Architecture {
  return (ARCHITECTURES as readonly string[]).includes(name);
}

export function buildModel(arch: Architecture, shape: ModelShape): tf.LayersModel {
  const seeds = seedStream(shape.seed);
  switch (arch) {
    case 'mlp':
      return mlp(shape, seeds);
    case 'cnn':
      return cnn(shape, seeds);
    case 'dscnn':
      return dscnn(shape, seeds);
    case 'resnet-se':
      return resnetSe(shape, seeds);
    case 'transformer':
      return transformer(shape, seeds);
  }
}

type Seeds = () => number;

function seedStream(seed: number): Seeds {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s % 2147483647;
  };
}

const heInit = (seeds: Seeds) => tf.initializers.heNormal({ seed: seeds() });
const glorotInit = (seeds: Seeds) => tf.initializers.glorotUniform({ seed: seeds() });

/** The model's input tensor and what its layers start from (the input, or its per-clip mean-normalized copy). */
function inputs(shape: ModelShape): { inp: tf.SymbolicTensor; x: tf.SymbolicTensor } {
  const inp = tf.input({ shape: [shape.numFrames, shape.dims], name: 'features' });
  const x = shape.utteranceNorm ? (new UtteranceMeanNormalization({ name: 'utterance_norm' }).apply(inp) as tf.SymbolicTensor) : inp;
  return { inp, x };
}

function head(x: tf.SymbolicTensor, shape: ModelShape, seeds: Seeds, dropout: number): tf.SymbolicTensor {
  if (dropout > 0) x = tf.layers.dropout({ rate: dropout, name: 'head_dropout' }).apply(x) as tf.SymbolicTensor;
  return tf.layers
    .dense({ units: shape.numClasses, activation: 'softmax', kernelInitializer: glorotInit(seeds), name: 'probabilities' })
    .apply(x) as tf.SymbolicTensor;
}

function convBnRelu(
  x: tf.SymbolicTensor,
  filters: number,
  kernel: [number, number],
  strides: [number, number],
  seeds: Seeds,
  name: string,
  relu = true,
): tf.SymbolicTensor {
  let y = tf.layers
    .conv2d({ filters, kernelSize: kernel, strides, padding: 'same', useBias: false, kernelInitializer: heInit(seeds), name: `${name}_conv` })
    .apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: `${name}_bn`, momentum: 0.9 }).apply(y) as tf.SymbolicTensor;
  return relu ? (tf.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(y) as tf.SymbolicTensor) : y;
}

/** Plain baseline: the whole matrix flattened into two dense layers. */
function mlp(shape: ModelShape, seeds: Seeds): tf.LayersModel {
  const w = shape.width ?? 1;
  const { inp, x: start } = inputs(shape);
  let x = tf.layers.flatten({ name: 'flatten' }).apply(start) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: Math.round(128 * w), activation: 'relu', kernelInitializer: heInit(seeds), name: 'dense1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, name: 'dropout1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: Math.round(64 * w), activation: 'relu', kernelInitializer: heInit(seeds), name: 'dense2' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: head(x, shape, seeds, 0.2), name: 'mlp' });
}

function asImage(inp: tf.SymbolicTensor, shape: ModelShape): tf.SymbolicTensor {
  return tf.layers.reshape({ targetShape: [shape.numFrames, shape.dims, 1], name: 'to_image' }).apply(inp) as tf.SymbolicTensor;
}

/**
 * Light CNN: four conv blocks, pooling between them, then a dense layer over the flattened map.
 * Flattening (not global pooling) keeps where in time and frequency each pattern occurred, which
 * digits need: "six" and "seven" share sounds in a different order.
 */
function cnn(shape: ModelShape, seeds: Seeds): tf.LayersModel {
  const w = shape.width ?? 1;
  const { inp, x: start } = inputs(shape);
  let x = asImage(start, shape);
  const filters = [16, 32, 48, 64].map((f) => Math.round(f * w));
  filters.forEach((f, i) => {
    x = convBnRelu(x, f, [3, 3], [1, 1], seeds, `block${i + 1}`);
    if (i < filters.length - 1) x = tf.layers.maxPooling2d({ poolSize: [2, 2], name: `block${i + 1}_pool` }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: head(x, shape, seeds, 0.3), name: 'cnn' });
}

/**
 * Depthwise-separable CNN (the keyword-spotting DS-CNN shape): one strided full convolution, then
 * blocks of 3x3 depthwise + 1x1 pointwise. Most of the accuracy of a full CNN at a fraction of the
 * multiply-adds and weights, which is what keeps the int8 file small and inference fast.
 */
function dscnn(shape: ModelShape, seeds: Seeds): tf.LayersModel {
  const w = shape.width ?? 1;
  const c = Math.round(64 * w);
  const { inp, x: start } = inputs(shape);
  let x = asImage(start, shape);
  x = convBnRelu(x, c, [10, 4], [2, 2], seeds, 'stem');
  for (let i = 1; i <= 4; i++) {
    x = tf.layers
      .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: heInit(seeds), name: `ds${i}_dw` })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: `ds${i}_dw_bn`, momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu', name: `ds${i}_dw_relu` }).apply(x) as tf.SymbolicTensor;
    x = convBnRelu(x, c, [1, 1], [1, 1], seeds, `ds${i}_pw`);
  }
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: head(x, shape, seeds, 0.2), name: 'dscnn' });
}

/** Residual blocks with squeeze-and-excitation channel gating. */
function resnetSe(shape: ModelShape, seeds: Seeds): tf.LayersModel {
  const w = shape.width ?? 1;
  const { inp, x: start } = inputs(shape);
  let x = asImage(start, shape);
  x = convBnRelu(x, Math.round(24 * w), [3, 3], [1, 1], seeds, 'stem');
  const stages = [Math.round(24 * w), Math.round(32 * w), Math.round(48 * w)];
  stages.forEach((c, i) => {
    const name = `res${i + 1}`;
    const stride: [number, number] = [2, 2];
    let y = convBnRelu(x, c, [3, 3], stride, seeds, `${name}_a`);
    y = convBnRelu(y, c, [3, 3], [1, 1], seeds, `${name}_b`, false);
    // Squeeze-excitation: per-channel gates from the block's global average.
    let s = tf.layers.globalAveragePooling2d({ name: `${name}_se_pool` }).apply(y) as tf.SymbolicTensor;
    s = tf.layers.dense({ units: Math.max(4, Math.round(c / 4)), activation: 'relu', kernelInitializer: heInit(seeds), name: `${name}_se_reduce` }).apply(s) as tf.SymbolicTensor;
    s = tf.layers.dense({ units: c, activation: 'sigmoid', kernelInitializer: glorotInit(seeds), name: `${name}_se_expand` }).apply(s) as tf.SymbolicTensor;
    s = tf.layers.reshape({ targetShape: [1, 1, c], name: `${name}_se_reshape` }).apply(s) as tf.SymbolicTensor;
    y = tf.layers.multiply({ name: `${name}_se_scale` }).apply([y, s]) as tf.SymbolicTensor;
    const shortcut = convBnRelu(x, c, [1, 1], stride, seeds, `${name}_short`, false);
    x = tf.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: head(x, shape, seeds, 0.2), name: 'resnet_se' });
}

/**
 * Per-clip mean normalization: y[b, t, d] = x[b, t, d] - mean over t of x[b, :, d]. In the log-mel
 * domain a microphone's or room's colouring is a constant offset per band, so removing each band's
 * mean over the clip takes away most of what differs between recording setups (FSDD's speakers
 * each used their own), leaving the spectral shape over time. No weights.
 * ONNX: ReduceMean over the time axis (keepdims) and Sub.
 */
export class UtteranceMeanNormalization extends tf.layers.Layer {
  static readonly className = 'UtteranceMeanNormalization';
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return inputShape as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.sub(x, tf.mean(x, 1, true));
    });
  }
}

/**
 * Adds a learned position vector to every time step: y[b, t, :] = x[b, t, :] + P[t, :].
 * ONNX: one Add with the [T, d] initializer P.
 */
export class PositionalEmbedding extends tf.layers.Layer {
  static readonly className = 'PositionalEmbedding';
  private readonly seed: number | undefined;
  private table!: tf.LayerVariable;
  constructor(args: { seed?: number; name?: string; trainable?: boolean }) {
    super(args);
    this.seed = args.seed;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = inputShape as tf.Shape;
    this.table = this.addWeight('table', [s[1] as number, s[2] as number], 'float32', tf.initializers.truncatedNormal({ stddev: 0.02, seed: this.seed }));
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.add(x, this.table.read());
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed ?? null };
  }
}

/**
 * Multi-head self-attention over time, in plain matrix math (so the exporter maps it to
 * MatMul/Add/Reshape/Transpose/Softmax):
 *   q = x Wq + bq, k = x Wk + bk, v = x Wv + bv            x: [b, T, d], W*: [d, d]
 *   split heads: [b, T, d] → [b, h, T, d/h]
 *   a = softmax(q kᵀ / sqrt(d/h)) over the last axis       [b, h, T, T]
 *   o = merge heads(a v) Wo + bo                            [b, T, d]
 */
export class MultiHeadSelfAttention extends tf.layers.Layer {
  static readonly className = 'MultiHeadSelfAttention';
  readonly numHeads: number;
  private readonly seed: number | undefined;
  private w: Record<'q' | 'k' | 'v' | 'o', { kernel: tf.LayerVariable; bias: tf.LayerVariable }> = {} as never;
  constructor(args: { numHeads: number; seed?: number; name?: string; trainable?: boolean }) {
    super(args);
    this.numHeads = args.numHeads;
    this.seed = args.seed;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = (inputShape as tf.Shape)[2] as number;
    if (d % this.numHeads !== 0) throw new Error(`model width ${d} is not divisible by ${this.numHeads} heads`);
    let n = 0;
    for (const p of ['q', 'k', 'v', 'o'] as const) {
      const seed = this.seed === undefined ? undefined : this.seed + n++;
      this.w[p] = {
        kernel: this.addWeight(`${p}_kernel`, [d, d], 'float32', tf.initializers.glorotUniform({ seed })),
        bias: this.addWeight(`${p}_bias`, [d], 'float32', tf.initializers.zeros()),
      };
    }
    this.built = true;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return inputShape as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [b, t, d] = x.shape;
      const h = this.numHeads;
      const dk = d / h;
      const project = (p: 'q' | 'k' | 'v' | 'o', z: tf.Tensor3D) =>
        tf.add(tf.matMul(z.reshape([b * t, d]), this.w[p].kernel.read() as tf.Tensor2D), this.w[p].bias.read()).reshape([b, t, d]) as tf.Tensor3D;
      const heads = (z: tf.Tensor3D) => z.reshape([b, t, h, dk]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
      const q = heads(project('q', x));
      const k = heads(project('k', x));
      const v = heads(project('v', x));
      const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dk));
      const attn = tf.softmax(scores, -1);
      const merged = tf.matMul(attn, v).transpose([0, 2, 1, 3]).reshape([b, t, d]) as tf.Tensor3D;
      return project('o', merged);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numHeads: this.numHeads, seed: this.seed ?? null };
  }
}

tf.serialization.registerClass(UtteranceMeanNormalization);
tf.serialization.registerClass(PositionalEmbedding);
tf.serialization.registerClass(MultiHeadSelfAttention);

/** Small pre-norm transformer encoder over time (frames pooled by 2 first to quarter the attention cost). */
function transformer(shape: ModelShape, seeds: Seeds): tf.LayersModel {
  const w = shape.width ?? 1;
  const d = Math.round(48 * w / 4) * 4;
  const heads = 4;
  const { inp, x: start } = inputs(shape);
  let x = tf.layers.dense({ units: d, kernelInitializer: glorotInit(seeds), name: 'proj' }).apply(start) as tf.SymbolicTensor;
  x = tf.layers.averagePooling1d({ poolSize: 2, strides: 2, name: 'time_pool' }).apply(x) as tf.SymbolicTensor;
  x = new PositionalEmbedding({ seed: seeds(), name: 'pos' }).apply(x) as tf.SymbolicTensor;
  for (let i = 1; i <= 2; i++) {
    let y = tf.layers.layerNormalization({ name: `enc${i}_ln1`, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
    y = new MultiHeadSelfAttention({ numHeads: heads, seed: seeds(), name: `enc${i}_attn` }).apply(y) as tf.SymbolicTensor;
    x = tf.layers.add({ name: `enc${i}_add1` }).apply([x, y]) as tf.SymbolicTensor;
    y = tf.layers.layerNormalization({ name: `enc${i}_ln2`, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
    y = tf.layers.dense({ units: 2 * d, activation: 'relu', kernelInitializer: heInit(seeds), name: `enc${i}_ff1` }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.dense({ units: d, kernelInitializer: glorotInit(seeds), name: `enc${i}_ff2` }).apply(y) as tf.SymbolicTensor;
    x = tf.layers.add({ name: `enc${i}_add2` }).apply([x, y]) as tf.SymbolicTensor;
  }
  x = tf.layers.layerNormalization({ name: 'final_ln', epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling1d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: head(x, shape, seeds, 0.1), name: 'transformer' });
}
