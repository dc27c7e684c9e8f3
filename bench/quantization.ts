/**
 * fp32 vs int8 (QDQ) per model: FSDD test-split accuracy, agreement with fp32, single-thread
 * batch-1 latency in onnxruntime-node, file size. Decides per model whether int8 is worth keeping
 * (it must tie or beat fp32 on accuracy AND on latency, within 5%).
 *
 *   npx tsx bench/quantization.ts [--models a.onnx,b.onnx] [--data DIR] [--calib 300] [--runs 400]
 *                                 [--synthetic] [--json]
 *
 * Default models: every models/*.onnx that is not *.int8.onnx. --synthetic adds random-weight
 * models shaped like the zoo (test/onnx-models.ts) — their "accuracy" is meaningless, only
 * latency and agreement count. Timing never fails anything.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import * as ort from 'onnxruntime-node';
import { type FsddClip, officialSplit, recordingsDir } from '../src/data/index.js';
import { type FeatureConfig, resolveFeatureConfig } from '../src/features/config.js';
import { loadFeatureBackend } from '../src/features/index.js';
import type { FeatureBackend } from '../src/features/backend.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { clipFeatureBatches, pickCalibrationClips } from '../src/train/onnx/calibration.js';
import { decodeModel } from '../src/train/onnx/graph.js';
import { type CalibrationBatch, type QuantizeOptions, quantizeModel } from '../src/train/onnx/quantize.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string' },
    data: { type: 'string' },
    calib: { type: 'string', default: '300' },
    runs: { type: 'string', default: '400' },
    synthetic: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Variant {
  name: string;
  options: QuantizeOptions | null;
}
const VARIANTS: Variant[] = [
  { name: 'fp32', options: null },
  { name: 'int8 linear minmax', options: { ops: 'linear', calibration: 'minmax' } },
  { name: 'int8 linear p99.99', options: { ops: 'linear', calibration: 'percentile', percentile: 99.99 } },
  { name: 'int8 all minmax', options: { ops: 'all', calibration: 'minmax' } },
];

interface Row {
  model: string;
  variant: string;
  bytes: number;
  accuracy: number;
  agreement: number;
  p50us: number;
  p90us: number;
}

function findData(): { clips: FsddClip[]; dir: string } {
  const candidates = [values.data, process.env.SPOKEN_DIGITS_DATA, '../shared/fsdd', '/work/shared/fsdd'].filter((d): d is string => !!d);
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
  for (const f of files) out.push({ name: path.basename(f, '.onnx'), bytes: new Uint8Array(readFileSync(f)), synthetic: false });
  if (values.synthetic) {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const { ARCHITECTURES, randomizeWeights, FRAMES, DIMS } = await import('../test/onnx-models.js');
    const { exportToOnnx } = await import('../src/train/onnx/export.js');
    // Same features as a real MFCC model; normalization from the calibration clips comes later.
    const featureConfig = resolveFeatureConfig({ kind: 'mfcc', nMfcc: DIMS, numFrames: FRAMES });
    const labels = [...Array.from({ length: 10 }, (_, i) => String(i)), 'none'];
    for (const arch of ['mlp', 'cnn', 'dscnn', 'resnet-se', 'conv1d', 'transformer-like']) {
      const m = ARCHITECTURES[arch]();
      randomizeWeights(m, 1);
      out.push({ name: `synthetic ${arch}`, bytes: exportToOnnx(m, { featureConfig, labels, modelType: arch }), synthetic: true });
    }
  }
  return out;
}

const featureCache = new Map<string, { calib: CalibrationBatch[]; test: CalibrationBatch[]; digits: number[] }>();
function featuresFor(config: FeatureConfig, clips: FsddClip[], backend: FeatureBackend) {
  const key = JSON.stringify(config);
  let f = featureCache.get(key);
  if (!f) {
    const calibClips = pickCalibrationClips(clips, Number(values.calib));
    const testClips = officialSplit(clips).test;
    f = {
      calib: clipFeatureBatches(calibClips, config, backend, 50),
      test: clipFeatureBatches(testClips, config, backend, 100),
      digits: testClips.map((c) => c.digit),
    };
    featureCache.set(key, f);
  }
  return f;
}

async function predictAll(session: ort.InferenceSession, batches: CalibrationBatch[]): Promise<number[]> {
  const out: number[] = [];
  for (const b of batches) {
    const p = (await session.run({ features: new ort.Tensor('float32', b.data, b.dims) })).probabilities.data as Float32Array;
    const n = p.length / b.dims[0];
    for (let r = 0; r < b.dims[0]; r++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (p[r * n + j] > p[r * n + best]) best = j;
      out.push(best);
    }
  }
  return out;
}

/** Batch-1 latency of several sessions, interleaved in rounds so machine noise hits all alike. */
async function latencies(sessions: ort.InferenceSession[], clip: CalibrationBatch, runs: number): Promise<{ p50: number; p90: number }[]> {
  const feeds = { features: new ort.Tensor('float32', clip.data, clip.dims) };
  const times = sessions.map(() => [] as number[]);
  for (const s of sessions) for (let i = 0; i < 30; i++) await s.run(feeds);
  const perRound = 20;
  for (let round = 0; round < Math.ceil(runs / perRound); round++)
    for (let k = 0; k < sessions.length; k++)
      for (let i = 0; i < perRound; i++) {
        const t0 = process.hrtime.bigint();
        await sessions[k].run(feeds);
        times[k].push(Number(process.hrtime.bigint() - t0) / 1000);
      }
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { p50: t[Math.floor(t.length * 0.5)], p90: t[Math.floor(t.length * 0.9)] };
  });
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
    const raw = featuresFor(meta.featureConfig, data.clips, backend).calib;
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
  const f = featuresFor(meta.featureConfig, data.clips, backend);
  const truth = f.digits.map((d) => meta.labels.indexOf(String(d)));
  const variants: { v: Variant; bytes: Uint8Array }[] = [];
  for (const v of VARIANTS) {
    try {
      variants.push({ v, bytes: v.options ? await quantizeModel(fp32, f.calib, v.options) : fp32 });
    } catch (err) {
      log(`  ${v.name}: ${(err as Error).message}`);
    }
  }
  const sessions = await Promise.all(
    variants.map((x) => ort.InferenceSession.create(x.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' })),
  );
  const preds: number[][] = [];
  for (const s of sessions) preds.push(await predictAll(s, f.test));
  const lat = await latencies(sessions, { data: f.test[0].data.subarray(0, f.test[0].data.length / f.test[0].dims[0]), dims: [1, ...f.test[0].dims.slice(1)] }, Number(values.runs));
  for (const s of sessions) await s.release();
  const n = truth.length;
  variants.forEach((x, k) => {
    rows.push({
      model: model.name,
      variant: x.v.name,
      bytes: x.bytes.length,
      accuracy: preds[k].filter((p, i) => p === truth[i]).length / n,
      agreement: preds[k].filter((p, i) => p === preds[0][i]).length / n,
      p50us: lat[k].p50,
      p90us: lat[k].p90,
    });
  });
  const mine = rows.filter((r) => r.model === model.name);
  const base = mine[0];
  const candidates = mine.slice(1).filter((r) => (model.synthetic ? r.agreement >= 0.98 : r.accuracy >= base.accuracy) && r.p50us <= base.p50us * 1.05);
  candidates.sort((a, b) => a.p50us - b.p50us);
  const best = candidates[0];
  const fastest = [...mine.slice(1)].sort((a, b) => a.p50us - b.p50us)[0];
  verdicts[model.name] = best
    ? { keep: 'int8', variant: best.variant, why: `${best.variant}: accuracy ${(100 * best.accuracy).toFixed(2)}% vs ${(100 * base.accuracy).toFixed(2)}%, p50 ${best.p50us.toFixed(0)} vs ${base.p50us.toFixed(0)} µs` }
    : {
        keep: 'fp32',
        variant: null,
        why: fastest
          ? `no int8 variant ties fp32 on both counts (fastest int8 ${fastest.variant}: p50 ${fastest.p50us.toFixed(0)} vs ${base.p50us.toFixed(0)} µs, accuracy ${(100 * fastest.accuracy).toFixed(2)}% vs ${(100 * base.accuracy).toFixed(2)}%)`
          : 'no int8 variant could be made',
      };
}

const result = {
  machine: `${(await import('node:os')).cpus()[0]?.model ?? '?'}; onnxruntime-node ${ort.env.versions?.common ?? ''}; 1 thread, batch 1`,
  featureBackend: backend.name,
  calibration: `${values.calib} balanced FSDD training clips (takes >= 5); evaluation on the official test split (takes 0-4)`,
  rows,
  verdicts,
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const t = new Table({ style: { head: [], border: [] }, head: ['model', 'variant', 'KB', 'test acc %', 'agree w/ fp32 %', 'p50 µs', 'p90 µs'] });
  for (const r of rows)
    t.push([r.model, r.variant, (r.bytes / 1024).toFixed(1), (100 * r.accuracy).toFixed(2), (100 * r.agreement).toFixed(1), r.p50us.toFixed(0), r.p90us.toFixed(0)]);
  process.stdout.write(`${t.toString()}\n${result.machine}; features: ${result.featureBackend}\n${result.calibration}\n`);
  for (const [m, v] of Object.entries(verdicts)) process.stdout.write(`${m}: keep ${v.keep} — ${v.why}\n`);
}
