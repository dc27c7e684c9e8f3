import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../src/errors.js';
import { readModelMetadata } from '../src/model/read-metadata.js';
import { resolveFeatureConfig } from '../src/features/config.js';
import { initTrainingBackend } from '../src/train/backend.js';
import { exportToOnnx } from '../src/train/onnx/index.js';
import { Rng } from '../src/train/random.js';
import { runTraining } from '../src/train/run.js';
import { loadOnnxTeacher } from '../src/train/teacher.js';
import { type Example, evaluate, trainModel } from '../src/train/trainer.js';
import { buildModel } from '../src/train/zoo.js';
import { FSDD_RECORDINGS as FSDD } from './fsdd.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SMALL = path.join(ROOT, 'models', 'small.onnx');

// Two classes told apart by the sign of the features: trivially separable.
const frames = 4;
const dims = 3;
const featureConfig = resolveFeatureConfig({ kind: 'mfcc', nMfcc: dims, numFrames: frames });
const noise = new Rng(5);
const example = (label: number): Example => ({ audio: Float32Array.from({ length: frames * dims }, () => (label ? 1 : -1) + 0.3 * noise.normal()), label, raw: true });
const clean = Array.from({ length: 128 }, (_, i) => example(i % 2));
const validation = Array.from({ length: 64 }, (_, i) => example(i % 2));
/** The same inputs with every label wrong: only a teacher can say what they really are. */
const mislabelled = clean.map((e) => ({ ...e, label: 1 - e.label }));

const toyOptions = { epochs: 10, batchSize: 16, learningRate: 3e-3, warmupEpochs: 0, labelSmoothing: 0, patience: 0, augment: false, specAugment: null, progress: false, log: () => {} };

describe('train: knowledge distillation from an ONNX teacher', function () {
  this.timeout(240000);
  let dir: string;
  let teacherFile: string;

  before(async () => {
    await initTrainingBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digits-distill-'));
    const teacher = buildModel('mlp', { numFrames: frames, dims, numClasses: 2, seed: 3 });
    await trainModel(teacher, { train: clean, validation }, (a) => a, { frames, dims, numClasses: 2 }, null, toyOptions);
    teacherFile = path.join(dir, 'teacher.onnx');
    fs.writeFileSync(teacherFile, exportToOnnx(teacher, { featureConfig, labels: ['a', 'b'], modelType: 'mlp', training: { data: { split: 'toy' } } }));
    teacher.dispose();
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function student(distillWeight: number) {
    const teacher = await loadOnnxTeacher(teacherFile);
    const model = buildModel('mlp', { numFrames: frames, dims, numClasses: 2, seed: 1 });
    try {
      await trainModel(model, { train: mislabelled, validation: [] }, (a) => a, { frames, dims, numClasses: 2 }, null, { ...toyOptions, teacher, distillWeight });
      const valFeatures = validation.map((e) => e.audio as Float32Array);
      return evaluate(model, valFeatures, validation.map((e) => e.label), frames, dims, 2).accuracy;
    } finally {
      model.dispose();
      await teacher.dispose();
    }
  }

  it("the student learns the teacher's answers on each batch, and the labels' when the weight is 0", async () => {
    const tensors = tf.memory().numTensors;
    // Teacher weight 1: the (wrong) labels are ignored, the student agrees with the teacher.
    assert.equal(await student(1), 1);
    // Weight 0: the same run learns the wrong labels, so the teacher was what made the difference.
    assert.equal(await student(0), 0);
    assert.equal(tf.memory().numTensors, tensors, 'no tensors leak from distillation steps');
  });

  it('refuses a teacher that does not fit the student', async () => {
    const teacher = await loadOnnxTeacher(teacherFile);
    const model = buildModel('mlp', { numFrames: frames, dims, numClasses: 3, seed: 1 });
    try {
      await assert.rejects(
        trainModel(model, { train: clean.map((e) => ({ ...e, label: 2 })), validation: [] }, (a) => a, { frames, dims, numClasses: 3 }, null, { ...toyOptions, teacher }),
        (e: unknown) => e instanceof ModelError && /teacher .* 2 classes; the student maps 4x3 to 3/.test(e.message),
      );
    } finally {
      model.dispose();
      await teacher.dispose();
    }
  });

  it('refuses a missing or non-ONNX teacher file with a ModelError', async () => {
    await assert.rejects(loadOnnxTeacher(path.join(dir, 'missing.onnx')), (e: unknown) => e instanceof ModelError && /cannot read the teacher/.test(e.message));
    const junk = path.join(dir, 'junk.onnx');
    fs.writeFileSync(junk, 'not a model');
    await assert.rejects(loadOnnxTeacher(junk), (e: unknown) => e instanceof ModelError && /not an ONNX model/.test(e.message));
  });

  it('`digits train --teacher` distils from a shipped model: the student takes its features and the card says so', async () => {
    const out = path.join(dir, 'student');
    await promisify(execFile)('npx', ['tsx', 'src/cli/main.ts', 'train', '--arch', 'mlp', '--data', FSDD, '--teacher', SMALL, '--limit', '100', '--epochs', '1', '--no-augment', '--babble', '10', '--no-progress', '--out', out], { cwd: ROOT, maxBuffer: 1 << 24 });
    const card = JSON.parse(fs.readFileSync(path.join(out, 'card.json'), 'utf8'));
    assert.deepEqual(card.training.teacher, { file: 'small.onnx', modelType: 'resnet-se', distillWeight: 0.8 });
    assert.match(fs.readFileSync(path.join(out, 'card.md'), 'utf8'), /Distilled from small\.onnx \(resnet-se\)/);
    // Normalization statistics included: the teacher only knows its own input.
    const [student, teacher] = await Promise.all([readModelMetadata(path.join(out, 'model.onnx')), readModelMetadata(SMALL)]);
    assert.deepEqual(student.featureConfig, teacher.featureConfig);
  });

  it('refuses, before any training, a teacher trained on another split (it would leak the test clips), other labels or other features', async () => {
    const base = { arch: 'mlp' as const, data: FSDD, synthetic: null, none: true, teacher: SMALL, limit: 50, train: { epochs: 1, progress: false }, babbleSnrs: [], log: () => {} };
    // models/small.onnx was trained on the official split: it has heard every speaker's takes 5-49.
    await assert.rejects(runTraining({ ...base, split: { kind: 'loso', speaker: 'george' } }), (e: unknown) => e instanceof ModelError && /official.*leave-one-speaker-out: george.*leak/.test(e.message));
    await assert.rejects(runTraining({ ...base, split: { kind: 'official' }, none: false }), (e: unknown) => e instanceof ModelError && /labels/.test(e.message));
    await assert.rejects(runTraining({ ...base, split: { kind: 'official' }, featureConfig: { kind: 'mfcc', nMfcc: 20 } }), (e: unknown) => e instanceof ModelError && /teacher's features/.test(e.message));
  });
});
