import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ort } from '../src/model/ort.js';
import { officialSplit, recordingsDir } from '../src/data/index.js';
import { ModelError } from '../src/errors.js';
import { type FeatureConfig, featureDimension, resolveFeatureConfig } from '../src/features/config.js';
import { loadFeatureBackend } from '../src/features/index.js';
import { WHOLE_CLIP_SPEECH_TRIM } from '../src/model/metadata.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { clipFeatureBatches, pickBalancedClips } from '../src/train/onnx/calibration.js';
import { checkDistinctMembers, DuplicateMemberError, fuseEnsemble } from '../src/train/onnx/fuse.js';
import { decodeModel, encodeModel } from '../src/train/onnx/graph.js';
import { exportToOnnx } from '../src/train/onnx/index.js';
import { quantizeModel, type CalibrationBatch } from '../src/train/onnx/quantize.js';
import { TRAINING_FEATURE_CONFIG } from '../src/train/run.js';
import { FSDD_RECORDINGS as FSDD } from './fsdd.js';
import { randomizeWeights } from './onnx-models.js';

const labels = [...'0123456789', 'none'];
const FRAMES = 64;

/** A small conv net on [FRAMES, dims] features with random (seeded) weights. */
function convNet(dims: number, seed: number, classes = labels.length): tf.LayersModel {
  const L = tf.layers;
  const model = tf.sequential({
    layers: [
      L.reshape({ inputShape: [FRAMES, dims], targetShape: [FRAMES, dims, 1] }),
      L.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      L.batchNormalization(),
      L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      L.globalAveragePooling2d({}),
      L.dense({ units: classes, activation: 'softmax' }),
    ],
  });
  randomizeWeights(model, seed);
  return model;
}

/** The config with per-dimension statistics of these features, as a trained model carries. */
function withStats(config: FeatureConfig, batch: CalibrationBatch): FeatureConfig {
  const dims = featureDimension(config);
  const rows = batch.data.length / dims;
  const mean = new Array<number>(dims).fill(0);
  const sq = new Array<number>(dims).fill(0);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < dims; j++) {
      const v = batch.data[r * dims + j];
      mean[j] += v / rows;
      sq[j] += (v * v) / rows;
    }
  return resolveFeatureConfig({ ...config, normalization: { mean, std: mean.map((m, j) => Math.sqrt(Math.max(sq[j] - m * m, 1e-6))) } });
}

async function run(bytes: Uint8Array, b: CalibrationBatch): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await s.run({ features: new ort.Tensor('float32', b.data, b.dims) });
  await s.release();
  return out.probabilities.data as Float32Array;
}

describe('fused ensembles (log-mel and MFCC members in one ONNX model)', function () {
  this.timeout(120000);
  let logmel: FeatureConfig;
  let mfcc: FeatureConfig;
  let logmelBatch: CalibrationBatch;
  let mfccBatch: CalibrationBatch;
  const exported = (model: tf.LayersModel, featureConfig: FeatureConfig, extra: Record<string, unknown> = {}) =>
    exportToOnnx(model, { featureConfig, labels, modelType: 'cnn', rejection: { threshold: 0.3 }, speechTrim: WHOLE_CLIP_SPEECH_TRIM, ...extra });

  before(async () => {
    await tf.setBackend('cpu');
    const found = recordingsDir(FSDD);
    if (!found) throw new Error(`FSDD recordings not found under ${FSDD}; set SPOKEN_DIGITS_FSDD`);
    const backend = await loadFeatureBackend().catch(() => loadFeatureBackend({ backend: 'wasm' }));
    const clips = pickBalancedClips(officialSplit(found.clips).test, 30, 3);
    const rawLogmel = resolveFeatureConfig({ ...TRAINING_FEATURE_CONFIG, numFrames: FRAMES });
    const rawMfcc = resolveFeatureConfig({ ...rawLogmel, kind: 'mfcc', nMfcc: 20 });
    logmel = withStats(rawLogmel, clipFeatureBatches(clips, rawLogmel, backend, 30)[0]);
    mfcc = withStats(rawMfcc, clipFeatureBatches(clips, rawMfcc, backend, 30)[0]);
    // Each member's own features straight from the DSP core: the fused model must reproduce the
    // MFCC member's input from the log-mel features alone.
    logmelBatch = clipFeatureBatches(clips, logmel, backend, 30)[0];
    mfccBatch = clipFeatureBatches(clips, mfcc, backend, 30)[0];
  });

  it('gives the mean of what each member gives on its own features', async () => {
    const a = exported(convNet(32, 1), logmel);
    const b = exported(convNet(20, 2), mfcc);
    const c = exported(convNet(32, 3), { ...logmel, normalization: { mean: logmel.normalization!.mean.map((m) => m + 1), std: logmel.normalization!.std.map((s) => s * 2) } });
    const fused = fuseEnsemble([a, b, c]);
    const [pa, pb, pc, pf] = await Promise.all([run(a, logmelBatch), run(b, mfccBatch), run(c, logmelBatch), run(fused, logmelBatch)]);
    // The third member's own normalization differs from the front end's: fed its own view it
    // would see these features, which the adapter must reproduce.
    const cOwn = logmelBatch.data.map((v, i) => {
      const j = i % 32;
      const raw = v * logmel.normalization!.std[j] + logmel.normalization!.mean[j];
      return (raw - (logmel.normalization!.mean[j] + 1)) / (logmel.normalization!.std[j] * 2);
    });
    const pcOwn = await run(c, { data: cOwn, dims: logmelBatch.dims });
    let worst = 0;
    for (let i = 0; i < pf.length; i++) worst = Math.max(worst, Math.abs(pf[i] - (pa[i] + pb[i] + pcOwn[i]) / 3));
    assert.ok(worst < 1e-4, `fused vs mean of members: max difference ${worst}`);
    // The members really differ, so the average is not trivially one of them.
    let spread = 0;
    for (let i = 0; i < pf.length; i++) spread = Math.max(spread, Math.abs(pa[i] - pb[i]), Math.abs(pa[i] - pc[i]));
    assert.ok(spread > 1e-2, `members agree too closely to test the average (${spread})`);

    const meta = parseModelMetadata(fused);
    assert.equal(meta.modelType, 'ensemble(cnn logmel, cnn mfcc, cnn logmel)');
    assert.equal(meta.featureConfig.kind, 'logmel');
    assert.deepEqual(meta.featureConfig.normalization, logmel.normalization);
    assert.deepEqual(meta.labels, labels);
    assert.deepEqual(meta.speechTrim, WHOLE_CLIP_SPEECH_TRIM);
    assert.equal(meta.precision, 'fp32');
  });

  it('quantizes to int8 that agrees with the fused fp32 model', async () => {
    const fused = fuseEnsemble([exported(convNet(32, 4), logmel), exported(convNet(20, 5), mfcc)]);
    const int8 = await quantizeModel(fused, [logmelBatch]);
    const [pf, pq] = await Promise.all([run(fused, logmelBatch), run(int8, logmelBatch)]);
    const rows = pf.length / labels.length;
    let agree = 0;
    const argmax = (p: Float32Array, r: number) => p.subarray(r * labels.length, (r + 1) * labels.length).reduce((best, v, k, row) => (v > row[best] ? k : best), 0);
    for (let r = 0; r < rows; r++) if (argmax(pf, r) === argmax(pq, r)) agree++;
    assert.ok(agree >= rows - 2, `int8 agrees on ${agree} of ${rows}`);
  });

  it('refuses members that cannot share one front end, with the reason', () => {
    const a = exported(convNet(32, 1), logmel);
    const b = exported(convNet(20, 2), mfcc);
    assert.throws(() => fuseEnsemble([a]), (e: unknown) => e instanceof ModelError && /at least two members/.test(e.message));
    assert.throws(() => fuseEnsemble([b, a]), (e: unknown) => e instanceof ModelError && /first member .* must be a log-mel model/.test(e.message));
    const otherHop = exported(convNet(32, 1), resolveFeatureConfig({ ...logmel, hopLength: 80 }));
    assert.throws(() => fuseEnsemble([a, otherHop]), (e: unknown) => e instanceof ModelError && /hopLength 80 differs/.test(e.message));
    const digitsOnly = exportToOnnx(convNet(32, 1), { featureConfig: logmel, labels: [...'0123456789', 'x'], modelType: 'cnn', rejection: { threshold: 0.3 }, speechTrim: WHOLE_CLIP_SPEECH_TRIM });
    assert.throws(() => fuseEnsemble([a, digitsOnly]), (e: unknown) => e instanceof ModelError && /labels/.test(e.message));
    const whole = exported(convNet(32, 1), logmel, { speechTrim: null });
    assert.throws(() => fuseEnsemble([a, whole]), (e: unknown) => e instanceof ModelError && /speech trim/.test(e.message));
    const int8 = exported(convNet(32, 1), logmel, { precision: 'int8' });
    assert.throws(() => fuseEnsemble([a, int8]), (e: unknown) => e instanceof ModelError && /fuse the fp32 members/.test(e.message));
    // Nodes are valid at their own opset only: members of two opsets are not put in one graph.
    const newer = encodeModel({ ...decodeModel(exported(convNet(32, 1), logmel)), opset: 18 });
    assert.throws(() => fuseEnsemble([a, newer]), (e: unknown) => e instanceof ModelError && /different opsets \(member 1: 17, member 2: 18\)/.test(e.message));
  });

  it('`digits ensemble` fuses shipped models into a file the recognizer runs, and refuses one model given twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-fuse-'));
    const ensemble = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'ensemble', ...args], { encoding: 'utf8', timeout: 60000 });
    try {
      const out = join(dir, 'pair.onnx');
      // One model given twice is refused as a mistake: by one path twice, by another spelling or a link of
      // that path, or by a byte-identical copy (its mean would be that model at twice the cost).
      copyFileSync('models/small.onnx', join(dir, 'copy.onnx'));
      symlinkSync(join(process.cwd(), 'models', 'small.onnx'), join(dir, 'link.onnx'));
      for (const other of ['models/small.onnx', './models//small.onnx', join(dir, 'link.onnx')]) {
        const twice = ensemble('models/small.onnx', other, '--out', out);
        assert.equal(twice.status, 2, twice.stderr);
        const also = other === 'models/small.onnx' ? '' : ` (also as ${other})`;
        assert.ok(twice.stderr.startsWith(`digits: models/small.onnx is a member twice${also}: `), twice.stderr);
      }
      const copy = ensemble('models/default.onnx', 'models/small.onnx', join(dir, 'copy.onnx'), '--out', out);
      assert.equal(copy.status, 2, copy.stderr);
      assert.ok(copy.stderr.includes(`digits: models/small.onnx and ${join(dir, 'copy.onnx')} are the same model (byte-identical files, sha256 `), copy.stderr);
      assert.ok(!existsSync(out), 'nothing written');
      const r = ensemble('models/default.onnx', 'models/small.onnx', '--out', out);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /2 members, fp32/);
      // The fused file answers the mean of its members' probabilities.
      const { DigitRecognizer } = await import('../src/model/recognizer.js');
      const clip = join(recordingsDir(FSDD)!.dir, '7_jackson_3.wav');
      const [first, second, pair] = await Promise.all([DigitRecognizer.load({ model: 'models/default.onnx' }), DigitRecognizer.load({ model: 'models/small.onnx' }), DigitRecognizer.load({ model: new Uint8Array(readFileSync(out)) })]);
      const [a, b, ab] = [await first.predict(clip), await second.predict(clip), await pair.predict(clip)];
      assert.equal(ab.digit, 7);
      for (let i = 0; i < ab.probabilities.length; i++) assert.ok(Math.abs((a.probabilities[i] + b.probabilities[i]) / 2 - ab.probabilities[i]) < 1e-4, `class ${i}: ${a.probabilities[i]}, ${b.probabilities[i]} -> ${ab.probabilities[i]}`);
      await Promise.all([first.dispose(), second.dispose(), pair.dispose()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`digits ensemble` refuses a member that does not run as its metadata says, before writing a file that would not load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-fuse-'));
    try {
      const good = join(dir, 'good.onnx');
      const three = join(dir, 'three-classes.onnx');
      writeFileSync(good, exported(convNet(32, 1), logmel));
      // Its graph answers 3 classes, its metadata names 11 labels: the fuser's graph joins it, onnxruntime would refuse the result.
      const threeModel = decodeModel(exportToOnnx(convNet(32, 2, 3), { featureConfig: logmel, labels: ['0', '1', '2'], modelType: 'cnn', rejection: { threshold: 0.3 }, speechTrim: WHOLE_CLIP_SPEECH_TRIM }));
      threeModel.metadata['spoken_digits.labels'] = JSON.stringify(labels);
      writeFileSync(three, encodeModel(threeModel));
      const out = join(dir, 'pair.onnx');
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'ensemble', good, three, '--out', out], { encoding: 'utf8', timeout: 60000 });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim(), `digits: ${three} returns 3 values per clip, its metadata names ${labels.length} labels`);
      assert.ok(!existsSync(out), 'nothing written');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('byte-identical members are refused with a typed error naming every path of each model given twice', () => {
    const [x, y] = [new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])];
    assert.doesNotThrow(() => checkDistinctMembers(['a.onnx', 'b.onnx'], [x, y]));
    assert.throws(
      () => checkDistinctMembers(['a.onnx', 'b.onnx', 'c.onnx', 'd.onnx', 'e.onnx'], [x, y, x.slice(), y.slice(), x.slice()]),
      (e: unknown) =>
        e instanceof DuplicateMemberError && e.code === 'ERR_OPTIONS' &&
        /^a\.onnx, c\.onnx and e\.onnx are the same model \(byte-identical files, sha256 [0-9a-f]{12}\); b\.onnx and d\.onnx are the same model/.test(e.message),
    );
    // The library refuses them too, not only `digits ensemble`: members named as given, else by their place.
    const small = readFileSync('models/small.onnx');
    assert.throws(
      () => fuseEnsemble([small, new Uint8Array(small)]),
      (e: unknown) => e instanceof DuplicateMemberError && /^member 1 and member 2 are the same model/.test(e.message),
    );
  });
});

