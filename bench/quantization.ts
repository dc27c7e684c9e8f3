/**
 * fp32 vs int8 (QDQ) per model: FSDD test-split accuracy, agreement with fp32, single-thread
 * batch-1 latency in onnxruntime-node, file size. Decides per model whether int8 is worth keeping
 * (it must tie or beat fp32 on accuracy AND on latency, within 5%).
 *
 *   npx tsx bench/quantization.ts [--models a.onnx,b.onnx] [--data DIR] [--calib 300] [--runs 400]
 *                                 [--synthetic] [--int4-min-weights N] [--json]
 *
 * Default models: every models/*.onnx that is not *.int8.onnx. --synthetic adds the zoo's
 * architectures (src/train/zoo.ts, default width, the trainer's feature config) with random weights — their
 * accuracy is meaningless, only latency and agreement with fp32 count. Timing never fails anything.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseBenchArgs } from './args.js';
import Table from 'cli-table3';
import { ort } from '../src/model/ort.js';
import { type FsddClip, officialSplit, recordingsDir } from '../src/data/index.js';
import { type FeatureConfig, resolveFeatureConfig } from '../src/features/config.js';
import { loadFeatureBackend } from '../src/features/index.js';
import type { FeatureBackend } from '../src/features/backend.js';
import type { SpeechTrim } from '../src/model/metadata.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { speechCutter } from '../src/stream/core.js';
import { clipFeatureBatches, pickCalibrationClips } from '../src/train/onnx/calibration.js';
import { decodeModel } from '../src/train/onnx/graph.js';
import { QUANTIZATION_VARIANTS, chooseQuantization, type VariantResult } from '../src/train/onnx/choose.js';
import type { CalibrationBatch } from '../src/train/onnx/quantize.js';
import { parsePositiveInt } from '../src/cli/options.js';
import { SHARED_FSDD } from './data.js';

const { values } = parseBenchArgs(import.meta.url, {
  options: {
    models: { type: 'string' },
    data: { type: 'string' },
    calib: { type: 'string', default: '300' },
    runs: { type: 'string', default: '400' },
    synthetic: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    // Also the 'linear' and 'all' minmax variants with 4-bit weights in layers of >= N values.
    'int4-min-weights': { type: 'string' },
  },
});
const int4MinWeights = values['int4-min-weights'] === undefined ? undefined : parsePositiveInt('--int4-min-weights', values['int4-min-weights']);
const variants = [
  ...QUANTIZATION_VARIANTS,
  ...(int4MinWeights
    ? (['linear', 'all'] as const).map((ops) => ({ name: `int8 ${ops} minmax, 4-bit >= ${int4MinWeights}`, options: { ops, calibration: 'minmax' as const, int4MinWeights } }))
    : []),
];
const log = (s: string) => process.stderr.write(`${s}\n`);

type Row = VariantResult & { model: string };

function findData(): { clips: FsddClip[]; dir: string } {
  const candidates = [values.data, process.env.SPOKEN_DIGITS_DATA, SHARED_FSDD].filter((d): d is string => !!d);
  for (const c of candidates) {
    const found = recordingsDir(c);
    if (found) return found;
  }
  throw new Error(`FSDD recordings not found (tried ${candidates.join(', ')}); pass --data DIR`);
}

async function modelsToRun(): Promise<{ name: string; bytes: Uint8Array; synthetic: boolean }[]> {
  const out: { name: string; bytes: Uint8Array; synthetic: boolean }[] = [];
  const files = values.models
    ? values.models.split(',')
    : readdirSync('models')
        .filter((f) => f.endsWith('.onnx') && !f.includes('.int8.'))
        .map((f) => path.join('models', f));
  // `digits train` writes <run>/model.onnx: name those after the run folder.
  const nameOf = (f: string) => (path.basename(f, '.onnx') === 'model' ? path.basename(path.dirname(path.resolve(f))) : path.basename(f, '.onnx'));
  for (const f of files) out.push({ name: nameOf(f), bytes: new Uint8Array(readFileSync(f)), synthetic: false });
  if (values.synthetic) {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const { randomizeWeights } = await import('../test/onnx-models.js');
    const { ARCHITECTURES, buildModel } = await import('../src/train/zoo.js');
    const { TRAINING_FEATURE_CONFIG } = await import('../src/train/run.js');
    const { featureDimension } = await import('../src/features/config.js');
    const { exportToOnnx } = await import('../src/train/onnx/export.js');
    // The trainer's feature config (shapes as trained models have them); normalization from the calibration clips comes later.
    const featureConfig = resolveFeatureConfig(TRAINING_FEATURE_CONFIG);
    const FRAMES = featureConfig.numFrames;
    const DIMS = featureDimension(featureConfig);
    const labels = [...Array.from({ length: 10 }, (_, i) => String(i)), 'none'];
    for (const arch of ARCHITECTURES) {
      const m = buildModel(arch, { numFrames: FRAMES, dims: DIMS, numClasses: labels.length, seed: 1 });
      randomizeWeights(m, 1);
      out.push({ name: `untrained ${arch}`, bytes: exportToOnnx(m, { featureConfig, labels, modelType: arch }), synthetic: true });
    }
  }
  return out;
}

const featureCache = new Map<string, { calib: CalibrationBatch[]; test: CalibrationBatch[]; digits: number[] }>();
/** Calibration and test features as the model's inference makes them: clips cut to speech when its metadata says so. */
async function featuresFor(config: FeatureConfig, trim: SpeechTrim | null, clips: FsddClip[], backend: FeatureBackend) {
  const key = JSON.stringify([config, trim]);
  let f = featureCache.get(key);
  if (!f) {
    const calibClips = pickCalibrationClips(clips, Number(values.calib));
    const testClips = officialSplit(clips).test;
    const cut = await speechCutter(trim, config.sampleRate, backend.name);
    f = {
      calib: clipFeatureBatches(calibClips, config, backend, 50, cut),
      test: clipFeatureBatches(testClips, config, backend, 100, cut),
      digits: testClips.map((c) => c.digit),
    };
    featureCache.set(key, f);
  }
  return f;
}

const data = findData();
const backend = await loadFeatureBackend();
const rows: Row[] = [];
const verdicts: Record<string, { keep: 'int8' | 'fp32'; variant: string | null; why: string }> = {};
for (const model of await modelsToRun()) {
  let fp32 = model.bytes;
  let meta = parseModelMetadata(fp32, model.name);
  if (model.synthetic) {
    // Give the synthetic model normalized inputs like a trained one gets.
    const raw = (await featuresFor(meta.featureConfig, meta.speechTrim, data.clips, backend)).calib;
    const dims = raw[0].dims[2];
    const mean = new Array<number>(dims).fill(0);
    const sq = new Array<number>(dims).fill(0);
    let rowsSeen = 0;
    for (const b of raw)
      for (let r = 0; r < b.data.length / dims; r++, rowsSeen++)
        for (let j = 0; j < dims; j++) {
          mean[j] += b.data[r * dims + j];
          sq[j] += b.data[r * dims + j] ** 2;
        }
    const m = mean.map((v) => v / rowsSeen);
    const std = sq.map((v, j) => Math.sqrt(Math.max(v / rowsSeen - m[j] ** 2, 1e-6)));
    const config = resolveFeatureConfig({ ...meta.featureConfig, normalization: { mean: m, std } });
    const g = decodeModel(fp32);
    g.metadata['spoken_digits.feature_config'] = JSON.stringify(config);
    fp32 = (await import('../src/train/onnx/graph.js')).encodeModel(g);
    meta = parseModelMetadata(fp32);
  }
  log(`quantization bench: ${model.name} (${meta.modelType}) …`);
  const f = await featuresFor(meta.featureConfig, meta.speechTrim, data.clips, backend);
  const truth = f.digits.map((d) => meta.labels.indexOf(String(d)));
  // Random-weight models have no meaningful accuracy: judge them by agreement with fp32.
  const choice = await chooseQuantization(fp32, f.calib, {
    evaluation: { batches: f.test, labels: model.synthetic ? truth.map(() => -1) : truth },
    runs: Number(values.runs),
    variants,
  });
  for (const r of choice.results) rows.push({ model: model.name, ...r });
  verdicts[model.name] = { keep: choice.keep, variant: choice.variant, why: choice.why };
}

const result = {
  machine: `${(await import('node:os')).cpus()[0]?.model ?? '?'}; onnxruntime-node ${ort.env.versions?.common ?? ''}; 1 thread, batch 1`,
  featureBackend: backend.name,
  calibration: `${values.calib} balanced FSDD training clips (takes >= 5); evaluation on the official test split (takes 0-4); clips cut to speech as each model's inference cuts them`,
  rows,
  verdicts,
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const t = new Table({ style: { head: [], border: [] }, head: ['model', 'variant', 'KB', 'test acc %', 'agree w/ fp32 %', 'p50 µs', 'p90 µs'] });
  for (const r of rows)
    t.push([r.model, r.variant, (r.bytes / 1024).toFixed(1), Number.isNaN(r.accuracy) ? '-' : (100 * r.accuracy).toFixed(2), (100 * r.agreement).toFixed(1), r.p50us.toFixed(0), r.p90us.toFixed(0)]);
  process.stdout.write(`${t.toString()}\n${result.machine}; features: ${result.featureBackend}\n${result.calibration}\n`);
  for (const [m, v] of Object.entries(verdicts)) process.stdout.write(`${m}: keep ${v.keep} — ${v.why}\n`);
}
