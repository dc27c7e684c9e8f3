import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ort } from '../src/model/ort.js';
import { ModelError } from '../src/errors.js';
import { resolveFeatureConfig } from '../src/features/config.js';
import { METADATA_KEYS } from '../src/model/metadata.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { exportToOnnx } from '../src/train/onnx/index.js';
import { ARCHITECTURES as ZOO, buildModel } from '../src/train/zoo.js';
import { decodeModel, encodeModel } from '../src/train/onnx/graph.js';
import { version as packageVersion } from '../package.json';
import { fsddFeatures } from './onnx-features.js';
import { ARCHITECTURES, DIMS, FRAMES, LABELS, randomizeWeights } from './onnx-models.js';

// Replaced by the FSDD-derived config (same shape, with normalization) in the first before().
let featureConfig = resolveFeatureConfig({ nMfcc: DIMS, numFrames: FRAMES });
let testFeatures: tf.Tensor | undefined;
const labels = [...Array.from({ length: LABELS - 1 }, (_, i) => String(i)), 'none'];
const meta = (modelType: string) => ({
  featureConfig, labels, modelType, rejection: { threshold: 0.5 }, training: { seed: 1 }, metrics: { test: 0.99 } });

async function runOnnx(bytes: Uint8Array, x: tf.Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await session.run({ features: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
  await session.release();
  return out.probabilities.data as Float32Array;
}

async function setup(): Promise<void> {
  await tf.setBackend('cpu');
  const f = await fsddFeatures();
  featureConfig = f.config;
  // 12 FSDD test-split clips, features by the DSP core with normalization, as inference sees them.
  testFeatures ??= tf.tensor(f.test.data.subarray(0, 12 * FRAMES * DIMS), [12, FRAMES, DIMS]);
}

/** Clips whose top probability is below 0.99: the comparison only means something on those. */
const unsaturatedRows = (p: ArrayLike<number>) => {
  let n = 0;
  for (let r = 0; r < p.length / LABELS; r++) if (Math.max(...Array.from(p).slice(r * LABELS, (r + 1) * LABELS)) < 0.99) n++;
  return n;
};

describe('ONNX export', function () {
  this.timeout(120000);
  before(setup);

  for (const [arch, build] of Object.entries(ARCHITECTURES)) {
    it(`${arch}: onnxruntime matches tfjs within 1e-4`, async () => {
      const model = build();
      randomizeWeights(model, 11);
      const bytes = exportToOnnx(model, meta(arch));
      const x = testFeatures!;
      // tfjs gets the same numbers in whatever arrangement the model takes ([frames, dims, 1], flat, ...).
      let ref = model.predict(x.reshape([x.shape[0], ...(model.inputs[0].shape.slice(1) as number[])])) as tf.Tensor;
      // Models that end in logits must get the softmax in the exported graph.
      const last = model.layers[model.layers.length - 1].getConfig().activation;
      if (arch === 'dscnn') {
        assert.equal(last, 'linear');
        ref = tf.softmax(ref);
      }
      const want = ref.dataSync();
      const got = await runOnnx(bytes, x);
      assert.equal(got.length, 12 * LABELS);
      let maxDiff = 0;
      for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      assert.ok(maxDiff < 1e-4, `max |onnx - tfjs| = ${maxDiff}`);
      // The comparison means something only if the outputs are not saturated one-hots.
      assert.ok(unsaturatedRows(want) >= 6, 'test model output is saturated on most clips');
    });
  }

  // The training zoo itself (src/train/zoo.ts), at its default sizes, custom layers included, with
  // and without the per-clip mean normalization in front.
  for (const arch of ZOO) for (const utteranceNorm of [false, true]) {
    it(`zoo ${arch}${utteranceNorm ? ' with --utterance-norm' : ''}: onnxruntime matches tfjs within 1e-4`, async () => {
      const model = buildModel(arch, { numFrames: FRAMES, dims: DIMS, numClasses: LABELS, seed: 2, utteranceNorm });
      randomizeWeights(model, 12);
      const bytes = exportToOnnx(model, meta(arch));
      const want = (model.predict(testFeatures!) as tf.Tensor).dataSync();
      const got = await runOnnx(bytes, testFeatures!);
      let maxDiff = 0;
      for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      assert.ok(maxDiff < 1e-4, `max |onnx - tfjs| = ${maxDiff}`);
      assert.ok(unsaturatedRows(want) >= 6, 'test model output is saturated on most clips');
      const ops = decodeModel(bytes).graph.nodes.map((n) => n.op);
      assert.equal(ops.filter((o) => o === 'BatchNormalization').length, 0);
      assert.equal(ops.includes('ReduceMean') && ops.includes('Sub'), utteranceNorm, `${ops}`);
      // Layout changes: none for the conv nets, two for the transformer (around its time pooling).
      assert.ok(ops.filter((o) => o === 'Transpose').length <= (arch === 'transformer' ? 2 + 8 * 2 : 0), `${ops}`);
    });
  }

  it('folds BatchNorm into convolutions and uses at most one layout Transpose per conv stack', () => {
    const model = ARCHITECTURES['resnet-se']();
    const ops = decodeModel(exportToOnnx(model, meta('resnet-se'))).graph.nodes.map((n) => n.op);
    assert.equal(ops.filter((o) => o === 'Transpose').length, 0);
    assert.equal(ops.filter((o) => o === 'BatchNormalization' || o === 'Mul').length, 2, `only the SE gates multiply: ${ops}`);
    assert.equal(ops.filter((o) => o === 'Softmax').length, 1);
  });

  it('writes the contract input/output and metadata', () => {
    const bytes = exportToOnnx(ARCHITECTURES.cnn(), meta('cnn'));
    const m = parseModelMetadata(bytes);
    assert.deepEqual(m.labels, labels);
    assert.equal(m.modelType, 'cnn');
    assert.equal(m.precision, 'fp32');
    assert.deepEqual(m.featureConfig, featureConfig);
    assert.deepEqual(m.rejection, { threshold: 0.5 });
    assert.deepEqual(m.metrics, { test: 0.99 });
    assert.equal(m.opset, 17);
    const decoded = decodeModel(bytes);
    assert.deepEqual([decoded.producer, decoded.producerVersion], ['spoken-digits', packageVersion]);
    const g = decoded.graph;
    assert.deepEqual(g.inputs, [{ name: 'features', type: 'float', shape: ['batch', FRAMES, DIMS] }]);
    assert.deepEqual(g.outputs, [{ name: 'probabilities', type: 'float', shape: ['batch', LABELS] }]);
  });

  it('refuses models that do not fit the metadata, with a ModelError', () => {
    const model = ARCHITECTURES.mlp();
    assert.throws(() => exportToOnnx(model, { ...meta('mlp'), labels: labels.slice(0, 10) }), (e: unknown) => e instanceof ModelError && /labels/.test(e.message));
    const wrongFrames = resolveFeatureConfig({ nMfcc: DIMS, numFrames: FRAMES + 1 });
    assert.throws(() => exportToOnnx(model, { ...meta('mlp'), featureConfig: wrongFrames }), (e: unknown) => e instanceof ModelError && /numFrames/.test(e.message));
  });

  it("refuses 'logits' for a model that ends in softmax (it would apply softmax twice: flat probabilities)", () => {
    assert.throws(() => exportToOnnx(ARCHITECTURES.cnn(), meta('cnn'), { output: 'logits' }), (e: unknown) => e instanceof ModelError && /already ends in softmax/.test(e.message));
    assert.doesNotThrow(() => exportToOnnx(ARCHITECTURES.cnn(), meta('cnn'), { output: 'probabilities' }));
  });

  it('names an unsupported layer class in its error', () => {
    const x = tf.input({ shape: [FRAMES, DIMS] });
    const h = tf.layers.upSampling2d({ size: [2, 2] }).apply(tf.layers.reshape({ targetShape: [FRAMES, DIMS, 1] }).apply(x)) as tf.SymbolicTensor;
    const y = tf.layers.dense({ units: LABELS, activation: 'softmax' }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
    assert.throws(() => exportToOnnx(tf.model({ inputs: x, outputs: y }), meta('odd')), (e: unknown) => e instanceof ModelError && /UpSampling2D/.test(e.message));
  });
});

describe('model metadata reader', () => {
  it('rejects bytes that are not ONNX', () => {
    for (const bytes of [new TextEncoder().encode('{"not":"onnx"}'), new Uint8Array([0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4]), new Uint8Array(0)])
      assert.throws(() => parseModelMetadata(bytes, 'x.onnx'), (e: unknown) => e instanceof ModelError && /not an ONNX model/.test(e.message));
  });

  it('rejects an ONNX model without spoken-digits metadata, naming the missing keys', () => {
    const parsed = decodeModel(exportToOnnx(ARCHITECTURES.mlp(), meta('mlp')));
    const stripped = encodeModel({ ...parsed, metadata: {} });
    assert.throws(() => parseModelMetadata(stripped, 'plain.onnx'), (e: unknown) => e instanceof ModelError && e.message.includes(METADATA_KEYS.labels));
    const badJson = encodeModel({ ...parsed, metadata: { ...parsed.metadata, [METADATA_KEYS.labels]: '[1,' } });
    assert.throws(() => parseModelMetadata(badJson), (e: unknown) => e instanceof ModelError && /not valid JSON/.test(e.message));
  });
});

describe('digits export (CLI)', () => {
  it('exports a saved tfjs model directory with its metadata.json', async function () {
    this.timeout(120000);
    await setup();
    const { mkdtemp, writeFile, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { execFile } = await import('node:child_process');
    const dir = await mkdtemp(path.join(tmpdir(), 'sd-export-'));
    try {
      const model = ARCHITECTURES.cnn();
      randomizeWeights(model, 5);
      await model.save(
        tf.io.withSaveHandler(async (a) => {
          const { weightData, ...rest } = a;
          await writeFile(path.join(dir, 'model.json'), JSON.stringify({ ...rest, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
          await writeFile(path.join(dir, 'weights.bin'), new Uint8Array(weightData as ArrayBuffer));
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      const speechTrim = { dropDb: 40, marginMs: 50, keepWithinDb: 20 };
      await writeFile(path.join(dir, 'metadata.json'), JSON.stringify({ ...meta('cnn'), modelType: 'will-be-overridden', speechTrim }));
      const out = path.join(dir, 'cnn.onnx');
      const run = (args: string[]) =>
        new Promise<{ code: number; stderr: string }>((resolve) =>
          execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], (err, _stdout, stderr) =>
            resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
          ),
        );
      const ok = await run(['export', '--model', dir, '--out', out, '--model-type', 'cnn']);
      assert.equal(ok.code, 0, ok.stderr);
      const bytes = new Uint8Array(await readFile(out));
      assert.equal(parseModelMetadata(bytes).modelType, 'cnn');
      assert.deepEqual(parseModelMetadata(bytes).speechTrim, speechTrim);
      const x = testFeatures!;
      const want = (model.predict(x) as tf.Tensor).dataSync();
      const got = await runOnnx(bytes, x);
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4);
      // Metadata can come from an existing ONNX file instead (re-exporting a `digits train` run), all of it:
      // the cut to speech too, or the export would hear whole clips where the model learnt cut ones.
      const again = path.join(dir, 'again.onnx');
      const reuse = await run(['export', '--model', path.join(dir, 'model.json'), '--meta', out, '--out', again]);
      assert.equal(reuse.code, 0, reuse.stderr);
      assert.deepEqual(parseModelMetadata(new Uint8Array(await readFile(again))), parseModelMetadata(bytes));
      const bad = await run(['export', '--model', path.join(dir, 'nope'), '--out', out]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /tfjs model not found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
