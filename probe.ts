import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { exportToOnnx } from './src/train/onnx/export.js';
import { quantizeModel } from './src/train/onnx/quantize.js';
import { resolveFeatureConfig } from './src/features/config.js';
import { randomizeWeights } from './test/onnx-models.js';
await tf.setBackend('cpu');
const F = 100, D = 40;
const fc = resolveFeatureConfig({ kind: 'logmel', nMels: D, numFrames: F });
const labels = [...Array(10).keys()].map(String).concat('none');
const L = tf.layers; type T = tf.SymbolicTensor;
function dscnn(w: number) {
  const x = tf.input({ shape: [F, D] });
  let h = L.reshape({ targetShape: [F, D, 1] }).apply(x) as T;
  h = L.conv2d({ filters: w, kernelSize: [10, 4], strides: 2, padding: 'same', useBias: false }).apply(h) as T;
  h = L.batchNormalization().apply(h) as T; h = L.reLU().apply(h) as T;
  for (let i = 0; i < 4; i++) {
    h = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(h) as T;
    h = L.batchNormalization().apply(h) as T; h = L.reLU().apply(h) as T;
    h = L.conv2d({ filters: w, kernelSize: 1, useBias: false }).apply(h) as T;
    h = L.batchNormalization().apply(h) as T; h = L.reLU().apply(h) as T;
  }
  h = L.globalAveragePooling2d({}).apply(h) as T;
  return tf.model({ inputs: x, outputs: L.dense({ units: 11, activation: 'softmax' }).apply(h) as T });
}
function cnn(w: number) {
  const x = tf.input({ shape: [F, D] });
  let h = L.reshape({ targetShape: [F, D, 1] }).apply(x) as T;
  for (const [f, p] of [[w, 2], [2 * w, 2], [4 * w, 2]] as const) {
    h = L.conv2d({ filters: f, kernelSize: 3, padding: 'same', useBias: false }).apply(h) as T;
    h = L.batchNormalization().apply(h) as T; h = L.reLU().apply(h) as T;
    h = L.maxPooling2d({ poolSize: p }).apply(h) as T;
  }
  h = L.globalAveragePooling2d({}).apply(h) as T;
  h = L.dense({ units: 64, activation: 'relu' }).apply(h) as T;
  return tf.model({ inputs: x, outputs: L.dense({ units: 11, activation: 'softmax' }).apply(h) as T });
}
async function time(bytes: Uint8Array) {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const one = { features: new ort.Tensor('float32', new Float32Array(F * D).map(() => Math.random()), [1, F, D]) };
  for (let i = 0; i < 20; i++) await s.run(one);
  const ts: number[] = [];
  for (let i = 0; i < 200; i++) { const t0 = performance.now(); await s.run(one); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b); return (ts[100] * 1000).toFixed(0);
}
const calib = [0, 1].map((i) => ({ data: new Float32Array(16 * F * D).map(() => Math.random() * 2 - 1), dims: [16, F, D] }));
for (const [name, m] of [['dscnn64', dscnn(64)], ['dscnn32', dscnn(32)], ['cnn16', cnn(16)], ['cnn32', cnn(32)]] as const) {
  randomizeWeights(m, 1);
  const fp = exportToOnnx(m, { featureConfig: fc, labels, modelType: name });
  const r = [name, 'fp32', await time(fp)];
  for (const [label, o] of [['lin', { ops: 'linear' }], ['all', { ops: 'all' }], ['lin+dw', { ops: 'linear', depthwise: true }]] as const) r.push(label, await time(await quantizeModel(fp, calib, o as any)));
  console.log(r.join(' '));
}
