import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { FsddClip } from '../../data/index.js';
import { ModelError } from '../../errors.js';
import { decimal, parsePositiveInt } from '../options.js';
import { checkOutFile, writeOutFile } from '../out-file.js';
import { noteUnread } from '../text.js';
import { resolveModelPath } from '../../model/package-root.js';

interface QuantizeCliOptions {
  calib: string;
  out: string;
  calibration: 'minmax' | 'percentile';
  percentile: string;
  ops: string;
  depthwise: boolean;
  stem?: boolean;
  batch: string;
  clips: string;
  auto?: boolean;
  int4MinWeights?: number;
  reduceRange: boolean;
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
    .option('--ops <set>', 'linear (Conv/Gemm/MatMul) | all (also Add/Sigmoid/pooling)', 'linear')
    .option(
      '--auto',
      'try the int8 variants (linear minmax, linear p99.99, all minmax, linear+stem minmax), measure accuracy on the FSDD test split (takes 0-4) and 1-thread p50 latency, and write the fastest that ties or beats fp32 on both, a latency within 5% of fp32\'s counting as a tie (needs the recordings folder)',
    )
    .option('--int4-min-weights <n>', 'weights of a layer with at least n values get 4 bits (-7..7 per channel, packed two per byte, same int8 kernels): a smaller file; check the accuracy', (v) => parsePositiveInt('--int4-min-weights', v))
    .option(
      '--no-reduce-range',
      '8-bit weights in -127..127 instead of -63..63: a little more precise where nothing saturates, but saturated sums (other answers) on x86 CPUs without VNNI (AMD before Zen 4, Intel before Cascade Lake and Ice Lake)',
    )
    .option('--no-depthwise', 'keep depthwise convolutions fp32')
    .option('--stem', 'also quantize convolutions with one input channel (the first conv on the spectrogram; fp32 by default, where int8 was slower)')
    .option('--batch <n>', 'clips per calibration batch', '32')
    .action(async (inputName: string, opts: QuantizeCliOptions, command: Command) => {
      const input = resolveModelPath(inputName);
      const given = (key: keyof QuantizeCliOptions) => command.getOptionValueSource(key) === 'cli';
      // --auto picks among its own variants, so the options it would override are refused, not dropped.
      const overridden = (['ops', 'depthwise', 'stem', 'calibration', 'percentile'] as const).filter(given);
      if (opts.auto && overridden.length) throw new ModelError(`--auto tries its own variants; leave out ${overridden.map((k) => (k === 'depthwise' ? '--no-depthwise' : `--${k}`)).join(', ')} (or quantize one variant without --auto)`);
      if (given('percentile') && opts.calibration !== 'percentile') throw new ModelError('--percentile needs --calibration percentile');
      const percentile = decimal(opts.percentile);
      if (!(percentile > 50 && percentile <= 100)) throw new ModelError(`--percentile '${opts.percentile}' must be a number in (50, 100]`);
      const [{ quantizeModel }, { featureDimension }, { checkModelLoads, readModelBytes }, { recordingsDir, officialSplit }] = await Promise.all([
        import('../../train/onnx/quantize.js'),
        import('../../features/config.js'),
        import('../../model/recognizer.js'),
        import('../../data/index.js'),
      ]);
      checkOutFile(opts.out, [input], 'the model being quantized');
      const { bytes } = await readModelBytes(input);
      // A model that does not run as its metadata says is named now, not as "model bytes" when the int8 file's normalization targets are measured.
      const meta = await checkModelLoads(bytes, input);
      const frames = meta.featureConfig.numFrames;
      const dims = featureDimension(meta.featureConfig);
      if (!(frames > 0)) throw new ModelError(`${input} has a variable number of frames; calibration files need a fixed numFrames`);
      const kind = await stat(opts.calib).catch(() => null);
      if (!kind) throw new ModelError(`calibration data ${opts.calib} not found`);
      const batch = parsePositiveInt('--batch', opts.batch);
      let batches: { data: Float32Array; dims: number[] }[] = [];
      let clips = 0;
      // The recordings (a folder given): calibration clips, the --auto test clips, and the normalization targets' clips.
      let found: ReturnType<typeof recordingsDir> = null;
      if (opts.auto && !kind.isDirectory()) throw new ModelError('--auto needs --calib to be the FSDD recordings folder (it evaluates on clips too)');
      if (kind.isDirectory()) {
        const [{ loadFeatureBackend }, { clipFeatureBatches, pickCalibrationClips }, { speechCutter }] = await Promise.all([
          import('../../features/index.js'),
          import('../../train/onnx/calibration.js'),
          import('../../stream/core.js'),
        ]);
        found = recordingsDir(opts.calib);
        if (!found) throw new ModelError(`${opts.calib} holds no FSDD-named wav files ({digit}_{speaker}_{take}.wav)`);
        await noteUnread(found.dir);
        const backend = await loadFeatureBackend();
        // Clips as inference will see them: cut to their speech when the model was trained so.
        const cut = await speechCutter(meta.speechTrim, meta.featureConfig.sampleRate, backend.name);
        const picked = pickCalibrationClips(found.clips, parsePositiveInt('--clips', opts.clips));
        batches = clipFeatureBatches(picked, meta.featureConfig, backend, batch, cut);
        clips = picked.length;
        if (opts.auto) {
          // Training clips would all score ~100% (the model learnt them), so the accuracy test uses
          // the official test split (takes 0-4), like bench/quantization.ts; calibration never sees it.
          const held = officialSplit(found.clips).test;
          const { chooseQuantization, QUANTIZATION_VARIANTS, variantFlags } = await import('../../train/onnx/choose.js');
          const choice = await chooseQuantization(bytes, batches, {
            evaluation: { batches: clipFeatureBatches(held, meta.featureConfig, backend, 100, cut), labels: held.map((c) => meta.labels.indexOf(String(c.digit))) },
            common: { int4MinWeights: opts.int4MinWeights, reduceRange: opts.reduceRange },
          });
          for (const r of choice.results)
            process.stdout.write(`${r.variant.padEnd(24)} ${(r.bytes / 1024).toFixed(1).padStart(7)} KB  accuracy ${(100 * r.accuracy).toFixed(2)}%  p50 ${r.p50us.toFixed(0)} µs\n`);
          if (choice.keep === 'fp32' || !choice.int8) {
            process.stdout.write(`keeping fp32, nothing written: ${choice.why}\n`);
            return;
          }
          await writeOutFile(opts.out, await withTargetsIfHad(choice.int8, meta.normTargets, found.clips));
          process.stdout.write(`wrote ${opts.out} (${choice.why})${targetsNote(meta.normTargets, true)}${await int4Note(choice.int8, opts.int4MinWeights)}\n`);
          const picked = QUANTIZATION_VARIANTS.find((v) => v.name === choice.variant)?.options;
          if (picked) process.stdout.write(`the same without --auto: digits quantize with ${variantFlags({ ...picked, int4MinWeights: opts.int4MinWeights, reduceRange: opts.reduceRange }) || 'the default flags'} (and this --calib, --clips and --batch)\n`);
          return;
        }
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
        percentile,
        ops: opts.ops === 'all' || opts.ops === 'linear' ? opts.ops : opts.ops.split(','),
        depthwise: opts.depthwise,
        singleChannelConv: opts.stem ?? false,
        int4MinWeights: opts.int4MinWeights,
        reduceRange: opts.reduceRange,
      });
      const written = found ? await withTargetsIfHad(out, meta.normTargets, found.clips) : out;
      await writeOutFile(opts.out, written);
      process.stdout.write(`wrote ${opts.out} (${written.length} bytes int8, from ${bytes.length} bytes fp32; ${clips} calibration clips, ${opts.calibration})${targetsNote(meta.normTargets, found !== null)}${await int4Note(written, opts.int4MinWeights)}\n`);
    });
}

/**
 * The int8 model with normalization targets of its own when the fp32 one had them (speaker adaptation
 * needs them; they describe one file's graph, so they are measured again on the int8 file as written):
 * over the official train split (takes 5-49) of the calibration folder's clips, clean.
 */
async function withTargetsIfHad(int8: Uint8Array, had: boolean, clips: readonly FsddClip[]): Promise<Uint8Array> {
  if (!had) return int8;
  const [{ withMeasuredNormTargets }, { officialSplit }] = await Promise.all([import('../../model/norm-targets.js'), import('../../data/index.js')]);
  const train = officialSplit([...clips]).train;
  if (train.length < 2) throw new ModelError(`the model has normalization targets, and measuring them on the int8 file needs the calibration folder's training clips (takes 5-49); it has ${train.length}`);
  return withMeasuredNormTargets(int8, train.map((c) => c.path), `official train split (takes 5-49, ${train.length} clips), clean`);
}

/** Said when --int4-min-weights found no layer that large: the file is plain int8, as without the option. */
async function int4Note(int8: Uint8Array, minWeights: number | undefined): Promise<string> {
  if (minWeights === undefined) return '';
  const { decodeModel } = await import('../../train/onnx/graph.js');
  const described = JSON.parse(decodeModel(int8).metadata['spoken_digits.quantization'] ?? '{}') as { int4Weights?: { tensors: number } };
  return described.int4Weights ? `; ${described.int4Weights.tensors} weight tensors 4-bit` : `; no layer has ${minWeights} weights or more: no 4-bit layers (all int8)`;
}

function targetsNote(had: boolean, measured: boolean): string {
  if (!had) return '';
  return measured ? '; normalization targets measured on it' : '; without the fp32 file\'s normalization targets (they need clips, not features): add them with npx tsx scripts/add-norm-targets.ts';
}
