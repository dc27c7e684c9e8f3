import { readFile, stat, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ModelError } from '../../errors.js';

interface QuantizeCliOptions {
  calib: string;
  out: string;
  calibration: 'minmax' | 'percentile';
  percentile: string;
  ops: string;
  depthwise: boolean;
  batch: string;
  clips: string;
}

export function register(program: Command): void {
  program
    .command('quantize')
    .description('Quantize an fp32 spoken-digits ONNX model to int8 (QDQ, per-channel weights), calibrated on training features')
    .argument('<in>', 'fp32 ONNX model made by `digits export`')
    .requiredOption('--calib <path>', 'FSDD recordings folder (training takes >= 5 are used) or a raw float32 features file [clips, frames, dims] (.f32)')
    .option('--clips <n>', 'calibration clips picked from a recordings folder (balanced over digits and speakers)', '300')
    .requiredOption('--out <file>', 'int8 ONNX file to write')
    .option('--calibration <method>', 'minmax | percentile', 'minmax')
    .option('--percentile <p>', 'kept percentile of each activation for --calibration percentile', '99.99')
    .option('--ops <set>', 'linear (Conv/Gemm/MatMul) | all (also Add/Mul/Sigmoid/pooling)', 'linear')
    .option('--no-depthwise', 'keep depthwise convolutions fp32')
    .option('--batch <n>', 'clips per calibration batch', '32')
    .action(async (input: string, opts: QuantizeCliOptions) => {
      const [{ quantizeModel }, { parseModelMetadata }, { featureDimension }] = await Promise.all([
        import('../../train/onnx/quantize.js'),
        import('../../model/read-metadata.js'),
        import('../../features/config.js'),
      ]);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(input));
      } catch (err) {
        throw new ModelError(`cannot read model ${input}: ${(err as Error).message}`, { cause: err });
      }
      const meta = parseModelMetadata(bytes, input);
      const frames = meta.featureConfig.numFrames;
      const dims = featureDimension(meta.featureConfig);
      if (!(frames > 0)) throw new ModelError(`${input} has a variable number of frames; calibration files need a fixed numFrames`);
      const kind = await stat(opts.calib).catch(() => null);
      if (!kind) throw new ModelError(`calibration data ${opts.calib} not found`);
      const batch = Math.max(1, Number(opts.batch) | 0);
      let batches: { data: Float32Array; dims: number[] }[] = [];
      let clips = 0;
      if (kind.isDirectory()) {
        const [{ recordingsDir }, { loadFeatureBackend }, { clipFeatureBatches, pickCalibrationClips }] = await Promise.all([
          import('../../data/index.js'),
          import('../../features/index.js'),
          import('../../train/onnx/calibration.js'),
        ]);
        const found = recordingsDir(opts.calib);
        if (!found) throw new ModelError(`${opts.calib} holds no FSDD-named wav files ({digit}_{speaker}_{take}.wav)`);
        const picked = pickCalibrationClips(found.clips, Math.max(1, Number(opts.clips) | 0));
        batches = clipFeatureBatches(picked, meta.featureConfig, await loadFeatureBackend(), batch);
        clips = picked.length;
      } else {
        const raw = await readFile(opts.calib);
        const per = frames * dims;
        if (raw.byteLength % 4 !== 0 || raw.byteLength / 4 < per || (raw.byteLength / 4) % per !== 0)
          throw new ModelError(`${opts.calib} is ${raw.byteLength} bytes, not a whole number of float32 [${frames} x ${dims}] feature matrices for this model`);
        const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        clips = all.length / per;
        for (let i = 0; i < clips; i += batch) {
          const n = Math.min(batch, clips - i);
          batches.push({ data: all.slice(i * per, (i + n) * per), dims: [n, frames, dims] });
        }
      }
      const out = await quantizeModel(bytes, batches, {
        calibration: opts.calibration,
        percentile: Number(opts.percentile),
        ops: opts.ops === 'all' || opts.ops === 'linear' ? opts.ops : opts.ops.split(','),
        depthwise: opts.depthwise,
      });
      await writeFile(opts.out, out);
      process.stdout.write(`wrote ${opts.out} (${out.length} bytes int8, from ${bytes.length} bytes fp32; ${clips} calibration clips, ${opts.calibration})\n`);
    });
}
