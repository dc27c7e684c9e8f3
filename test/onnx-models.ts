import * as tf from '@tensorflow/tfjs';

/**
 * Small tfjs models with the layer kinds of the training zoo, for exporter and quantizer tests
 * that must not wait for (or depend on) trained zoo models.
 */
export const FRAMES = 100;
export const DIMS = 20;
export const LABELS = 11;

const L = tf.layers;
type T = tf.SymbolicTensor;

function mlp(): tf.LayersModel {
  return tf.sequential({
    layers: [
      L.flatten({ inputShape: [FRAMES, DIMS] }),
      L.dense({ units: 32, activation: 'relu' }),
      L.dropout({ rate: 0.3 }),
      L.batchNormalization(),
      L.dense({ units: 16, activation: 'elu' }),
      L.dense({ units: LABELS, activation: 'softmax' }),
    ],
  });
}

function cnn(): tf.LayersModel {
  return tf.sequential({
    layers: [
      L.reshape({ inputShape: [FRAMES, DIMS], targetShape: [FRAMES, DIMS, 1] }),
      L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
      L.batchNormalization(),
      L.maxPooling2d({ poolSize: 2 }),
      L.conv2d({ filters: 12, kernelSize: [3, 2], strides: [1, 2], padding: 'valid', useBias: false }),
      L.batchNormalization(),
      L.reLU(),
      L.averagePooling2d({ poolSize: 2, padding: 'same' }),
      L.flatten(),
      L.dense({ units: 24, activation: 'relu' }),
      L.dense({ units: LABELS, activation: 'softmax' }),
    ],
  });
}

function dscnn(): tf.LayersModel {
  const x = tf.input({ shape: [FRAMES, DIMS] });
  let h = L.reshape({ targetShape: [FRAMES, DIMS, 1] }).apply(x) as T;
  h = L.conv2d({ filters: 16, kernelSize: [5, 3], strides: 2, padding: 'same', useBias: false }).apply(h) as T;
  h = L.batchNormalization().apply(h) as T;
  h = L.reLU({ maxValue: 6 }).apply(h) as T;
  for (let i = 0; i < 2; i++) {
    h = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(h) as T;
    h = L.batchNormalization().apply(h) as T;
    h = L.activation({ activation: 'relu' }).apply(h) as T;
    h = L.conv2d({ filters: 16, kernelSize: 1, useBias: false }).apply(h) as T;
    h = L.batchNormalization().apply(h) as T;
    h = L.activation({ activation: 'swish' }).apply(h) as T;
  }
  h = L.separableConv2d({ filters: 20, kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'relu6' }).apply(h) as T;
  h = L.globalAveragePooling2d({}).apply(h) as T;
  h = L.dropout({ rate: 0.2 }).apply(h) as T;
  // Logits: the exporter must append the softmax.
  const y = L.dense({ units: LABELS }).apply(h) as T;
  return tf.model({ inputs: x, outputs: y });
}

function resnetSe(): tf.LayersModel {
  const x = tf.input({ shape: [FRAMES, DIMS] });
  let h = L.reshape({ targetShape: [FRAMES, DIMS, 1] }).apply(x) as T;
  h = L.conv2d({ filters: 12, kernelSize: 3, padding: 'same', useBias: false }).apply(h) as T;
  h = L.batchNormalization().apply(h) as T;
  h = L.reLU().apply(h) as T;
  for (const stride of [1, 2]) {
    const filters = stride === 1 ? 12 : 16;
    let r = L.conv2d({ filters, kernelSize: 3, strides: stride, padding: 'same', useBias: false }).apply(h) as T;
    r = L.batchNormalization().apply(r) as T;
    r = L.reLU().apply(r) as T;
    r = L.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false }).apply(r) as T;
    r = L.batchNormalization().apply(r) as T;
    // Squeeze-excitation.
    let s = L.globalAveragePooling2d({}).apply(r) as T;
    s = L.dense({ units: 4, activation: 'relu' }).apply(s) as T;
    s = L.dense({ units: filters, activation: 'sigmoid' }).apply(s) as T;
    s = L.reshape({ targetShape: [1, 1, filters] }).apply(s) as T;
    r = L.multiply().apply([r, s]) as T;
    let skip = h;
    if (stride !== 1) {
      skip = L.conv2d({ filters, kernelSize: 1, strides: stride, useBias: false }).apply(h) as T;
      skip = L.batchNormalization().apply(skip) as T;
    }
    h = L.add().apply([r, skip]) as T;
    h = L.reLU().apply(h) as T;
  }
  h = L.globalAveragePooling2d({}).apply(h) as T;
  const y = L.dense({ units: LABELS, activation: 'softmax' }).apply(h) as T;
  return tf.model({ inputs: x, outputs: y });
}

function conv1d(): tf.LayersModel {
  const x = tf.input({ shape: [FRAMES, DIMS] });
  let h = L.conv1d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as T;
  h = L.batchNormalization().apply(h) as T;
  h = L.conv1d({ filters: 16, kernelSize: 3, padding: 'valid', dilationRate: 2 }).apply(h) as T;
  h = L.maxPooling1d({ poolSize: 2 }).apply(h) as T;
  h = L.layerNormalization().apply(h) as T;
  h = L.globalMaxPooling1d({}).apply(h) as T;
  h = L.dense({ units: 16, activation: 'gelu' }).apply(h) as T;
  const y = L.dense({ units: LABELS, activation: 'softmax' }).apply(h) as T;
  return tf.model({ inputs: x, outputs: y });
}

function transformerLike(): tf.LayersModel {
  // Token-wise Dense on [batch, time, d] (MatMul), residual + LayerNorm, a permute, pooling.
  const x = tf.input({ shape: [FRAMES, DIMS] });
  const e = L.dense({ units: 16 }).apply(x) as T;
  let f = L.dense({ units: 32, activation: 'gelu_new' }).apply(e) as T;
  f = L.dense({ units: 16 }).apply(f) as T;
  let h = L.add().apply([e, f]) as T;
  h = L.layerNormalization({ epsilon: 1e-6 }).apply(h) as T;
  let t = L.permute({ dims: [2, 1] }).apply(h) as T;
  t = L.dense({ units: 8, activation: 'tanh' }).apply(t) as T;
  t = L.permute({ dims: [2, 1] }).apply(t) as T;
  h = L.globalAveragePooling1d({}).apply(t) as T;
  const y = L.dense({ units: LABELS, activation: 'softmax' }).apply(h) as T;
  return tf.model({ inputs: x, outputs: y });
}

function ensemble(): tf.LayersModel {
  const a = mlp();
  const b = conv1d();
  const x = tf.input({ shape: [FRAMES, DIMS] });
  const y = L.average().apply([a.apply(x) as T, b.apply(x) as T]) as T;
  return tf.model({ inputs: x, outputs: y });
}

function misc(): tf.LayersModel {
  // The rest of the supported layer kinds, so each is checked numerically at least once.
  const x = tf.input({ shape: [FRAMES, DIMS] });
  let h = L.reshape({ targetShape: [FRAMES, DIMS, 1] }).apply(x) as T;
  h = L.zeroPadding2d({ padding: [1, 2] }).apply(h) as T;
  h = L.conv2d({ filters: 6, kernelSize: 3, dilationRate: 2, activation: 'mish' }).apply(h) as T;
  const a = L.leakyReLU({ alpha: 0.1 }).apply(h) as T;
  const b = L.prelu({ sharedAxes: [1, 2] }).apply(h) as T;
  const c = L.elu().apply(h) as T;
  let m = L.maximum().apply([a, b]) as T;
  m = L.minimum().apply([m, a]) as T;
  m = L.concatenate({ axis: -1 }).apply([m, c]) as T;
  m = L.maxPooling2d({ poolSize: [3, 3], strides: [2, 2], padding: 'same' }).apply(m) as T;
  m = L.activation({ activation: 'hardSigmoid' }).apply(m) as T;
  m = L.flatten().apply(m) as T;
  m = L.dense({ units: 20, activation: 'softplus' }).apply(m) as T;
  m = L.activation({ activation: 'selu' }).apply(m) as T;
  m = L.dense({ units: LABELS }).apply(m) as T;
  const y = L.softmax().apply(m) as T;
  return tf.model({ inputs: x, outputs: y });
}

function inputShapes(): tf.LayersModel {
  // Models that take the features as [frames, dims, 1] or flat still get the contract input.
  const a = tf.sequential({
    layers: [
      L.conv2d({ inputShape: [FRAMES, DIMS, 1], filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }),
      L.globalAveragePooling2d({}),
      L.dense({ units: LABELS, activation: 'softmax' }),
    ],
  });
  const b = tf.sequential({ layers: [L.dense({ inputShape: [FRAMES * DIMS], units: LABELS, activation: 'softmax' })] });
  const x = tf.input({ shape: [FRAMES, DIMS] });
  const ya = a.apply(L.reshape({ targetShape: [FRAMES, DIMS, 1] }).apply(x)) as T;
  const yb = b.apply(L.flatten().apply(x)) as T;
  return tf.model({ inputs: x, outputs: L.average().apply([ya, yb]) as T });
}

export const ARCHITECTURES: Record<string, () => tf.LayersModel> = {
  mlp,
  cnn,
  dscnn,
  'resnet-se': resnetSe,
  conv1d,
  'transformer-like': transformerLike,
  ensemble,
  misc,
  'nested-input-shapes': inputShapes,
  'conv-input': () =>
    tf.sequential({
      layers: [
        L.conv2d({ inputShape: [FRAMES, DIMS, 1], filters: 6, kernelSize: [5, 3], padding: 'same', activation: 'relu' }),
        L.maxPooling2d({ poolSize: [4, 2] }),
        L.flatten(),
        L.dense({ units: LABELS, activation: 'softmax' }),
      ],
    }),
};

/** Deterministic non-trivial weights, so BatchNorm statistics and biases matter in the comparison. */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const short = w.name.split('/').pop() ?? '';
    const data = new Float32Array(n);
    // Kernels scaled by fan-in (like Glorot) so activations and logits stay in a range where the
    // softmax is not saturated and differences would show.
    const fanIn = short.startsWith('depthwise') ? shape.slice(0, -2).reduce((a, b) => a * b, 1) : shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const k = Math.sqrt(6 / Math.max(fanIn, 1));
    for (let i = 0; i < n; i++) {
      if (short.startsWith('moving_variance')) data[i] = 0.5 + rnd();
      else if (short.startsWith('gamma')) data[i] = 0.7 + 0.6 * rnd();
      else if (short.includes('kernel')) data[i] = (rnd() * 2 - 1) * k;
      else data[i] = (rnd() - 0.5) * 0.4;
    }
    w.write(tf.tensor(data, w.shape as number[]));
  }
}
