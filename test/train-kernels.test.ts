import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initTrainingBackend, conv2dFilterGrad, depthwiseFilterGrad, depthwiseInputGrad } from '../src/train/backend.js';

/**
 * The gradient kernels we add to the wasm backend, checked against tfjs's own cpu kernels on
 * small shapes covering stride, dilation, 'same'/'valid' padding and depth multipliers.
 */
type Case = { x: [number, number, number, number]; k: [number, number]; s: [number, number]; d: [number, number]; pad: 'same' | 'valid'; m: number; cOut: number };
const cases: Case[] = [
  { x: [2, 7, 5, 3], k: [3, 3], s: [1, 1], d: [1, 1], pad: 'same', m: 1, cOut: 4 },
  { x: [2, 8, 6, 2], k: [3, 3], s: [2, 2], d: [1, 1], pad: 'same', m: 2, cOut: 3 },
  { x: [1, 9, 7, 3], k: [5, 3], s: [2, 1], d: [1, 1], pad: 'valid', m: 1, cOut: 2 },
  { x: [3, 10, 8, 2], k: [3, 3], s: [1, 1], d: [1, 1], pad: 'valid', m: 3, cOut: 2 },
  { x: [2, 11, 9, 4], k: [4, 2], s: [3, 2], d: [1, 1], pad: 'same', m: 1, cOut: 5 },
  { x: [2, 6, 5, 4], k: [1, 1], s: [1, 1], d: [1, 1], pad: 'same', m: 1, cOut: 6 },
  { x: [2, 9, 8, 1], k: [10, 4], s: [2, 2], d: [1, 1], pad: 'same', m: 1, cOut: 3 },
];

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

async function onBackend<T>(name: string, f: () => T): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend(name);
  try {
    return f();
  } finally {
    await tf.setBackend(prev);
  }
}

function close(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array, tol = 1e-4) {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  assert.ok(worst < tol, `max relative difference ${worst}`);
}

describe('train: wasm gradient kernels', function () {
  before(async function () {
    this.timeout(60000);
    const name = await initTrainingBackend('wasm');
    assert.equal(name, 'wasm');
  });

  for (const [ci, c] of cases.entries()) {
    const label = `x${c.x.join('x')} k${c.k.join('x')} s${c.s} d${c.d} ${c.pad} m${c.m}`;

    it(`Conv2DBackpropFilter matches cpu (${label})`, async function () {
  
      const fShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.cOut];
      const run = () =>
        tf.tidy(() => {
          const x = rand(c.x, ci + 1) as tf.Tensor4D;
          const f = rand(fShape, ci + 2) as tf.Tensor4D;
          const y = tf.conv2d(x, f, c.s, c.pad);
          const dy = rand(y.shape, ci + 3);
          return tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.s, c.pad), dy)))([x, f]).map((t) => t.dataSync().slice());
        });
      const w = await onBackend('wasm', run);
      const ref = await onBackend('cpu', run);
      close(w[0], ref[0]);
      close(w[1], ref[1]);
    });

    it(`DepthwiseConv2dNative gradients match cpu (${label})`, async function () {

      const fShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.m];
      const run = () =>
        tf.tidy(() => {
          const x = rand(c.x, ci + 11) as tf.Tensor4D;
          const f = rand(fShape, ci + 12) as tf.Tensor4D;
          const y = tf.depthwiseConv2d(x, f, c.s, c.pad, 'NHWC', c.d);
          const dy = rand(y.shape, ci + 13);
          return tf
            .grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d), dy)))([x, f])
            .map((t) => t.dataSync().slice());
        });
      const w = await onBackend('wasm', run);
      const ref = await onBackend('cpu', run);
      close(w[0], ref[0]);
      close(w[1], ref[1]);
    });
  }

  it('the helpers do not leak tensors', () => {
    const before = tf.memory().numTensors;
    const x = rand([2, 6, 5, 3], 1) as tf.Tensor4D;
    const dy = rand([2, 6, 5, 3], 2) as tf.Tensor4D;
    const f = rand([3, 3, 3, 1], 3) as tf.Tensor4D;
    conv2dFilterGrad(x, dy, [3, 3, 3, 3], 1, 1, 'same').dispose();
    depthwiseFilterGrad(x, dy, [3, 3, 3, 1], 1, 1, 'same').dispose();
    depthwiseInputGrad(dy, f, [2, 6, 5, 3], 1, 1, 'same').dispose();
    tf.dispose([x, dy, f]);
    assert.equal(tf.memory().numTensors, before);
  });
});
