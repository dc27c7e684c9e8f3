import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initTrainingBackend } from '../src/train/backend.js';
import { type TrainOptions, trainModel } from '../src/train/trainer.js';
import { TOY_DIMS as dims, TOY_FRAMES as frames, toyExamples } from './fixtures/toy-examples.js';

const { train, validation } = toyExamples(9, 64, 16);

/** One dense layer: no dropout, no batch statistics, so a learning rate of 0 leaves it exactly as it was. */
function toyModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape: [frames, dims] }));
  model.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  return model;
}

async function trainToy(options: Partial<TrainOptions>): Promise<{ result: Awaited<ReturnType<typeof trainModel>>; lines: string[]; weights: Float32Array[] }> {
  const lines: string[] = [];
  const model = toyModel();
  try {
    const result = await trainModel(model, { train, validation }, (a) => a, { frames, dims, numClasses: 2 }, null, {
      batchSize: 16, warmupEpochs: 0, labelSmoothing: 0, augment: false, specAugment: null, progress: false, ...options, log: (l) => lines.push(l),
    });
    return { result, lines, weights: model.getWeights().map((w) => Float32Array.from(w.dataSync())) };
  } finally {
    model.dispose();
  }
}

const epochLines = (lines: string[]) => lines.filter((l) => /^epoch \d+\//.test(l));

describe('train: --resume of a run that has nothing left to train', function () {
  this.timeout(120000);
  let dir: string;
  before(async () => {
    await initTrainingBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digits-resume-toy-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a run that ran all its epochs trains none, and keeps its epochs\' time and its best weights', async () => {
    const checkpointDir = path.join(dir, 'finished');
    const options = { epochs: 3, learningRate: 3e-3, patience: 0, checkpointDir };
    const first = await trainToy(options);
    assert.equal(first.result.history.length, 3);
    assert.ok(first.result.secondsPerEpoch > 0);
    const resumed = await trainToy({ ...options, resume: true });
    assert.deepEqual(epochLines(resumed.lines), [], 'no epoch trained again');
    assert.ok(resumed.lines.some((l) => /nothing to train: all 3 epochs ran/.test(l)), resumed.lines.join('\n'));
    assert.deepEqual(resumed.result.history, first.result.history);
    assert.equal(resumed.result.bestEpoch, first.result.bestEpoch);
    // The time of the epochs as they ran, not 0 s (no epoch ran in the resumed process).
    assert.equal(resumed.result.secondsPerEpoch, first.result.secondsPerEpoch);
    assert.equal(resumed.result.stoppedEarly, false);
    assert.deepEqual(resumed.weights, first.weights, 'the best epoch\'s weights');
  });

  it('a --patience given on the resume does not make a run that ran all its epochs "stopped early"', async () => {
    // Learning rate 0: the first epoch stays the best, as in a run whose patience would have run out.
    const options = { epochs: 3, learningRate: 0, minLearningRate: 0, patience: 0, checkpointDir: path.join(dir, 'all-flat') };
    const first = await trainToy(options);
    assert.equal(first.result.history.length, 3);
    assert.equal(first.result.bestEpoch, 1);
    const patient = await trainToy({ ...options, patience: 1, resume: true });
    assert.deepEqual(epochLines(patient.lines), []);
    assert.ok(patient.lines.some((l) => /nothing to train: all 3 epochs ran/.test(l)), patient.lines.join('\n'));
    assert.equal(patient.result.stoppedEarly, false);
  });

  it('a run stopped early by its patience stays stopped: no further epoch, still "stopped early"', async () => {
    const checkpointDir = path.join(dir, 'early');
    // Learning rate 0: every epoch scores the same, so none is better than the first and patience 1 stops at epoch 2.
    const options = { epochs: 6, learningRate: 0, minLearningRate: 0, patience: 1, checkpointDir };
    const first = await trainToy(options);
    assert.equal(first.result.stoppedEarly, true);
    assert.equal(first.result.history.length, 2);
    assert.equal(first.result.bestEpoch, 1);
    const resumed = await trainToy({ ...options, resume: true });
    assert.deepEqual(epochLines(resumed.lines), [], 'no epoch trained again');
    assert.ok(resumed.lines.some((l) => /nothing to train: it stopped early/.test(l)), resumed.lines.join('\n'));
    assert.deepEqual(resumed.result.history, first.result.history);
    assert.equal(resumed.result.stoppedEarly, true);
    assert.equal(resumed.result.secondsPerEpoch, first.result.secondsPerEpoch);
    // A resume that asks for more patience (or more epochs) does go on.
    const patient = await trainToy({ ...options, patience: 3, resume: true });
    assert.deepEqual(epochLines(patient.lines).map((l) => l.split(' ')[1]), ['3/6', '4/6']);
    assert.equal(patient.result.history.length, 4);
  });
});
