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
}

export function register(program: Command): void {
  program
    .command('quantize')
    .description('Quantize an fp32 spoken-digits ONNX model to int8 (QDQ, per-channel weights), calibrated on training features')
    .argument('<in>', 'fp32 ONNX model made by `digits export`')
    .requiredOption('--calib <path>', 'calibration features: a raw little-endian float32 file [clips, frames, dims] (.f32)')
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
      if ((await stat(opts.calib).catch(() => null))?.isFile() !== true) throw new ModelError(`calibration file ${opts.calib} not found`);
      const raw = await readFile(opts.calib);
      const per = frames * dims;
      if (raw.byteLength % 4 !== 0 || raw.byteLength / 4 < per || (raw.byteLength / 4) % per !== 0)
        throw new ModelError(`${opts.calib} is ${raw.byteLength} bytes, not a whole number of float32 [${frames} x ${dims}] feature matrices for this model`);
      const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const clips = all.length / per;
      const batch = Math.max(1, Number(opts.batch) | 0);
      const batches = [];
      for (let i = 0; i < clips; i += batch) {
        const n = Math.min(batch, clips - i);
        batches.push({ data: all.slice(i * per, (i + n) * per), dims: [n, frames, dims] });
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
