/**
 * The same model run two ways: in TensorFlow.js (the backend training uses here: tfjs-node when
 * installed, else wasm) and exported by our exporter into ONNX Runtime (fp32, one thread).
 * Latency only: every zoo architecture is built at the default feature shape with seeded random
 * weights (the computation does not depend on the weights' values); outputs are checked to agree.
 * Usage: tsx bench/tfjs-vs-ort.ts [--runs 300] [--json]
 */
import { parseBenchArgs } from './args.js';
import { ort } from '../src/model/ort.js';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES, buildModel } from '../src/train/zoo.js';
import { initTrainingBackend } from '../src/train/backend.js';
import { exportToOnnx } from '../src/train/onnx/export.js';
import { DEFAULT_FEATURE_CONFIG, featureDimension } from '../src/features/config.js';
import { percentiles } from '../src/model/benchmark.js';

const { values } = parseBenchArgs(import.meta.url, { options: { runs: { type: 'string', default: '300' }, json: { type: 'boolean' } } });
const runs = Number(values.runs);
const backend = await initTrainingBackend();
const frames = DEFAULT_FEATURE_CONFIG.numFrames;
const dims = featureDimension(DEFAULT_FEATURE_CONFIG);
const labels = [...'0123456789', 'none'];
const input = Float32Array.from({ length: frames * dims }, (_, i) => Math.sin(i * 0.37));

const rows = [];
for (const arch of ARCHITECTURES) {
  const model = buildModel(arch, { numFrames: frames, dims, numClasses: labels.length, seed: 1 });
  const onnx = exportToOnnx(model, { featureConfig: DEFAULT_FEATURE_CONFIG, labels, modelType: arch });
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const x = tf.tensor3d(input, [1, frames, dims]);
  const feeds = { features: new ort.Tensor('float32', input, [1, frames, dims]) };
  const tfjsOnce = () => {
    const y = model.predict(x) as tf.Tensor;
    const out = y.dataSync();
    y.dispose();
    return out;
  };
  const a = tfjsOnce();
  const b = (await session.run(feeds)).probabilities.data as Float32Array;
  const maxDiff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
  const tfjsMs: number[] = [];
  const ortMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    tfjsOnce();
    tfjsMs.push(performance.now() - t);
    t = performance.now();
    await session.run(feeds);
    ortMs.push(performance.now() - t);
  }
  x.dispose();
  await session.release();
  const tfjs = percentiles(tfjsMs);
  const ortP = percentiles(ortMs);
  rows.push({ arch, params: model.countParams(), tfjs, ort: ortP, speedup: tfjs.p50 / ortP.p50, maxDiff });
  model.dispose();
}
const report = { tfjsBackend: backend, ort: `onnxruntime-node ${ort.env.versions.common}, 1 thread, batch 1`, frames, dims, runs, rows };
if (values.json) console.log(JSON.stringify(report));
else {
  console.log(`tfjs (${backend}) vs ONNX Runtime (1 thread), batch 1, input ${frames}x${dims}, ${runs} runs`);
  for (const r of rows) console.log(`${r.arch.padEnd(12)} ${String(r.params).padStart(7)} params  tfjs p50 ${r.tfjs.p50.toFixed(3)} ms  ORT p50 ${r.ort.p50.toFixed(3)} ms  ${r.speedup.toFixed(1)}x  max |diff| ${r.maxDiff.toExponential(1)}`);
}
