import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { SpokenDigitsError } from '../../errors.js';
import type { FeatureConfig } from '../../features/config.js';
import { decimal } from '../options.js';
import { withTfjs } from '../tfjs-peer.js';
import type { SpecAugmentOptions } from '../../train/augment.js';

class TrainOptionError extends SpokenDigitsError {
  constructor(message: string) {
    super('ERR_TRAIN_OPTION', message);
  }
}

// decimal(): '' and ' ' are not 0 nor '0x10' 16 (Number() reads them so, and `--patience "$P"` with P unset turned early stopping off).
const int = (name: string, min: number) => (v: string) => {
  const n = decimal(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} '${v}' must be an integer >= ${min}`);
  return n;
};
const num = (name: string, min: number, max = Infinity) => (v: string) => {
  const n = decimal(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} '${v}' must be a number in [${min}, ${max}]`);
  return n;
};
const nonEmpty = (name: string) => (v: string) => {
  if (v.trim() === '') throw new InvalidArgumentError(`${name} is empty`);
  return v;
};

interface Opts {
  arch: string;
  members?: string;
  data?: string;
  out?: string;
  epochs: number;
  seed: number;
  limit?: number;
  loso?: string;
  split: 'official' | 'random';
  synthetic: string | boolean;
  syntheticDigits?: number;
  none: boolean;
  noneShare?: number;
  augment: boolean;
  width?: number;
  utteranceNorm: boolean;
  batchSize: number;
  lr: number;
  weightDecay: number;
  labelSmoothing: number;
  clipNorm: number;
  mixup: number;
  ema: number;
  accumulate: number;
  patience: number;
  warmup: number;
  restart: number;
  features?: string;
  augmentOptions?: string;
  specAugment?: string;
  initFrom?: string;
  teacher?: string;
  distillWeight: number;
  resume: boolean;
  onnx: boolean;
  losoResults?: string;
  foldModels: boolean;
  babble: string;
  progress: boolean;
}

/** Options a resumed run may change: how long it goes on, and what it writes or shows. */
const RESUME_MAY_CHANGE = new Set(['resume', 'progress', 'out', 'epochs', 'patience', 'onnx', 'losoResults', 'foldModels', 'babble']);

/** The options that define a run (paths resolved), in a fixed order. */
function runOptionsOf(opts: Opts): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(opts)
      .filter(([k, v]) => !RESUME_MAY_CHANGE.has(k) && v !== undefined)
      .map(([k, v]): [string, unknown] => [k, typeof v === 'string' && ['data', 'initFrom', 'teacher', 'synthetic'].includes(k) ? path.resolve(v) : v])
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

const RUN_OPTIONS_FILE = 'run-options.json';

/** Written once the options are known good, as the run starts (a refused run leaves no folder behind). */
function saveRunOptions(given: Record<string, unknown>, out: string): void {
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, RUN_OPTIONS_FILE), `${JSON.stringify(given, null, 1)}\n`);
}

/**
 * A run's options, saved beside it (run-options.json); a --resume with others is refused, naming them:
 * another seed, data subset or learning rate would change the validation set or the schedule mid-run,
 * and the card would describe the whole run by the new ones.
 */
function checkResumedOptions(given: Record<string, unknown>, out: string): void {
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(fs.readFileSync(path.join(out, RUN_OPTIONS_FILE), 'utf8'));
  } catch {
    return; // a run from before the options were saved: nothing to compare with
  }
  const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const changed = [...new Set([...Object.keys(saved), ...Object.keys(given)])].filter((k) => !RESUME_MAY_CHANGE.has(k) && JSON.stringify(saved[k]) !== JSON.stringify(given[k]));
  if (changed.length) {
    throw new TrainOptionError(
      `--resume with other options than the run it continues: ${changed.map((k) => `${flag(k)} ${JSON.stringify(saved[k] ?? null)} -> ${JSON.stringify(given[k] ?? null)}`).join(', ')}. ` +
        'Resume with the same options (only --epochs, --patience and what is written or shown may change), or train afresh with another --out',
    );
  }
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a model from the zoo on FSDD (tfjs), write it with its ONNX export, curves, confusion matrix and model card')
    .addOption(new Option('--arch <arch>', 'architecture').choices(['mlp', 'cnn', 'dscnn', 'resnet-se', 'transformer', 'ensemble']).makeOptionMandatory())
    .option('--members <list>', 'ensemble members, comma-separated architectures (each trained with its own seed)', 'dscnn,resnet-se,cnn')
    .option('--data <dir>', 'FSDD folder (default: $SPOKEN_DIGITS_DATA, then the cache)', nonEmpty('--data'))
    .option('--out <dir>', 'output folder (default: runs/<arch>-<seed>)', nonEmpty('--out'))
    .option('--epochs <n>', 'maximum epochs', int('--epochs', 1), 40)
    .option('--seed <n>', 'seed for weights, shuffling, dropout and augmentation', int('--seed', 0), 1)
    .option('--limit <n>', 'train on at most N clips (stratified), for quick runs', int('--limit', 10))
    .addOption(new Option('--split <name>', 'test set: official (FSDD\'s takes 0-4 of every speaker and digit) or random (a seeded tenth of each digit and speaker, for recordings numbered otherwise); written to <out>/test.csv').choices(['official', 'random']).default('official'))
    .option('--loso <speaker|all>', 'leave-one-speaker-out: hold out one speaker (or each in turn with "all"; or a comma-separated list) instead of the official split', nonEmpty('--loso'))
    .option('--synthetic [dir]', 'mix in synthetic espeak-ng speakers (default dir: ~/.cache/spoken-digits/synthetic; make them with scripts/synthesize-speakers.sh)', false)
    .option('--synthetic-digits <n>', 'use at most N synthetic digit clips (0 = only the non-digit words)', int('--synthetic-digits', 0))
    .option('--no-none', 'no "not a digit" class')
    .option('--none-share <x>', '"not a digit" examples per digit example in each epoch, 60% of them words (from --synthetic; without it, all noise and silence), the rest noise and silence (default 0.1)', num('--none-share', 0, 2))
    .option('--no-augment', 'no audio augmentation or SpecAugment')
    .option('--spec-augment <json>', 'SpecAugment masks over the defaults, e.g. \'{"freqMasks":2,"maxFreqWidth":6}\' (keys timeMasks, maxTimeWidth, freqMasks, maxFreqWidth; default 2, 6, 2, 3)')
    .option('--augment-options <json>', 'augmentation overrides as JSON, e.g. \'{"pNoise":0.8,"snrDb":[-3,20],"noiseKinds":{"babble":6,"pink":1}}\'')
    .option('--init-from <dir>', 'start from the weights of a trained model of the same architecture (its tfjs/ folder), e.g. to fine-tune')
    .option('--teacher <model.onnx>', 'knowledge distillation: blend this model\'s probabilities on each augmented batch into the targets (e.g. a fused ensemble from `digits ensemble`); the student takes its feature config')
    .option('--distill-weight <w>', 'weight of the teacher\'s probabilities in the targets (the rest: the label-smoothed labels)', num('--distill-weight', 0, 1), 0.8)
    .option('--width <x>', 'width multiplier of the architecture', num('--width', 0.1, 8))
    .option('--utterance-norm', "subtract each feature band's mean over the clip in the model's first layer (removes microphone/room colouring)", false)
    .option('--batch-size <n>', 'batch size', int('--batch-size', 1), 64)
    .option('--lr <x>', 'peak learning rate (AdamW)', num('--lr', 1e-6, 1), 3e-3)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', num('--weight-decay', 0, 1), 1e-2)
    .option('--label-smoothing <x>', 'label smoothing', num('--label-smoothing', 0, 0.5), 0.1)
    .option('--clip-norm <x>', 'global gradient norm clip (0 = off)', num('--clip-norm', 0), 5)
    .option('--mixup <alpha>', 'mixup: blend each batch with a shuffled copy by λ ~ Beta(alpha, alpha) (0 = off)', num('--mixup', 0, 10), 0)
    .option('--ema <decay>', 'evaluate and keep a moving average of the weights with this decay per step, e.g. 0.99 (0 = off)', num('--ema', 0, 0.99999), 0)
    .option('--accumulate <n>', 'gradient accumulation steps', int('--accumulate', 1), 1)
    .option('--patience <n>', 'early stopping patience in epochs (0 = off)', int('--patience', 0), 12)
    .option('--warmup <n>', 'warm-up epochs', num('--warmup', 0), 2)
    .option('--restart <n>', 'first cosine cycle length in epochs (warm restarts double it)', num('--restart', 1), 10)
    .option('--features <json>', 'feature config overrides as JSON, e.g. \'{"kind":"mfcc","nMfcc":20}\'')
    .option('--resume', 'continue from the checkpoint in <out>/checkpoint (a run that ran all its epochs trains no further unless given more --epochs; one that stopped early, unless given more --patience or --patience 0)', false)
    .option('--no-onnx', 'skip the ONNX export')
    .option('--fold-models', 'with --loso: also write each fold\'s trained model to <out>/<speaker>/ (tfjs, and ONNX unless --no-onnx), e.g. to fuse a fold ensemble as a distillation teacher', false)
    .option('--loso-results <file>', 'loso.json from a `--loso all` run, to publish its folds in this model card', nonEmpty('--loso-results'))
    .option('--babble <snrs>', 'babble SNRs (dB) to test at, comma-separated', '10,5')
    .option('--no-progress', 'no progress bar (one line per epoch)')
    .action(async (opts: Opts, command: Command) => {
      checkApplicable(opts, command);
      const losoResults = opts.losoResults ? readLosoResults(opts.losoResults) : null;
      const [{ initTrainingBackend }, { runTraining, runLoso, writeRunOutputs }, { defaultSyntheticDir }, { isArchitecture }, { DEFAULT_SPEC_AUGMENT, checkAugmentOptions }] = await withTfjs('train', () =>
        Promise.all([import('../../train/backend.js'), import('../../train/run.js'), import('../../train/dataset.js'), import('../../train/zoo.js'), import('../../train/augment.js')]),
      );
      let featureConfig: Partial<FeatureConfig> | undefined;
      if (opts.features) {
        try {
          featureConfig = JSON.parse(opts.features);
        } catch {
          throw new TrainOptionError(`--features is not valid JSON: ${opts.features}`);
        }
        if (featureConfig === null || typeof featureConfig !== 'object' || Array.isArray(featureConfig)) throw new TrainOptionError(`--features takes a JSON object, e.g. '{"kind":"mfcc","nMfcc":20}', not ${opts.features}`);
      }
      let augment: Record<string, unknown> | undefined;
      if (opts.augmentOptions) {
        try {
          augment = JSON.parse(opts.augmentOptions);
        } catch {
          throw new TrainOptionError(`--augment-options is not valid JSON: ${opts.augmentOptions}`);
        }
        checkAugmentOptions(augment, true);
      }
      const synthetic = opts.synthetic === false ? null : opts.synthetic === true ? defaultSyntheticDir() : path.resolve(opts.synthetic);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const out = path.resolve(opts.out ?? path.join('runs', `${opts.arch}-${opts.seed}`));
      if (fs.statSync(out, { throwIfNoEntry: false })?.isDirectory() === false) throw new TrainOptionError(`--out ${out} is a file; give a folder for the run's files`);
      // Checked before any audio loads (the trainer checks again): a mistyped --out, or the default
      // folder of another --seed, would otherwise train afresh for hours.
      const firstCheckpoint = opts.arch === 'ensemble' ? path.join(out, 'members', `0-${opts.members!.split(',')[0].trim()}`, 'checkpoint') : path.join(out, 'checkpoint');
      if (!opts.resume && fs.existsSync(path.join(out, opts.arch === 'ensemble' ? 'ensemble.json' : opts.loso ? 'loso.json' : 'card.json'))) {
        log(`note: ${out} holds an earlier run; its files are replaced as this one writes (--out elsewhere keeps it)`);
      }
      if (opts.epochs <= opts.warmup) {
        log(`note: --epochs ${opts.epochs} ends within the warm-up (--warmup ${opts.warmup}): the learning rate never reaches --lr and the model learns little; add --warmup 0 for a short run`);
      }
      if (opts.resume && !fs.existsSync(path.join(firstCheckpoint, 'state.json'))) {
        throw new TrainOptionError(`--resume: nothing to resume in ${firstCheckpoint} (no state.json); check --out and --seed, or leave out --resume`);
      }
      const runOptions = runOptionsOf(opts);
      if (opts.resume) checkResumedOptions(runOptions, out);
      const babbleSnrs = opts.babble
        .split(',')
        .filter(Boolean)
        .map((s) => {
          const v = decimal(s);
          if (!Number.isFinite(v)) throw new TrainOptionError(`--babble: '${s}' is not a number`);
          return v;
        });
      const trainOpts = {
        epochs: opts.epochs,
        seed: opts.seed,
        batchSize: opts.batchSize,
        learningRate: opts.lr,
        weightDecay: opts.weightDecay,
        labelSmoothing: opts.labelSmoothing,
        clipNorm: opts.clipNorm,
        mixup: opts.mixup,
        ema: opts.ema,
        distillWeight: opts.distillWeight,
        accumulate: opts.accumulate,
        patience: opts.patience,
        warmupEpochs: opts.warmup,
        restartEpochs: opts.restart,
        augment: opts.augment,
        specAugment: opts.augment ? specAugmentOptions(opts.specAugment, DEFAULT_SPEC_AUGMENT) : null,
        progress: opts.progress,
        resume: opts.resume,
      };
      await initTrainingBackend();
      const members = opts.arch === 'ensemble' ? opts.members!.split(',').map((s) => s.trim()) : [opts.arch];
      for (const m of members) if (!isArchitecture(m)) throw new TrainOptionError(`unknown architecture '${m}'; choose from mlp, cnn, dscnn, resnet-se, transformer`);
      if (!opts.resume) saveRunOptions(runOptions, out);
      const base = { data: opts.data, limit: opts.limit, synthetic, syntheticDigits: opts.syntheticDigits, none: opts.none, noneShare: opts.noneShare, featureConfig, width: opts.width, utteranceNorm: opts.utteranceNorm, augment, initFrom: opts.initFrom ? path.resolve(opts.initFrom) : undefined, teacher: opts.teacher ? path.resolve(opts.teacher) : undefined, log };

      if (opts.loso) {
        if (opts.arch === 'ensemble') throw new TrainOptionError('--loso with --arch ensemble is not supported; run it per member architecture');
        const speakers = opts.loso === 'all' ? 'all' : opts.loso.split(',').map((s) => s.trim());
        const folds: Awaited<ReturnType<typeof runLoso>> = [];
        const save = () => {
          fs.mkdirSync(out, { recursive: true });
          const mean = folds.reduce((s, f) => s + f.accuracy, 0) / Math.max(1, folds.length);
          const summary = folds.map(({ test: _, ...f }) => f);
          fs.writeFileSync(path.join(out, 'loso.json'), JSON.stringify({ arch: opts.arch, seed: opts.seed, epochs: opts.epochs, utteranceNorm: opts.utteranceNorm, synthetic: !!synthetic, none: opts.none, mean, folds: summary }, null, 2));
          for (const f of folds) fs.writeFileSync(path.join(out, `${f.speaker}.test.json`), JSON.stringify(f.test));
          return mean;
        };
        const exportFold = opts.foldModels && opts.onnx ? await onnxExporter() : undefined;
        await runLoso(
          { ...base, arch: opts.arch as never, train: trainOpts },
          speakers,
          (f) => {
            folds.push(f);
            save();
          },
          opts.foldModels ? async (speaker, r) => void (await writeRunOutputs(path.join(out, speaker), r, { onnx: exportFold })) : undefined,
        );
        const mean = save();
        process.stdout.write(`${folds.map((f) => `${f.speaker}: ${(100 * f.accuracy).toFixed(2)}%`).join('\n')}\nLOSO mean over ${folds.length} folds: ${(100 * mean).toFixed(2)}%\n${path.join(out, 'loso.json')}\n`);
        return;
      }

      const loso = losoResults as never;
      const exportOnnx = opts.onnx ? await onnxExporter() : undefined;
      for (const [k, arch] of members.entries()) {
        const memberOut = opts.arch === 'ensemble' ? path.join(out, 'members', `${k}-${arch}`) : out;
        const seed = opts.seed + (opts.arch === 'ensemble' ? k * 101 : 0);
        const r = await runTraining({
          ...base,
          arch: arch as never,
          // Every member of an ensemble is tested on the same clips: the split takes the run's seed, not the member's.
          split: opts.split === 'random' ? { kind: 'random', seed: opts.seed } : { kind: 'official' },
          babbleSnrs,
          train: { ...trainOpts, seed, checkpointDir: path.join(memberOut, 'checkpoint') },
        });
        const files = await writeRunOutputs(memberOut, r, { onnx: exportOnnx, loso });
        process.stdout.write(
          `${arch}: test ${(100 * r.test.accuracy).toFixed(2)}%` +
            Object.entries(r.babble).map(([snr, v]) => `, babble ${snr} dB ${(100 * v).toFixed(2)}%`).join('') +
            `, ${r.train.secondsPerEpoch.toFixed(1)} s/epoch on ${r.backend.training}\n${files.map((f) => `  ${f}`).join('\n')}\n`,
        );
        r.model.dispose();
      }
      if (opts.arch === 'ensemble') {
        fs.writeFileSync(
          path.join(out, 'ensemble.json'),
          JSON.stringify(
            {
              members: members.map((a, k) => {
                const dir = path.join('members', `${k}-${a}`);
                // The ONNX file only where one was written (not with --no-onnx, nor when its export failed).
                const onnx = fs.existsSync(path.join(out, dir, 'model.onnx')) ? { onnx: path.join(dir, 'model.onnx') } : {};
                return { arch: a, tfjs: path.join(dir, 'tfjs'), ...onnx, weight: 1 };
              }),
            },
            null,
            2,
          ),
        );
        process.stdout.write(`${path.join(out, 'ensemble.json')}\n`);
      }
    });
}

/**
 * Options given on the command line that this run would not use are refused, not dropped: whoever
 * adds `--members` to a non-ensemble run, or `--none-share` to a `--no-none` one, believes it took effect.
 */
function checkApplicable(opts: Opts, command: Command): void {
  const given = (key: keyof Opts) => command.getOptionValueSource(key) === 'cli';
  const rules: [boolean, string][] = [
    [given('members') && opts.arch !== 'ensemble', '--members needs --arch ensemble'],
    [given('noneShare') && !opts.none, '--none-share has no "not a digit" examples to share with --no-none'],
    [(given('specAugment') || given('augmentOptions')) && !opts.augment, `--${given('specAugment') ? 'spec-augment' : 'augment-options'} contradicts --no-augment`],
    [given('distillWeight') && !opts.teacher, '--distill-weight needs --teacher'],
    [opts.foldModels && !opts.loso, '--fold-models needs --loso'],
    [given('syntheticDigits') && opts.synthetic === false, '--synthetic-digits needs --synthetic'],
    [given('split') && !!opts.loso, '--split and --loso both choose the test set; give one'],
    [given('babble') && !!opts.loso, '--babble is measured on the official test split, which a --loso run does not test'],
    [opts.resume && !!opts.loso, '--resume: leave-one-speaker-out folds keep no checkpoint to resume from'],
    [!!opts.losoResults && !!opts.loso, '--loso-results publishes folds in the card of an official-split run; a --loso run writes no card'],
  ];
  const broken = rules.find(([bad]) => bad);
  if (broken) throw new TrainOptionError(broken[1]);
}

/** --loso-results: the folds of a `--loso all` run's loso.json, checked before any training (they were read only after it, for the card). */
function readLosoResults(file: string): { speaker: string; accuracy: number }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TrainOptionError(`--loso-results ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let folds: unknown;
  try {
    folds = (JSON.parse(text) as { folds?: unknown } | null)?.folds;
  } catch {
    throw new TrainOptionError(`--loso-results ${file} is not valid JSON`);
  }
  const fold = (f: unknown): f is { speaker: string; accuracy: number } => {
    const { speaker, accuracy } = (f ?? {}) as { speaker?: unknown; accuracy?: unknown };
    return typeof speaker === 'string' && typeof accuracy === 'number' && accuracy >= 0 && accuracy <= 1;
  };
  if (!Array.isArray(folds) || folds.length === 0 || !folds.every(fold)) {
    throw new TrainOptionError(`--loso-results ${file} is not the loso.json of a \`digits train --loso\` run: it needs "folds", a list of {"speaker", "accuracy" (0-1)}`);
  }
  return folds;
}

/** The ONNX exporter, wrapped so a failed export is reported without losing the trained model. */
async function onnxExporter() {
  const { exportToOnnx } = await import('../../train/onnx/index.js');
  return async (model: import('@tensorflow/tfjs').LayersModel, meta: Record<string, unknown>) => {
    try {
      return exportToOnnx(model, meta as never);
    } catch (err) {
      process.stderr.write(`digits train: ONNX export failed (${err instanceof Error ? err.message : String(err)}); the tfjs model was written\n`);
      return null;
    }
  };
}

/** --spec-augment: the default masks with the given keys replaced; each a whole number >= 0. */
function specAugmentOptions(json: string | undefined, defaults: Readonly<SpecAugmentOptions>): SpecAugmentOptions | undefined {
  if (json === undefined) return undefined;
  let given: unknown;
  try {
    given = JSON.parse(json);
  } catch {
    throw new TrainOptionError(`--spec-augment is not valid JSON: ${json}`);
  }
  if (given === null || typeof given !== 'object' || Array.isArray(given)) throw new TrainOptionError(`--spec-augment takes a JSON object, not ${json}`);
  for (const [key, value] of Object.entries(given)) {
    if (!(key in defaults)) throw new TrainOptionError(`--spec-augment: unknown key '${key}' (one of ${Object.keys(defaults).join(', ')})`);
    if (!(Number.isInteger(value) && (value as number) >= 0)) throw new TrainOptionError(`--spec-augment: ${key} must be a whole number >= 0, not ${JSON.stringify(value)}`);
  }
  return { ...defaults, ...(given as Partial<SpecAugmentOptions>) };
}
