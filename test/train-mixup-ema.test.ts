import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initTrainingBackend } from '../src/train/backend.js';
import { Rng } from '../src/train/random.js';
import { trainModel } from '../src/train/trainer.js';
import { buildModel } from '../src/train/zoo.js';
import { TOY_DIMS as dims, TOY_FRAMES as frames, toyExamples } from './fixtures/toy-examples.js';

const { train, validation } = toyExamples(5, 128, 32);

async function trainToy(mixup: number, ema: number) {
  const model = buildModel('mlp', { numFrames: frames, dims, numClasses: 2, seed: 1 });
  const result = await trainModel(model, { train, validation }, (a) => a, { frames, dims, numClasses: 2 }, null, {
    epochs: 12, batchSize: 16, learningRate: 3e-3, warmupEpochs: 0, labelSmoothing: 0, patience: 0, augment: false, specAugment: null, mixup, ema, progress: false, log: () => {},
  });
  const weights = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
  model.dispose();
  return { result, weights };
}

describe('train: Beta draws, mixup and weight averaging', function () {
  this.timeout(120000);

  it('Rng.gamma and Rng.beta have the right means and stay in range', () => {
    const rng = new Rng(11);
    for (const shape of [0.4, 1, 3]) {
      const n = 20000;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += rng.gamma(shape);
      assert.ok(Math.abs(sum / n - shape) < 0.05 * Math.max(1, shape), `gamma(${shape}) mean ${sum / n}`);
    }
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const b = rng.beta(0.4, 1.2);
      assert.ok(b >= 0 && b <= 1);
      sum += b;
    }
    assert.ok(Math.abs(sum / 20000 - 0.25) < 0.01, `beta(0.4, 1.2) mean ${sum / 20000}`);
    assert.throws(() => rng.gamma(0), RangeError);
  });

  it('mixup trains on blended targets: the model still separates the classes, with a higher training loss floor', async () => {
    await initTrainingBackend();
    const run = (mixup: number) => trainToy(mixup, 0).then((r) => r.result);
    const tensors = tf.memory().numTensors;
    const plain = await run(0);
    const mixed = await run(0.4);
    assert.equal(plain.bestValAccuracy, 1);
    assert.equal(mixed.bestValAccuracy, 1);
    const lastLoss = (r: typeof plain) => r.history[r.history.length - 1].trainLoss;
    // Blended pairs of opposite classes have soft targets no model can fit exactly.
    assert.ok(lastLoss(mixed) > lastLoss(plain) + 0.05, `train loss with mixup ${lastLoss(mixed)}, without ${lastLoss(plain)}`);
    assert.equal(tf.memory().numTensors, tensors, 'no tensors leak from the mixup steps');
  });

  it('weight averaging leaves training alone and returns the averaged weights', async () => {
    await initTrainingBackend();
    const tensors = tf.memory().numTensors;
    const plain = await trainToy(0, 0);
    const averaged = await trainToy(0, 0.95);
    assert.equal(tf.memory().numTensors, tensors, 'no tensors leak from the average');
    // Same seed: the same steps, so the same training loss every epoch ...
    assert.deepEqual(averaged.result.history.map((h) => h.trainLoss), plain.result.history.map((h) => h.trainLoss));
    // ... but validation and the returned model come from the average, which lags the last step.
    assert.equal(averaged.result.bestValAccuracy, 1);
    const diff = Math.max(...averaged.weights.flatMap((w, i) => Array.from(w, (v, k) => Math.abs(v - plain.weights[i][k]))));
    assert.ok(diff > 1e-3, `the returned weights are the last step's (max difference ${diff})`);
  });
});
