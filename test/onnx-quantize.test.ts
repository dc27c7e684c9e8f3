import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeModelProto, encodeModelProto } from '../src/train/onnx/proto.js';
import { ort } from '../src/model/ort.js';
import { ModelError } from '../src/errors.js';
import { resolveFeatureConfig } from '../src/features/config.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { cpuFlags, int8RangeWarning, int8SumsSaturate } from '../src/model/int8-cpu.js';
import { DigitRecognizer, INT8_RANGE_WARNING } from '../src/model/recognizer.js';
import { disabledWarnings } from '../src/cli/run.js';
import { decodeModel, encodeModel } from '../src/train/onnx/graph.js';
import { exportToOnnx } from '../src/train/onnx/index.js';
import { type CalibrationBatch, quantizeModel } from '../src/train/onnx/quantize.js';
import { variantFlags } from '../src/train/onnx/choose.js';
import { FSDD_RECORDINGS } from './fsdd.js';
import { fsddFeatures } from './onnx-features.js';
import { ARCHITECTURES, DIMS, FRAMES, LABELS, randomizeWeights } from './onnx-models.js';

let featureConfig = resolveFeatureConfig({ nMfcc: DIMS, numFrames: FRAMES });
const labels = [...Array.from({ length: LABELS - 1 }, (_, i) => String(i)), 'none'];

/** Probabilities of `bytes` on `b`; `level` 'disabled' runs the graph as written (no fused integer kernels). */
async function predict(bytes: Uint8Array, b: CalibrationBatch, level: 'all' | 'disabled' = 'all'): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: level });
  const out = await s.run({ features: new ort.Tensor('float32', b.data, b.dims) });
  await s.release();
  return out.probabilities.data as Float32Array;
}

const argmax = (p: Float32Array, row: number) => {
  let best = 0;
  for (let j = 1; j < LABELS; j++) if (p[row * LABELS + j] > p[row * LABELS + best]) best = j;
  return best;
};

/** Clips of `b` on which two models' probabilities `p` and `q` pick the same top class. */
const agreement = (p: Float32Array, q: Float32Array, b: CalibrationBatch) => {
  let agree = 0;
  for (let r = 0; r < b.dims[0]; r++) if (argmax(p, r) === argmax(q, r)) agree++;
  return agree;
};

describe('int8 quantization', function () {
  this.timeout(120000);
  // Calibrated on features of 48 FSDD training clips, compared on 40 test-split clips.
  let calib: CalibrationBatch[] = [];
  let evalBatch: CalibrationBatch;
  before(async () => {
    await tf.setBackend('cpu');
    const f = await fsddFeatures();
    featureConfig = f.config;
    calib = f.calib;
    evalBatch = f.test;
  });

  for (const arch of ['cnn', 'dscnn', 'resnet-se', 'transformer-like', 'ensemble']) {
    for (const ops of ['linear', 'all'] as const) {
      it(`${arch} (${ops}): int8 weights, runs in onnxruntime, agrees with fp32`, async () => {
        const model = ARCHITECTURES[arch]();
        randomizeWeights(model, 3);
        const fp32 = exportToOnnx(model, { featureConfig, labels, modelType: arch });
        const int8 = await quantizeModel(fp32, calib, { ops });
        const g = decodeModel(int8).graph;
        const int8Weights = [...g.initializers.values()].filter((t) => t.type === 'int8' && t.dims.length >= 2);
        assert.ok(int8Weights.length > 0, 'no int8 weight tensors');
        // Only convs with one input channel per group (first conv, depthwise with a multiplier) may stay fp32.
        const floatWeights = [...g.initializers.values()].filter((t) => t.type === 'float' && t.dims.length >= 2 && t.data.length > 64);
        assert.ok(floatWeights.every((t) => t.dims.length === 4 && t.dims[1] === 1), `float weights left: ${floatWeights.map((t) => t.name)}`);
        // Values get short ids (the graph's input and output keep their contract names), nodes no names.
        const values = new Set([...g.initializers.keys(), ...g.nodes.flatMap((n) => [...n.inputs, ...n.outputs])]);
        for (const io of ['features', 'probabilities']) values.delete(io);
        values.delete('');
        assert.ok([...values].every((v) => v.length <= 3), `long value names: ${[...values].filter((v) => v.length > 3).slice(0, 3)}`);
        // decodeModel names unnamed nodes node_<i>: the file has no node names.
        assert.ok(g.nodes.every((n, i) => n.name === `node_${i}`), `named nodes: ${g.nodes.filter((n, i) => n.name !== `node_${i}`).map((n) => n.name).slice(0, 3)}`);
        const meta = parseModelMetadata(int8);
        assert.equal(meta.precision, 'int8');
        assert.deepEqual(meta.labels, labels);
        const a = await predict(fp32, evalBatch);
        const b = await predict(int8, evalBatch);
        const rows = evalBatch.dims[0];
        const agree = agreement(a, b, evalBatch);
        assert.ok(agree >= rows * 0.85, `int8 top-1 agrees with fp32 on only ${agree}/${rows} clips`);
        for (let r = 0; r < rows; r++) {
          let sum = 0;
          for (let j = 0; j < LABELS; j++) sum += b[r * LABELS + j];
          assert.ok(Math.abs(sum - 1) < 1e-4, 'int8 output is not a probability distribution');
        }
      });
    }
  }

  it('8-bit weights in -63..63 by default: the integer kernels compute what the QDQ graph says on every CPU (no 16-bit saturation without VNNI)', async () => {
    // A dense layer whose weights all have one magnitude (each quantizes to the channel's extreme)
    // on features whose uint8 values sit near and above the zero point: the worst case for
    // VPMADDUBSW, which adds two uint8 x int8 products into a saturating 16-bit sum on x86 CPUs
    // without VNNI (2 x 255 x 127 overflows it; 2 x 255 x 63 does not).
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [FRAMES, DIMS] }), tf.layers.dense({ units: LABELS, activation: 'softmax' })] });
    let s = 7;
    const sign = () => ((s = (s * 1103515245 + 12345) >>> 0) & 0x10000 ? 1 : -1);
    const kernel = Float32Array.from({ length: FRAMES * DIMS * LABELS }, () => 0.01 * sign());
    model.layers[1].setWeights([tf.tensor2d(kernel, [FRAMES * DIMS, LABELS]), tf.zeros([LABELS])]);
    const fp32 = exportToOnnx(model, { featureConfig, labels, modelType: 'mlp' });
    const weightPeak = (bytes: Uint8Array) =>
      Math.max(...[...decodeModel(bytes).graph.initializers.values()].filter((t) => t.type === 'int8' && t.dims.length >= 2).flatMap((t) => [...t.data].map((v) => Math.abs(Number(v)))));
    const reduced = await quantizeModel(fp32, calib);
    const full = await quantizeModel(fp32, calib, { reduceRange: false });
    assert.equal(weightPeak(reduced), 63);
    assert.equal(weightPeak(full), 127);
    // The fast reader a recognizer loads with finds the same peaks (zero points are 0).
    assert.equal(parseModelMetadata(reduced).int8WeightPeak, 63);
    assert.equal(parseModelMetadata(full).int8WeightPeak, 127);
    assert.equal(parseModelMetadata(fp32).int8WeightPeak, 0);
    assert.match(JSON.parse(decodeModel(reduced).metadata['spoken_digits.quantization']).weights, /-63\.\.63$/);
    assert.match(JSON.parse(decodeModel(full).metadata['spoken_digits.quantization']).weights, /-127\.\.127$/);
    assert.equal(variantFlags({ reduceRange: false }), '--no-reduce-range');
    // The same file run by the integer kernels (optimized: QGemm) and as written (unoptimized: each
    // DequantizeLinear in float, then the float Gemm): the same answers but for rounding.
    // Allowed: a rare output one quantization step off (float rounding at a half-step boundary).
    const offBy = (a: Float32Array, b: Float32Array) => a.filter((v, i) => Math.abs(v - b[i]) > 1e-3).length;
    const kernels = await predict(reduced, evalBatch);
    const written = await predict(reduced, evalBatch, 'disabled');
    assert.equal(agreement(kernels, written, evalBatch), evalBatch.dims[0]);
    assert.ok(offBy(kernels, written) <= 2, `integer kernels vs the QDQ graph in float: ${offBy(kernels, written)} of ${kernels.length} outputs differ by more than 1e-3`);
    // On a CPU that saturates (x86 with AVX2 and no VNNI), the full range must not pass the same check:
    // the test model really is one that saturates there.
    if (int8SumsSaturate()) {
      const fullKernels = await predict(full, evalBatch);
      const fullWritten = await predict(full, evalBatch, 'disabled');
      assert.ok(agreement(fullKernels, fullWritten, evalBatch) < evalBatch.dims[0] || offBy(fullKernels, fullWritten) > 2, 'the full range did not saturate on a CPU without VNNI');
    }
  });

  it('a full-range int8 file gets a process warning (once per file) where the CPU saturates, a reduced one never', async () => {
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [FRAMES, DIMS] }), tf.layers.dense({ units: LABELS, activation: 'softmax' })] });
    const fp32 = exportToOnnx(model, { featureConfig, labels, modelType: 'mlp' });
    const dir = mkdtempSync(join(tmpdir(), 'sd-int8-range-'));
    const fullFile = join(dir, 'full.int8.onnx');
    writeFileSync(fullFile, await quantizeModel(fp32, calib, { reduceRange: false }));
    const reduced = await quantizeModel(fp32, calib);
    const warnings: Error[] = [];
    // Node's own printer set aside while the test listens (it would print the warning into the test report).
    const printers = process.listeners('warning');
    process.removeAllListeners('warning');
    process.on('warning', (w) => warnings.push(w));
    let cli: ReturnType<typeof spawnSync>;
    let silenced: ReturnType<typeof spawnSync>;
    try {
      for (const m of [fullFile, fullFile, reduced]) await (await DigitRecognizer.load({ model: m })).dispose();
      await new Promise((resolve) => setImmediate(resolve));
      // The CLI prints it as one line of its own.
      const predictArgs = ['src/cli/main.ts', 'predict', '--model', fullFile, join(FSDD_RECORDINGS, '3_theo_0.wav')];
      cli = spawnSync(process.execPath, ['--import', 'tsx', ...predictArgs], { encoding: 'utf8' });
      // Node's switch for one warning silences it in the CLI's printer too.
      silenced = spawnSync(process.execPath, ['--import', 'tsx', `--disable-warning=${INT8_RANGE_WARNING}`, ...predictArgs], { encoding: 'utf8' });
    } finally {
      process.removeAllListeners('warning');
      for (const p of printers) process.on('warning', p);
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(cli.status, 0, String(cli.stderr));
    assert.equal(silenced.status, 0, String(silenced.stderr));
    assert.doesNotMatch(String(silenced.stderr), /8-bit weights/);
    assert.deepEqual([...disabledWarnings(['--disable-warning=A', '--disable-warning', 'B', '--other', '--disable-warning'])], ['A', 'B']);
    assert.doesNotMatch(String(cli.stderr), /\(node:\d+\)|--trace-warnings/);
    const ours = warnings.filter((w) => (w as NodeJS.ErrnoException).code === INT8_RANGE_WARNING);
    if (int8SumsSaturate()) {
      assert.equal(ours.length, 1, 'one warning for the full-range file, none for its second load or the reduced file');
      assert.match(ours[0].message, /full\.int8\.onnx has 8-bit weights up to 127: on this CPU \(x86 without VNNI\).*digits quantize/);
      assert.match(String(cli.stderr), /^digits: warning: \S*full\.int8\.onnx has 8-bit weights up to 127/m);
    } else {
      assert.equal(ours.length, 0);
      assert.doesNotMatch(String(cli.stderr), /8-bit weights/);
    }
  });

  it('int8SumsSaturate reads the CPU: x86 AVX2 or AVX-512 without VNNI saturates, VNNI and arm64 do not, unknown is null', () => {
    const cpu = (flags: string) => cpuFlags(`processor\t: 0\nmodel name\t: X\nflags\t\t: fpu sse2 ${flags}\n\nprocessor\t: 1\nflags\t\t: fpu sse2 ${flags}\n`, 'cpuinfo');
    assert.equal(int8SumsSaturate('x64', cpu('avx avx2 fma')), true);
    assert.equal(int8SumsSaturate('x64', cpu('avx2 avx512f avx512bw')), true);
    assert.equal(int8SumsSaturate('x64', cpu('avx2 avx512bw avx512_vnni')), false);
    assert.equal(int8SumsSaturate('x64', cpu('avx2 avx_vnni')), false);
    assert.equal(int8SumsSaturate('x64', cpu('sse4_1 sse4_2')), false);
    assert.equal(int8SumsSaturate('x64', null), null);
    assert.equal(int8SumsSaturate('x64', cpuFlags('processor : 0\n', 'cpuinfo')), null);
    assert.equal(int8SumsSaturate('arm64', null), false);
    assert.equal(int8SumsSaturate('riscv64', cpu('avx2')), null);
    // macOS on an Intel CPU: sysctl's two lines of upper-case names.
    const mac = (leaf7: string) => cpuFlags(`FPU VME SSE SSE2 SSE4.1 SSE4.2 POPCNT AES AVX1.0 RDRAND F16C\nBMI1 ${leaf7} SMEP BMI2 ERMS\n`, 'sysctl');
    assert.equal(int8SumsSaturate('x64', mac('AVX2')), true);
    assert.equal(int8SumsSaturate('x64', mac('AVX2 AVX512F AVX512BW AVX512VNNI')), false);
    assert.equal(int8SumsSaturate('x64', mac('')), false);
    assert.equal(cpuFlags('', 'sysctl'), null);
    assert.equal(int8RangeWarning('m.onnx', 64, true), null);
    assert.equal(int8RangeWarning('m.onnx', 127, false), null);
    assert.equal(int8RangeWarning('m.onnx', 127, null), null);
    assert.match(int8RangeWarning('m.onnx', 65, true)!, /^m\.onnx has 8-bit weights up to 65/);
  });

  it('absorbs ReLU into the quantized conv output and records how it calibrated', async () => {
    const fp32 = exportToOnnx(ARCHITECTURES.cnn(), { featureConfig, labels, modelType: 'cnn' });
    const int8 = await quantizeModel(fp32, calib, { calibration: 'percentile', percentile: 99.9, singleChannelConv: true });
    const m = decodeModel(int8);
    assert.equal(m.graph.nodes.filter((n) => n.op === 'Relu').length, 0);
    assert.ok(m.graph.nodes.filter((n) => n.op === 'QuantizeLinear').length >= 4);
    const q = JSON.parse(m.metadata['spoken_digits.quantization']);
    assert.equal(q.calibration, 'percentile 99.9');
    assert.equal(q.calibrationClips, 48);
    assert.ok(int8.length < fp32.length);
  });

  it('chooseQuantization reports every variant and keeps int8 only when it ties or wins', async () => {
    const { chooseQuantization } = await import('../src/train/onnx/choose.js');
    const model = ARCHITECTURES.mlp();
    randomizeWeights(model, 4);
    const fp32 = exportToOnnx(model, { featureConfig, labels, modelType: 'mlp' });
    const fp32Preds = await predict(fp32, evalBatch);
    // Labels = fp32's own answers, so fp32 scores 100% and int8 must match it on every clip to be kept.
    const truth = Array.from({ length: evalBatch.dims[0] }, (_, r) => argmax(fp32Preds, r));
    const choice = await chooseQuantization(fp32, calib, { evaluation: { batches: [evalBatch], labels: truth }, runs: 40 });
    assert.deepEqual(choice.results.map((r) => r.variant), ['fp32', 'int8 linear minmax', 'int8 linear p99.99', 'int8 all minmax', 'int8 linear+stem minmax']);
    assert.equal(choice.results[0].accuracy, 1);
    const chosen = choice.results.find((r) => r.variant === choice.variant);
    if (choice.keep === 'int8') {
      assert.ok(chosen && chosen.accuracy === 1 && chosen.p50us <= choice.results[0].p50us * 1.05, choice.why);
      assert.equal(parseModelMetadata(choice.int8!).precision, 'int8');
    } else {
      assert.equal(choice.int8, null);
      assert.ok(choice.results.slice(1).every((r) => r.accuracy < 1 || r.p50us > choice.results[0].p50us * 1.05), choice.why);
    }
  });

  it('4-bit weights: packed two per byte, unpacked exactly by onnxruntime, the same integer kernels as int8', async () => {
    const model = ARCHITECTURES['resnet-se']();
    randomizeWeights(model, 5);
    const fp32 = exportToOnnx(model, { featureConfig, labels, modelType: 'resnet-se' });
    const int8 = await quantizeModel(fp32, calib);
    const minWeights = 500;
    const int4 = await quantizeModel(fp32, calib, { int4MinWeights: minWeights });
    const m = decodeModel(int4);
    const g = m.graph;
    const dq = g.nodes.filter((n) => n.op === 'DequantizeLinear' && !g.initializers.has(n.inputs[0]) && g.nodes.some((p) => p.op === 'Reshape' && p.outputs[0] === n.inputs[0]));
    assert.ok(dq.length >= 2, `only ${dq.length} 4-bit weight tensors`);
    const big = [...decodeModel(fp32).graph.initializers.values()].filter((t) => t.dims.length >= 2 && t.data.length >= minWeights);
    assert.equal(dq.length, big.length, 'every weight with >= minWeights values is 4-bit');
    assert.ok(![...g.initializers.values()].some((t) => t.type === 'int8' && t.data.length >= minWeights), 'a large weight was left 8-bit');
    const saved = big.reduce((a, t) => a + t.data.length, 0) / 2;
    // Half a byte less per 4-bit weight; the unpacking ops cost well under 1 KB.
    assert.ok(int4.length < int8.length - saved + 1024, `4-bit file ${int4.length} B vs 8-bit ${int8.length} B (expected ~${saved} B less)`);
    assert.equal(JSON.parse(m.metadata['spoken_digits.quantization']).int4Weights.tensors, big.length);

    // What onnxruntime unpacks is the per-channel rounding of the fp32 weights to -7..7 at the stored scales.
    const probe = encodeModel({ ...m, graph: { ...g, outputs: [...g.outputs, ...dq.map((n) => ({ name: n.inputs[0], type: 'int8' as const, shape: null }))] } });
    const s = await ort.InferenceSession.create(probe, { intraOpNumThreads: 1 });
    const out = await s.run({ features: new ort.Tensor('float32', evalBatch.data.subarray(0, FRAMES * DIMS), [1, FRAMES, DIMS]) });
    await s.release();
    const floats = [...decodeModel(fp32).graph.initializers.values()];
    for (const n of dq) {
      const q = out[n.inputs[0]].data as Int8Array;
      const scales = g.initializers.get(n.inputs[1])!.data as Float32Array;
      const inner = q.length / scales.length;
      const rounded = (w: Float32Array) => Int8Array.from(w, (x, i) => Math.max(-7, Math.min(7, Math.round(x / scales[Math.floor(i / inner)]))));
      // Weights of the same shape (two convs alike) are told apart by their values.
      const w = floats.find((t) => t.dims.join() === out[n.inputs[0]].dims.join() && rounded(t.data as Float32Array).every((v, i) => v === q[i]));
      assert.ok(w, `${n.inputs[0]}: no fp32 weight rounds to the unpacked 4-bit values`);
      let clipped = 0;
      for (let i = 0; i < q.length; i++) if (Math.abs((w.data as Float32Array)[i] / scales[Math.floor(i / inner)]) > 7.5) clipped++;
      // The error-minimising scale clips a few of the largest weights, never most of them.
      assert.ok(clipped < q.length * 0.05, `${clipped} of ${q.length} weights clipped`);
    }

    // Loaded, the unpacking is folded away: the optimized graphs of the 4-bit and 8-bit files run the same ops.
    const optimized = async (bytes: Uint8Array) => {
      const file = join(mkdtempSync(join(tmpdir(), 'sd-int4-')), 'optimized.onnx');
      await (await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, optimizedModelFilePath: file, graphOptimizationLevel: 'extended' })).release();
      // Read with the plain schema: the optimized graph holds onnxruntime's own ops (QGemm, ...).
      return (decodeModelProto(readFileSync(file)).graph?.node ?? []).map((n) => n.opType ?? '').sort();
    };
    const ops4 = await optimized(int4);
    assert.deepEqual(ops4, await optimized(int8));
    assert.ok(ops4.includes('QLinearConv'));
    const agree = agreement(await predict(fp32, evalBatch), await predict(int4, evalBatch), evalBatch);
    assert.ok(agree >= evalBatch.dims[0] * 0.8, `4-bit top-1 agrees with fp32 on only ${agree}/${evalBatch.dims[0]} clips`);
  });

  for (const arch of ['mlp', 'cnn', 'dscnn', 'transformer-like', 'ensemble']) {
    it(`${arch}: 4-bit weights load and run wherever the architecture has large layers`, async () => {
      const model = ARCHITECTURES[arch]();
      randomizeWeights(model, 6);
      const fp32 = exportToOnnx(model, { featureConfig, labels, modelType: arch });
      const int8 = await quantizeModel(fp32, calib, { ops: 'all' });
      const int4 = await quantizeModel(fp32, calib, { ops: 'all', int4MinWeights: 256 });
      const record = JSON.parse(decodeModel(int4).metadata['spoken_digits.quantization']);
      assert.ok(record.int4Weights?.tensors >= 1, `${arch}: no 4-bit weights`);
      // Half a byte saved per 4-bit weight, less the unpacking ops (under 1 KB: a net loss on tiny layers).
      assert.ok(int4.length <= int8.length - record.int4Weights.values / 2 + 1024, `${arch}: 4-bit file ${int4.length} B, 8-bit ${int8.length} B`);
      const agree = agreement(await predict(int8, evalBatch), await predict(int4, evalBatch), evalBatch);
      assert.ok(agree >= evalBatch.dims[0] * 0.7, `${arch}: 4-bit top-1 agrees with 8-bit on only ${agree}/${evalBatch.dims[0]} clips`);
    });
  }

  it('a bias too large for int32 at its channel\'s weight scale (tiny weights) is kept, the channel quantized coarser, not wrapped', async () => {
    const model = ARCHITECTURES.mlp();
    randomizeWeights(model, 5);
    const m = decodeModel(exportToOnnx(model, { featureConfig, labels, modelType: 'mlp' }));
    // The last Gemm's class 3: weights of 1e-9, bias 0.5 (5e11 steps at the weights' own scale).
    const head = m.graph.nodes.filter((n) => n.op === 'Gemm').at(-1)!;
    const w = m.graph.initializers.get(head.inputs[1])!;
    const bias = m.graph.initializers.get(head.inputs[2])!;
    const out = w.dims[1];
    for (let i = 3; i < w.data.length; i += out) (w.data as Float32Array)[i] = 1e-9;
    (bias.data as Float32Array)[3] = 0.5;
    const fp32 = encodeModel(m);
    const int8 = await quantizeModel(fp32, calib);
    const [p, q] = [await predict(fp32, evalBatch), await predict(int8, evalBatch)];
    for (let r = 0; r < evalBatch.dims[0]; r++) assert.ok(Math.abs(p[r * LABELS + 3] - q[r * LABELS + 3]) < 0.02, `clip ${r}: class 3 at ${q[r * LABELS + 3]} in int8, ${p[r * LABELS + 3]} in fp32`);
  });

  it('an element-wise op that makes the graph output stays float (ops: all), and a dimension of unknown size stays unknown', async () => {
    // Seeded weights: the same model, and so the same int8 agreement, every run (an unseeded one failed it once in CI).
    const model = ARCHITECTURES.mlp();
    randomizeWeights(model, 3);
    const m = decodeModel(exportToOnnx(model, { featureConfig, labels, modelType: 'mlp' }));
    // The probabilities made by an Add of two activations (as a novelty gate makes them).
    const last = m.graph.nodes.find((n) => n.outputs.includes('probabilities'))!;
    last.outputs = ['probabilities_pre'];
    m.graph.nodes.push({ name: 'half', op: 'Mul', inputs: ['probabilities_pre', 'half_c'], outputs: ['halved'], attrs: {} });
    m.graph.initializers.set('half_c', { name: 'half_c', type: 'float', dims: [], data: Float32Array.of(0.5) });
    m.graph.nodes.push({ name: 'sum', op: 'Add', inputs: ['halved', 'halved'], outputs: ['probabilities'], attrs: {} });
    // And a batch dimension without a value or a name (legal ONNX: unknown).
    m.graph.inputs[0].shape![0] = null;
    const fp32 = encodeModel(m);
    const int8 = await quantizeModel(fp32, calib, { ops: 'all' });
    const g = decodeModel(int8).graph;
    const maker = g.nodes.find((n) => n.outputs.includes('probabilities'))!;
    assert.equal(maker.op, 'Add');
    assert.ok(maker.inputs.every((i) => !g.nodes.some((n) => n.outputs.includes(i) && n.op === 'DequantizeLinear')), 'the Add reads float values');
    assert.deepEqual(g.inputs[0].shape, [null, FRAMES, DIMS]);
    const [p, q] = [await predict(fp32, evalBatch), await predict(int8, evalBatch)];
    for (let r = 0; r < evalBatch.dims[0]; r++) {
      const sum = q.subarray(r * LABELS, (r + 1) * LABELS).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `clip ${r}: probabilities sum to ${sum}`);
    }
    assert.ok(agreement(p, q, evalBatch) >= evalBatch.dims[0] - 2, `${agreement(p, q, evalBatch)} of ${evalBatch.dims[0]} agree`);
  });

  it('refuses bad input with ModelError', async () => {
    const fp32 = exportToOnnx(ARCHITECTURES.mlp(), { featureConfig, labels, modelType: 'mlp' });
    const reject = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => e instanceof ModelError && re.test(e.message));
    await reject(quantizeModel(fp32, []), /calibration batch/);
    await reject(quantizeModel(fp32, [{ data: new Float32Array(FRAMES * (DIMS + 1)), dims: [1, FRAMES, DIMS + 1] }]), /does not fit/);
    await reject(quantizeModel(new TextEncoder().encode('hello'), calib), /not an ONNX model/);
    // Calibration data that cannot set ranges: every clip the same (digital silence, zeros), or values no feature has.
    const same = (value: number) => [{ data: new Float32Array(3 * FRAMES * DIMS).fill(value), dims: [3, FRAMES, DIMS] }];
    await reject(quantizeModel(fp32, same(0)), /calibration features are the same for every clip/);
    await reject(quantizeModel(fp32, same(-23.5)), /calibration features are the same for every clip/);
    const huge = calib.map((b) => ({ ...b, data: b.data.slice() }));
    huge[1].data[5] = 1e30;
    await reject(quantizeModel(fp32, huge), new RegExp(`calibration clip ${huge[0].dims[0]}'s features hold 1\\.0+\\d*e\\+30: not features of audio`));
    huge[1].data[5] = NaN;
    await reject(quantizeModel(fp32, huge), /features hold NaN/);
    const int8 = await quantizeModel(fp32, calib);
    await reject(quantizeModel(int8, calib), /already int8/);
    await reject(quantizeModel(fp32, calib, { ops: 'fast' as never }), /unknown op set/);
    await reject(quantizeModel(fp32, calib, { int4MinWeights: 0 }), /int4MinWeights/);
    // Older than opset 13: no per-channel DequantizeLinear to write.
    const old = decodeModel(fp32);
    await reject(quantizeModel(encodeModel({ ...old, opset: 12 }), calib), /opset 12; quantizing needs opset 13 or later/);
    // Weights kept in a file beside the model (TensorProto.data_location EXTERNAL) are named, not read as empty.
    const external = decodeModelProto(fp32);
    const weight = external.graph!.initializer![0];
    Object.assign(weight, { rawData: new Uint8Array(0), dataLocation: 1 });
    await reject(quantizeModel(encodeModelProto(external), calib), new RegExp(`'${weight.name}' keeps its data in an external file`));
  });
});

describe('digits quantize (CLI)', () => {
  it('--help and the README say when --auto counts a latency as a tie, and name its variants, each one a flag can write alone', async () => {
    const { execFileSync } = await import('node:child_process');
    const { DEFAULT_LATENCY_TOLERANCE, QUANTIZATION_VARIANTS } = await import('../src/train/onnx/choose.js');
    const oneLine = (text: string) => text.replace(/\s+/g, ' ');
    const help = oneLine(execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'quantize', '--help'], { encoding: 'utf8' }));
    const readme = oneLine(readFileSync('README.md', 'utf8'));
    const percent = Math.round(100 * (DEFAULT_LATENCY_TOLERANCE - 1));
    assert.ok(help.includes(`a latency within ${percent}% of fp32's counting as a tie`), help);
    assert.ok(readme.includes(`a latency within ${percent}% of fp32's counts as a tie`));
    // The flag that sets each option a variant sets: whatever --auto picks can be written again without it.
    const flags: Record<string, string> = { ops: '--ops', calibration: '--calibration', percentile: '--percentile', singleChannelConv: '--stem', depthwise: '--no-depthwise' };
    for (const v of QUANTIZATION_VARIANTS.filter((x) => x.options)) {
      const name = v.name.replace(/^int8 /, '');
      assert.ok(help.includes(name) && readme.includes(name), `--auto's variant '${name}' is named in --help and the README`);
      for (const key of Object.keys(v.options!)) {
        assert.ok(flags[key], `variant '${v.name}' sets ${key}, which no flag of digits quantize sets`);
        assert.ok(help.includes(`${flags[key]} `), `${flags[key]} in --help`);
      }
    }
  });

  it('quantizes with a float32 calibration file and rejects one of the wrong size', async function () {
    this.timeout(120000);
    const { mkdtemp, writeFile, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { execFile } = await import('node:child_process');
    const dir = await mkdtemp(path.join(tmpdir(), 'sd-quant-'));
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr })),
      );
    try {
      await tf.setBackend('cpu');
      const fp32 = path.join(dir, 'm.onnx');
      await writeFile(fp32, exportToOnnx(ARCHITECTURES.cnn(), { featureConfig: (await fsddFeatures()).config, labels, modelType: 'cnn' }));
      const calib = (await fsddFeatures()).calib[0].data;
      await writeFile(path.join(dir, 'calib.f32'), new Uint8Array(calib.buffer));
      const out = path.join(dir, 'm.int8.onnx');
      const ok = await run(['quantize', fp32, '--calib', path.join(dir, 'calib.f32'), '--out', out, '--batch', '8']);
      assert.equal(ok.code, 0, ok.stderr);
      const meta = parseModelMetadata(new Uint8Array(await readFile(out)));
      assert.equal(meta.precision, 'int8');
      // --stem: the conv on the 1-channel spectrogram gets int8 weights too (one int8 conv more), as --auto's stem variant.
      const stemOut = path.join(dir, 'm.stem.int8.onnx');
      const stem = await run(['quantize', fp32, '--calib', path.join(dir, 'calib.f32'), '--out', stemOut, '--batch', '8', '--stem']);
      assert.equal(stem.code, 0, stem.stderr);
      const quantized = async (file: string) => {
        const m = decodeModel(new Uint8Array(await readFile(file)));
        const dequantized = new Set(m.graph.nodes.filter((n) => n.op === 'DequantizeLinear' && m.graph.initializers.has(n.inputs[0])).map((n) => n.outputs[0]));
        const int8Convs = m.graph.nodes.filter((n) => n.op === 'Conv' && dequantized.has(n.inputs[1])).length;
        return { int8Convs, singleChannelConv: JSON.parse(m.metadata['spoken_digits.quantization']).singleChannelConv };
      };
      assert.deepEqual(await quantized(out), { int8Convs: 1, singleChannelConv: false });
      assert.deepEqual(await quantized(stemOut), { int8Convs: 2, singleChannelConv: true });
      const four = await run(['quantize', fp32, '--calib', path.join(dir, 'calib.f32'), '--out', path.join(dir, 'm.int4.onnx'), '--int4-min-weights', '1000']);
      assert.equal(four.code, 0, four.stderr);
      assert.ok(JSON.parse(decodeModel(new Uint8Array(await readFile(path.join(dir, 'm.int4.onnx')))).metadata['spoken_digits.quantization']).int4Weights.tensors >= 1);
      assert.match(four.stdout, /; \d+ weight tensors 4-bit/);
      // A size no layer reaches: a plain int8 file, and said so (it looked like a 4-bit run).
      const none = await run(['quantize', fp32, '--calib', path.join(dir, 'calib.f32'), '--out', path.join(dir, 'm.int4.onnx'), '--int4-min-weights', '1000000000']);
      assert.match(none.stdout, /no layer has 1000000000 weights or more: no 4-bit layers/);
      const notCount = await run(['quantize', fp32, '--calib', path.join(dir, 'calib.f32'), '--out', out, '--int4-min-weights', 'many']);
      // A bad option value is a usage error (exit code 2, as all bad input: src/cli/run.ts), named in the message.
      assert.equal(notCount.code, 2);
      assert.match(notCount.stderr, /--int4-min-weights 'many' must be a positive integer/);
      // Straight from the recordings: features of 20 balanced training clips by the DSP core.
      const fromWavs = await run(['quantize', fp32, '--calib', FSDD_RECORDINGS, '--clips', '20', '--out', out]);
      assert.equal(fromWavs.code, 0, fromWavs.stderr);
      assert.equal(JSON.parse(decodeModel(new Uint8Array(await readFile(out))).metadata['spoken_digits.quantization']).calibrationClips, 20);
      assert.equal(parseModelMetadata(new Uint8Array(await readFile(out))).normTargets, false);
      // A model with normalization targets keeps them: measured again on the int8 file (speaker adaptation needs them).
      const adaptable = path.join(dir, 'small.int8.onnx');
      const withTargets = await run(['quantize', 'models/small.onnx', '--calib', FSDD_RECORDINGS, '--clips', '20', '--out', adaptable]);
      assert.equal(withTargets.code, 0, withTargets.stderr);
      const targets = decodeModel(new Uint8Array(await readFile(adaptable))).metadata['spoken_digits.norm_targets'];
      assert.ok(targets && targets !== decodeModel(new Uint8Array(await readFile('models/small.onnx'))).metadata['spoken_digits.norm_targets'], 'the int8 file has targets of its own');
      // --auto measures the variants and writes int8 only when it ties or wins (timing decides, so either outcome is valid).
      const autoOut = path.join(dir, 'auto.int8.onnx');
      const auto = await run(['quantize', fp32, '--calib', FSDD_RECORDINGS, '--clips', '20', '--auto', '--out', autoOut]);
      assert.equal(auto.code, 0, auto.stderr);
      const written = await readFile(autoOut).then((b) => new Uint8Array(b), () => null);
      if (written) {
        assert.equal(parseModelMetadata(written).precision, 'int8');
        // It says how to write the same file without --auto, and those flags do.
        const said = /the same without --auto: digits quantize with (.*) \(and this --calib, --clips and --batch\)/.exec(auto.stdout);
        assert.ok(said, auto.stdout);
        const flags = said[1] === 'the default flags' ? [] : said[1].split(' ');
        const byHand = path.join(dir, 'by-hand.int8.onnx');
        const again = await run(['quantize', fp32, '--calib', FSDD_RECORDINGS, '--clips', '20', ...flags, '--out', byHand]);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(new Uint8Array(await readFile(byHand)), written, `${said[1]} wrote another file than --auto`);
      } else {
        // fp32 kept: said, with the reason, and no file left behind.
        assert.match(auto.stdout, /keeping fp32, nothing written: \S/, auto.stdout);
        assert.doesNotMatch(auto.stdout, /the same without --auto/);
      }
      // Either way, every variant it measured is listed with its size, accuracy and time.
      assert.ok((auto.stdout.match(/ KB {2}accuracy \d+\.\d\d% {2}p50 \d+ µs$/gm) ?? []).length >= 2, auto.stdout);
      await writeFile(path.join(dir, 'bad.f32'), new Uint8Array(calib.buffer, 0, 4 * (FRAMES * DIMS + 1)));
      const bad = await run(['quantize', fp32, '--calib', path.join(dir, 'bad.f32'), '--out', out]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /not a whole number/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
