import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeUnread, isFsdd, type FsddClip } from '../data/clips.js';
import { shown } from '../shown.js';
import { loadFsdd } from '../data/fsdd.js';
import { leaveSpeakersOut, officialSplit, randomSplit, speakersOf, validationSplit } from '../data/splits.js';
import { DatasetError, FeatureConfigError, ModelError } from '../errors.js';
import type { FeatureBackend, FeatureExtractor } from '../features/backend.js';
import { type FeatureConfig, featureDimension, modelWindowMs, resolveFeatureConfig } from '../features/config.js';
import { loadFeatureBackend } from '../features/index.js';
import { NOT_A_DIGIT_LABEL, type SpeechTrim, WHOLE_CLIP_SPEECH_TRIM } from '../model/metadata.js';
import { speechCutter } from '../stream/core.js';
import { Augmenter, type AugmentOptions, checkAugmentOptions, makeNoise, mixAtSnr } from './augment.js';
import { initTrainingBackend, type TrainingBackendName } from './backend.js';
import { DIGIT_LABELS, NONE_LABEL_INDEX, digitExamples, findSynthetic, loadAudio, loadWordAudio, noneExamples } from './dataset.js';
import { loadLayersModel, saveLayersModel, weightShapeMismatch, writeAtomic } from './io.js';
import { Rng } from './random.js';
import { confusionSvg, curvesSvg, perDigitAccuracy } from './report.js';
import { loadOnnxTeacher } from './teacher.js';
import { DEFAULT_TRAIN_OPTIONS, type Evaluation, type Example, type TrainOptions, type TrainResult, evaluate, trainModel } from './trainer.js';
import { type Architecture, buildModel } from './zoo.js';

/**
 * The feature configuration models are trained with unless told otherwise: 32 log-mel bands
 * (frequency-axis convolutions then see a vocal-tract-length change as a shift), 25 ms windows
 * every 16 ms, 64 frames (~1 s, placed around the speech by the core). Chosen over 20 MFCCs and
 * 10 ms hops because it costs half the multiply-adds at equal validation accuracy on FSDD.
 */
export const TRAINING_FEATURE_CONFIG: Partial<FeatureConfig> = {
  sampleRate: 8000,
  kind: 'logmel',
  nFft: 256,
  winLength: 200,
  hopLength: 128,
  window: 'hann',
  center: true,
  padMode: 'constant',
  preEmphasis: 0,
  power: 2,
  nMels: 32,
  fMin: 20,
  fMax: 4000,
  melScale: 'slaney',
  melNorm: 'slaney',
  log: { type: 'db', amin: 1e-10, topDb: 80, ref: 1 },
  deltas: 0,
  numFrames: 64,
};

const DEFAULT_NONE_SHARE = 0.1;

export interface RunOptions {
  arch: Architecture;
  /** FSDD folder (else $SPOKEN_DIGITS_DATA or the cache). */
  data?: string;
  /** 'official' (takes 0-4 test), a seeded tenth of each digit and speaker ('random'), or one held-out speaker. */
  split: { kind: 'official' } | { kind: 'random'; seed: number } | { kind: 'loso'; speaker: string };
  /** Use at most this many training clips (a stratified seeded subset), for smoke runs. */
  limit?: number;
  /** Folder of synthetic speakers (scripts/synthesize-speakers.sh), or null for none. */
  synthetic: string | null;
  /** Use at most this many synthetic digit clips (a fixed stratified subset); 0 = words only. */
  syntheticDigits?: number;
  /** Train a "not a digit" class. */
  none: boolean;
  /**
   * "Not a digit" training examples drawn each epoch per digit example (default 0.1): 60% words,
   * the rest noise and near-silence.
   */
  noneShare?: number;
  featureConfig?: Partial<FeatureConfig>;
  width?: number;
  /** Per-clip mean normalization as the model's first layer (zoo.ts UtteranceMeanNormalization). */
  utteranceNorm?: boolean;
  /** Start from this tfjs model's weights (a `digits train` output folder's tfjs/), same architecture. */
  initFrom?: string;
  /**
   * Distil from this spoken-digits ONNX model (teacher.ts): its probabilities join the targets
   * (weight `train.distillWeight`), and the student takes its feature config, normalization included.
   */
  teacher?: string;
  augment?: Partial<AugmentOptions>;
  train: Partial<TrainOptions>;
  /** Babble SNRs (dB) to evaluate the test clips at. */
  babbleSnrs: number[];
  log: (line: string) => void;
}

export interface RunResult {
  model: tf.LayersModel;
  labels: string[];
  featureConfig: FeatureConfig;
  train: TrainResult;
  test: Evaluation;
  /** Accuracy on the test clips mixed with babble, per SNR (dB). */
  babble: Record<string, number>;
  rejection: { threshold: number; digitsRejected: number; noneRejected: number | null };
  /** How every clip was cut to its speech before features (inference must cut alike). */
  speechTrim: SpeechTrim;
  provenance: Record<string, unknown>;
  backend: { training: TrainingBackendName; features: string };
  /** The clips the test figures are measured on (written as test.csv, a manifest `digits eval` reads). */
  testClips: FsddClip[];
}

let featureBackendPromise: Promise<FeatureBackend> | null = null;
function featureBackend(): Promise<FeatureBackend> {
  featureBackendPromise ??= loadFeatureBackend();
  return featureBackendPromise;
}

/** A seeded subset of `n` clips that keeps every (digit, speaker) group represented in proportion. */
function stratifiedSubset(clips: readonly FsddClip[], n: number, seed: number): FsddClip[] {
  if (n >= clips.length) return clips.slice();
  if (n <= 0) return [];
  const rng = new Rng(seed);
  const order = rng.shuffle(clips.map((_, i) => i));
  // Round-robin over digits keeps the ten classes balanced even for tiny n.
  const byDigit = new Map<number, number[]>();
  for (const i of order) {
    const d = clips[i].digit;
    if (!byDigit.has(d)) byDigit.set(d, []);
    byDigit.get(d)!.push(i);
  }
  const picked: number[] = [];
  const queues = [...byDigit.keys()].sort((a, b) => a - b).map((d) => byDigit.get(d)!);
  for (let k = 0; picked.length < n; k++) {
    for (const q of queues) if (k < q.length && picked.length < n) picked.push(q[k]);
  }
  return picked.sort((a, b) => a - b).map((i) => clips[i]);
}

/** Per-dimension mean and standard deviation of clean training features, for the core to apply. */
function normalizationStats(extractor: FeatureExtractor, audio: readonly Float32Array[]): { mean: number[]; std: number[] } {
  let dims = 0;
  let sum: Float64Array | null = null;
  let sq: Float64Array | null = null;
  let count = 0;
  for (const a of audio) {
    const f = extractor.compute(a);
    dims = f.dims;
    sum ??= new Float64Array(dims);
    sq ??= new Float64Array(dims);
    for (let t = 0; t < f.frames; t++) {
      for (let d = 0; d < dims; d++) {
        const v = f.data[t * dims + d];
        sum[d] += v;
        sq[d] += v * v;
      }
    }
    count += f.frames;
  }
  if (!sum || !sq || count === 0) throw new DatasetError('no training audio to compute feature statistics from');
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sq, (s, d) => Math.sqrt(Math.max(1e-8, s / count - mean[d] * mean[d])));
  return { mean: mean.map(asFloat32), std: std.map(asFloat32) };
}

/**
 * `v` as the float32 the DSP core will use it as (it reads the statistics into floats), written with the
 * 9 significant digits that name that float exactly: the model file's metadata stays short, and the
 * features are the same bit for bit.
 */
export function asFloat32(v: number): number {
  return Number(Math.fround(v).toPrecision(9));
}

/**
 * A path as the model's provenance records it: relative to the working directory when inside it, from
 * ~ when inside the home folder; a model file names no more of the machine it was built on than that.
 */
export function provenancePath(p: string): string {
  const abs = path.resolve(p);
  const inside = (root: string) => {
    const rel = path.relative(root, abs);
    return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel) ? rel || '.' : null;
  };
  const fromCwd = inside(process.cwd());
  if (fromCwd !== null) return fromCwd;
  // A home of / (some containers) would make every path "~/...".
  const home = os.homedir();
  const fromHome = path.dirname(home) !== home ? inside(home) : null;
  return fromHome !== null ? path.join('~', fromHome) : abs;
}

/**
 * --init-from: weights of the same shapes can come from other features (an MFCC model's into a
 * log-mel run fits, and learns from scratch at best). Where the run that made them left its metadata
 * (tfjs/metadata.json), its features and classes must be this run's, before any audio loads.
 */
function checkInitFeatures(initFrom: string, config: FeatureConfig, labels: readonly string[]): void {
  const dir = initFrom.endsWith('.json') ? path.dirname(initFrom) : initFrom;
  let meta: { featureConfig?: Partial<FeatureConfig>; labels?: unknown };
  try {
    meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
  } catch {
    return; // made before metadata.json was written, or by hand: the weight shapes are all there is to check
  }
  const theirs = meta.featureConfig ? resolveFeatureConfig({ ...meta.featureConfig, normalization: null }) : null;
  const differ = theirs ? (Object.keys(config) as (keyof FeatureConfig)[]).filter((k) => JSON.stringify(theirs[k]) !== JSON.stringify(config[k])) : [];
  if (differ.length) throw new DatasetError(`--init-from ${initFrom}: its model was trained on other features (${differ.map((k) => `${k} ${JSON.stringify(theirs![k])}, here ${JSON.stringify(config[k])}`).join('; ')}): fine-tune with the features it was trained with (--features)`);
  if (Array.isArray(meta.labels) && JSON.stringify(meta.labels) !== JSON.stringify(labels)) throw new DatasetError(`--init-from ${initFrom}: its classes ${JSON.stringify(meta.labels)} are not this run's ${JSON.stringify(labels)} (--none / --no-none)`);
}

export async function runTraining(o: RunOptions): Promise<RunResult> {
  const seed = o.train.seed ?? 1;
  checkAugmentOptions(o.augment, true);
  if (o.featureConfig !== undefined) {
    const partial: unknown = o.featureConfig;
    if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) throw new FeatureConfigError(`invalid feature config: it must be an object of overrides, got ${JSON.stringify(partial)}`);
    resolveFeatureConfig({ ...TRAINING_FEATURE_CONFIG, ...o.featureConfig });
  }
  const trainingBackend = await initTrainingBackend();
  const fb = await featureBackend();
  o.log(`backends: training ${trainingBackend}, features ${fb.name}`);
  const fsdd = await loadFsdd({ data: o.data });
  const unread = describeUnread(fsdd.dir);
  if (unread) o.log(`note: ${shown(unread)}`);
  const split = o.split.kind === 'official' ? officialSplit(fsdd.clips) : o.split.kind === 'random' ? randomSplit(fsdd.clips, o.split.seed) : leaveSpeakersOut(fsdd.clips, [o.split.speaker]);
  checkSplit(split, o.split, fsdd.dir);
  if (o.split.kind === 'random' && split.test.length > 0.2 * fsdd.clips.length) {
    o.log(`note: --split random tests on ${split.test.length} of ${fsdd.clips.length} clips (${Math.round((100 * split.test.length) / fsdd.clips.length)}%): each digit and speaker gives at least one, and few clips each make that more than a tenth`);
  }
  let trainClips = split.train;
  if (o.limit !== undefined) trainClips = stratifiedSubset(trainClips, o.limit, seed);
  const { train: fitClips, validation: valClips } = validationSplit(trainClips, { fraction: 0.1, seed });
  const labels: string[] = [...DIGIT_LABELS, ...(o.none ? [NOT_A_DIGIT_LABEL] : [])];
  const teacher = o.teacher ? await loadOnnxTeacher(o.teacher) : null;
  if (teacher) {
    try {
      checkTeacherSplit(teacher.metadata.training, splitName(o.split), teacher.source);
      if (o.featureConfig) throw new ModelError(`a student takes its teacher's features (${teacher.source}); leave out the feature config overrides`);
      if (teacher.metadata.labels.join(',') !== labels.join(','))
        throw new ModelError(`the teacher ${teacher.source} has labels [${teacher.metadata.labels}], the student [${labels}] (${o.none ? 'with' : 'without'} the not-a-digit class)`);
    } catch (err) {
      await teacher.dispose();
      throw err;
    }
  }
  const baseConfig = resolveFeatureConfig({ ...(teacher ? teacher.metadata.featureConfig : { ...TRAINING_FEATURE_CONFIG, ...o.featureConfig }), normalization: null });
  const rate = baseConfig.sampleRate;
  if (!(baseConfig.numFrames >= 1)) throw new DatasetError(`numFrames ${baseConfig.numFrames}: a model's input needs a fixed number of frames, at least 1 (--features '{"numFrames":64}')`);
  if (o.initFrom) checkInitFeatures(o.initFrom, baseConfig, labels);
  const t0 = performance.now();
  // Every clip is cut to its speech by the core, as the recognizer cuts whole clips (the model file
  // records how): where a word sits in its clip (espeak-ng's ~350 ms silent tail, FSDD's 0-150 ms
  // of lead-in) then carries no label.
  const cut = await speechCutter(WHOLE_CLIP_SPEECH_TRIM, rate, fb.name);
  // In one go, so that every clip that cannot be read is named at once.
  const allAudio = loadAudio([...fitClips, ...valClips, ...split.test], rate, fb, cut, o.log);
  const fitAudio = allAudio.slice(0, fitClips.length);
  const valAudio = allAudio.slice(fitClips.length, fitClips.length + valClips.length);
  const testAudio = allAudio.slice(fitClips.length + valClips.length);

  let featureConfig: FeatureConfig;
  if (teacher) featureConfig = teacher.metadata.featureConfig;
  else {
    const raw = fb.createExtractor(baseConfig);
    featureConfig = resolveFeatureConfig({ ...baseConfig, normalization: normalizationStats(raw, fitAudio) });
    raw.dispose();
  }
  const extractor = fb.createExtractor(featureConfig);
  const frames = featureConfig.numFrames;
  const dims = featureDimension(featureConfig);
  const featurize = (a: Float32Array) => {
    const m = extractor.compute(a);
    if (m.frames !== frames || m.dims !== dims) throw new DatasetError(`the feature core returned ${m.frames}x${m.dims}, expected ${frames}x${dims}`);
    return m.data.slice();
  };

  const rng = new Rng(seed ^ 0x2545f491);
  const train: Example[] = digitExamples(fitAudio, fitClips);
  const validation: Example[] = digitExamples(valAudio, valClips);
  let syntheticInfo: Record<string, unknown> | null = null;
  let noneVal: Example[] = [];
  if (o.synthetic || o.none) {
    const synthDir = o.synthetic;
    const synth = synthDir ? findSynthetic(synthDir) : null;
    if (synth && synthDir) {
      const digits = o.syntheticDigits !== undefined ? stratifiedSubset(synth.digits, o.syntheticDigits, seed) : synth.digits;
      const synthAudio = loadAudio(digits, rate, fb, cut);
      train.push(...digitExamples(synthAudio, digits));
      syntheticInfo = { dir: provenancePath(synthDir), digitClips: digits.length, speakers: new Set(digits.map((c) => c.speaker)).size, wordClips: synth.words.length };
    }
    if (o.none) {
      const words = synth ? loadWordAudio(synth.words, rate, fb, cut) : [];
      const order = rng.shuffle(words.map((_, i) => i));
      const nValWords = Math.round(words.length * 0.15);
      const valWords = order.slice(0, nValWords).map((i) => words[i]);
      const trainWords = order.slice(nValWords).map((i) => words[i]);
      const digitsInTrain = train.length;
      train.push(...noneExamples(trainWords, Math.max(8, Math.round(digitsInTrain * (o.noneShare ?? DEFAULT_NONE_SHARE))), rate, rng, { freshWords: true }));
      noneVal = noneExamples(valWords, Math.max(4, Math.round(validation.length / 10)), rate, rng);
      validation.push(...noneVal);
    }
  }
  const source = dataSourceName(fsdd.clips);
  // Without --synthetic the "not a digit" class has no words to learn from: say so, it rejects only noise and silence then.
  const noneWords = o.none ? (syntheticInfo ? 'words, noise and silence' : 'noise and silence only, no words (pass --synthetic for words)') : null;
  const unheard = DIGIT_LABELS.filter((_, d) => !train.some((e) => e.label === d));
  if (unheard.length) o.log(`note: no training clip says ${unheard.join(', ')}: the model will never answer ${unheard.length === 1 ? 'it' : 'them'}`);
  o.log(
    `data: ${fsdd.source}; ${train.length} training examples (${fitClips.length} ${source === 'FSDD' ? 'FSDD' : 'recorded'}${syntheticInfo ? `, ${syntheticInfo.digitClips} synthetic` : ''}${noneWords ? `, not-a-digit: ${noneWords}` : ''}), ` +
      `${validation.length} validation, ${split.test.length} test; audio loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const augmenter = new Augmenter({ ...o.augment, sampleRate: rate }, fb, { clips: fitAudio });
  const model = buildModel(o.arch, { numFrames: frames, dims, numClasses: labels.length, seed, width: o.width, utteranceNorm: o.utteranceNorm });
  if (o.initFrom) {
    const init = await loadLayersModel(o.initFrom);
    try {
      const mismatch = weightShapeMismatch(init, model);
      if (mismatch) throw new DatasetError(`--init-from ${o.initFrom}: its weights do not fit a ${o.arch} for ${frames}x${dims} → ${labels.length} (${mismatch}): fine-tune with the architecture, width, features and classes it was trained with`);
      model.setWeights(init.getWeights());
    } finally {
      init.dispose();
    }
  }
  o.log(`model: ${o.arch}, ${model.countParams()} parameters, input ${frames}x${dims}, ${labels.length} classes${o.initFrom ? `, weights from ${o.initFrom}` : ''}`);
  let trainResult: TrainResult;
  try {
    trainResult = await trainModel(model, { train, validation }, featurize, { frames, dims, numClasses: labels.length }, augmenter, { ...o.train, teacher, log: o.log });
  } finally {
    await teacher?.dispose();
  }

  // Test: clean, then mixed with babble from training clips (never from test clips).
  const testFeatures = testAudio.map(featurize);
  const testLabels = split.test.map((c) => c.digit);
  const test = evaluate(model, testFeatures, testLabels, frames, dims, labels.length);
  const babble: Record<string, number> = {};
  for (const snr of o.babbleSnrs) {
    const r = new Rng(seed + 1000 + snr);
    const mixed = testAudio.map((a) => featurize(mixAtSnr(a, makeNoise('babble', a.length, r, { clips: fitAudio }), snr)));
    babble[String(snr)] = evaluate(model, mixed, testLabels, frames, dims, labels.length).accuracy;
  }

  // Rejection threshold: the top probability below which we answer "no digit", set on validation
  // digits just below the least confident correct one: no validation digit the model got right
  // is lost to it, and the not-a-digit class does the rejecting of noise and words.
  const valRng = new Rng(seed + 7);
  const valEval = evaluate(model, validation.map((e) => featurize(typeof e.audio === 'function' ? e.audio(valRng) : e.audio)), validation.map((e) => e.label), frames, dims, labels.length);
  const confident = valEval.predictions.filter((p) => p.label !== NONE_LABEL_INDEX && p.predicted === p.label).map((p) => p.confidence).sort((a, b) => a - b);
  const threshold = confident.length ? Math.max(0, Math.min(0.99, confident[0] - 1e-4)) : 0;
  const digitsVal = valEval.predictions.filter((p) => p.label !== NONE_LABEL_INDEX);
  const noneValPreds = valEval.predictions.filter((p) => p.label === NONE_LABEL_INDEX);
  const rejection = {
    threshold: Number(threshold.toFixed(4)),
    digitsRejected: digitsVal.length ? digitsVal.filter((p) => p.confidence < threshold || p.predicted === NONE_LABEL_INDEX).length / digitsVal.length : 0,
    noneRejected: noneValPreds.length ? noneValPreds.filter((p) => p.confidence < threshold || p.predicted === NONE_LABEL_INDEX).length / noneValPreds.length : null,
  };
  extractor.dispose();

  const provenance: Record<string, unknown> = {
    data: { source, dir: provenancePath(fsdd.dir), splitKind: o.split.kind, split: splitName(o.split), trainClips: fitClips.length, validationClips: valClips.length, testClips: split.test.length, limit: o.limit ?? null, synthetic: syntheticInfo, notADigit: o.none, notADigitFrom: noneWords, noneShare: o.none ? (o.noneShare ?? DEFAULT_NONE_SHARE) : null },
    arch: o.arch,
    initFrom: o.initFrom ? provenancePath(o.initFrom) : null,
    width: o.width ?? 1,
    utteranceNorm: o.utteranceNorm ?? false,
    parameters: model.countParams(),
    seed,
    epochs: trainResult.history.length,
    bestEpoch: trainResult.bestEpoch,
    options: { ...o.train, log: undefined, teacher: undefined, checkpointDir: o.train.checkpointDir ? provenancePath(o.train.checkpointDir) : o.train.checkpointDir },
    teacher: teacher ? { file: path.basename(teacher.source), modelType: teacher.metadata.modelType, distillWeight: o.train.distillWeight ?? DEFAULT_TRAIN_OPTIONS.distillWeight } : null,
    augmentation: { ...augmenter.options },
    backend: { training: trainingBackend, features: fb.name },
    secondsPerEpoch: Number(trainResult.secondsPerEpoch.toFixed(1)),
    date: new Date().toISOString(),
  };
  return { model, labels, featureConfig, train: trainResult, test, babble, rejection, speechTrim: { ...WHOLE_CLIP_SPEECH_TRIM }, provenance, backend: { training: trainingBackend, features: fb.name }, testClips: split.test };
}

function splitName(split: RunOptions['split']): string {
  if (split.kind === 'official') return 'official (takes 0-4 test)';
  if (split.kind === 'random') return `random (a tenth of each digit and speaker test, at least one; seed ${split.seed})`;
  return `leave-one-speaker-out: ${split.speaker}`;
}

/** A split with nothing to train on or nothing to test on is refused, saying what to do instead. */
function checkSplit(split: { train: readonly FsddClip[]; test: readonly FsddClip[] }, kind: RunOptions['split'], dir: string): void {
  const instead = kind.kind === 'official' ? ' Pass --split random to hold out a seeded tenth of each digit and speaker instead, or --loso SPEAKER.' : '';
  if (split.train.length === 0) {
    throw new DatasetError(
      kind.kind === 'official'
        ? `${dir}: every clip is a take 0-4, which FSDD's official split keeps for testing, so none is left to train on (takes 5 and up train).${instead}`
        : `${dir}: the ${splitName(kind)} split leaves no clip to train on`,
    );
  }
  if (split.test.length === 0) {
    throw new DatasetError(
      kind.kind === 'official'
        ? `${dir}: no clip is a take 0-4, which FSDD's official split tests on, so nothing would measure the model.${instead}`
        : `${dir}: the ${splitName(kind)} split leaves no clip to test on (each digit and speaker needs at least two clips)`,
    );
  }
}

/**
 * A teacher must not have heard the student's test clips, or the student learns them through its
 * targets: every model in it (each member of a fused ensemble) must come from the same split.
 */
function checkTeacherSplit(training: Record<string, unknown>, split: string, source: string): void {
  const members = Array.isArray(training.members) ? (training.members as { training?: Record<string, unknown> }[]).map((m) => m.training ?? {}) : [training];
  for (const t of members) {
    const theirs = (t.data as { split?: unknown } | undefined)?.split;
    if (theirs !== split)
      throw new ModelError(`the teacher ${source} was trained on the split '${String(theirs ?? 'unknown')}', this run on '${split}': its targets would leak the test clips; distil from a teacher trained on the same split`);
  }
}

export interface LosoFold {
  speaker: string;
  accuracy: number;
  testClips: number;
  epochs: number;
  /** Accuracy on each digit's clips of the held-out speaker, "0".."9" (shows which words a voice breaks). */
  perDigit: Record<string, number>;
  /** confusion[true digit][predicted label] counts (the last column is "none" when the model has that class). */
  confusion: number[][];
  /** The held-out clips' class probabilities (in the split's clip order), to score ensembles of runs. */
  test: { labels: string[]; truth: number[]; probabilities: number[][] };
}

/**
 * Leave-one-speaker-out: one training per FSDD speaker, tested on that speaker's 500 clips.
 * `onFoldModel` sees each fold's trained run before its model is disposed (to write it out).
 */
export async function runLoso(
  o: Omit<RunOptions, 'split' | 'babbleSnrs'>,
  speakers: string[] | 'all',
  onFold?: (f: LosoFold) => void,
  onFoldModel?: (speaker: string, r: RunResult) => Promise<void>,
): Promise<LosoFold[]> {
  const fsdd = await loadFsdd({ data: o.data });
  const list = speakers === 'all' ? speakersOf(fsdd.clips) : speakers;
  // Every fold's speaker checked before the first trains: a misspelt last name would cost every fold before it.
  const twice = list.filter((s, i) => list.indexOf(s) !== i);
  if (twice.length) throw new DatasetError(`leave-one-speaker-out: ${[...new Set(twice)].join(', ')} named more than once`);
  const known = new Set(speakersOf(fsdd.clips));
  const unknown = list.filter((s) => !known.has(s));
  if (unknown.length) throw new DatasetError(`leave-one-speaker-out: unknown speaker(s) ${unknown.join(', ')}; the clips have: ${[...known].join(', ')}`);
  const folds: LosoFold[] = [];
  for (const speaker of list) {
    o.log(`--- fold: test speaker ${speaker} ---`);
    const r = await runTraining({ ...o, split: { kind: 'loso', speaker }, babbleSnrs: [], train: { ...o.train, checkpointDir: null } });
    const perDigit = perDigitAccuracy(r.test.confusion);
    const fold = {
      speaker,
      accuracy: r.test.accuracy,
      testClips: r.test.predictions.length,
      epochs: r.train.history.length,
      perDigit,
      confusion: r.test.confusion.slice(0, DIGIT_LABELS.length),
      test: { labels: r.labels, truth: r.test.predictions.map((p) => p.label), probabilities: r.test.probabilities.map((row) => Array.from(row, (v) => Number(v.toFixed(5)))) },
    };
    await onFoldModel?.(speaker, r);
    r.model.dispose();
    folds.push(fold);
    o.log(`fold ${speaker}: ${(100 * fold.accuracy).toFixed(2)}%`);
    onFold?.(fold);
  }
  return folds;
}

/** Writes the tfjs model, curves, confusion matrix, history and model card into `out`. */
export async function writeRunOutputs(out: string, r: RunResult, extra: { onnx?: (model: tf.LayersModel, meta: Record<string, unknown>) => Promise<Uint8Array | null>; loso?: LosoFold[] | null } = {}): Promise<string[]> {
  fs.mkdirSync(out, { recursive: true });
  const written: string[] = [];
  const put = (name: string, data: string | Buffer | Uint8Array) => {
    writeAtomic(path.join(out, name), Buffer.from(data as Uint8Array));
    written.push(path.join(out, name));
  };
  await saveLayersModel(r.model, path.join(out, 'tfjs'));
  written.push(path.join(out, 'tfjs/model.json'));
  const arch = String(r.provenance.arch);
  put('history.json', JSON.stringify(r.train.history, null, 1));
  put('curves.svg', curvesSvg(r.train.history, `${arch}: loss and accuracy per epoch`));
  put('confusion.svg', confusionSvg(r.test.confusion, r.labels, `${arch}: test confusion (${(100 * r.test.accuracy).toFixed(2)}%)`));
  const metrics = cardMetrics(r, extra.loso ?? null);
  const meta = { featureConfig: r.featureConfig, labels: r.labels, modelType: arch, precision: 'fp32', rejection: { threshold: r.rejection.threshold }, speechTrim: r.speechTrim, training: r.provenance, metrics };
  // What `digits export` needs beside the weights (the normalization statistics are nowhere else without model.onnx).
  put('tfjs/metadata.json', JSON.stringify(meta, null, 1));
  const bytes = extra.onnx ? await extra.onnx(r.model, meta) : null;
  if (bytes) put('model.onnx', bytes);
  // No model of this run's: an earlier run's model.onnx must not stand beside this run's card and weights.
  else fs.rmSync(path.join(out, 'model.onnx'), { force: true });
  const card = { name: `spoken-digits ${arch}`, ...meta, featureConfig: { ...r.featureConfig, normalization: r.featureConfig.normalization ? '(in the model file metadata)' : null } };
  put('card.json', JSON.stringify(card, null, 2));
  put('card.md', cardMarkdown(r, metrics, extra.loso ?? null));
  put('test.csv', testManifest(out, r.testClips));
  return written;
}

function cardMetrics(r: RunResult, loso: LosoFold[] | null): Record<string, unknown> {
  const m: Record<string, unknown> = {
    testAccuracy: round(r.test.accuracy),
    testClips: r.test.predictions.length,
    babble: Object.fromEntries(Object.entries(r.babble).map(([k, v]) => [`${k}dB`, round(v)])),
    bestValidationAccuracy: round(r.train.bestValAccuracy),
    rejection: r.rejection,
  };
  if (loso && loso.length) m.loso = { mean: round(loso.reduce((s, f) => s + f.accuracy, 0) / loso.length), folds: Object.fromEntries(loso.map((f) => [f.speaker, round(f.accuracy)])), foldsCompleted: loso.length };
  return m;
}

/** How the card's results table names each split. */
const SPLIT_WORDS: Record<string, string> = { official: 'official split', random: 'random split', loso: 'held-out speaker' };

/** "FSDD" for FSDD's speakers, else "own recordings": what the card and the provenance call the data. */
function dataSourceName(clips: readonly FsddClip[]): 'FSDD' | 'own recordings' {
  return isFsdd(clips) ? 'FSDD' : 'own recordings';
}

/**
 * The test clips as a manifest for `digits eval` (header file,label; quoted where they need it). Paths are relative to
 * the run folder, as `digits eval` reads a manifest's paths: the run and its data moved together (a clone with
 * `../shared` beside it) still find each other, and the file does not carry the trainer's home folder.
 */
function testManifest(out: string, clips: readonly FsddClip[]): string {
  const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const from = path.resolve(out);
  const relative = (file: string) => path.relative(from, path.resolve(file)).split(path.sep).join('/');
  return ['file,label', ...clips.map((c) => `${field(relative(c.path))},${c.digit}`)].join('\n') + '\n';
}

/** How much audio the model hears, e.g. "~1.02 s of 8 kHz audio" (a natural-length model: a whole clip). */
function windowText(config: FeatureConfig): string {
  const rate = `${+(config.sampleRate / 1000).toFixed(2)} kHz audio`;
  const windowMs = modelWindowMs(config);
  return Number.isFinite(windowMs) ? `~${(windowMs / 1000).toFixed(2)} s of ${rate}` : `a whole clip of ${rate}`;
}

const round = (v: number) => Number(v.toFixed(4));
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

function cardMarkdown(r: RunResult, metrics: Record<string, unknown>, loso: LosoFold[] | null): string {
  const p = r.provenance as { data: Record<string, unknown>; parameters: number; seed: number; epochs: number; bestEpoch: number; secondsPerEpoch: number; backend: Record<string, string>; date: string; teacher: { file: string; modelType: string; distillWeight: number } | null };
  const lines = [
    `# Model card: spoken-digits ${String(r.provenance.arch)}`,
    '',
    `Recognises a spoken digit 0-9${r.labels.includes(NOT_A_DIGIT_LABEL) ? ' or answers "none" (not a digit)' : ''} from ${windowText(r.featureConfig)}.`,
    '',
    '## Training',
    `- Data: ${String(p.data.source)} in ${String(p.data.dir)}, ${String(p.data.split)} split; ${p.data.trainClips} training clips, ${p.data.validationClips} validation${p.data.synthetic ? `, synthetic espeak-ng speakers (${(p.data.synthetic as { digitClips: number }).digitClips} clips)` : ''}.`,
    ...(p.data.notADigitFrom ? [`- "Not a digit" learnt from ${String(p.data.notADigitFrom)}.`] : []),
    `- ${p.parameters} parameters; ${p.epochs} epoch${p.epochs === 1 ? '' : 's'} (best validation at ${p.bestEpoch}), seed ${p.seed}.`,
    ...(p.teacher ? [`- Distilled from ${p.teacher.file} (${p.teacher.modelType}): ${p.teacher.distillWeight} of each target is its probabilities on the same augmented batch.`] : []),
    `- Backend: tfjs ${p.backend.training}, features ${p.backend.features}; ${p.secondsPerEpoch} s per epoch on this machine.`,
    `- Features: ${r.featureConfig.kind} ${featureDimension(r.featureConfig)} x ${r.featureConfig.numFrames} frames, hop ${r.featureConfig.hopLength}/${r.featureConfig.sampleRate} Hz.`,
    '',
    '## Results',
    `| measure | value |`,
    `|---|---|`,
    `| ${p.data.source === 'FSDD' ? 'FSDD ' : ''}test set (${r.test.predictions.length} clips, ${SPLIT_WORDS[String(p.data.splitKind)] ?? String(p.data.split)}) | ${pct(r.test.accuracy)} |`,
    ...Object.entries(r.babble).map(([snr, v]) => `| test + babble at ${snr} dB SNR | ${pct(v)} |`),
    `| rejection threshold (validation) | ${r.rejection.threshold} (rejects ${pct(r.rejection.digitsRejected)} of digits${r.rejection.noneRejected !== null ? `, ${pct(r.rejection.noneRejected)} of non-digits` : ''}) |`,
  ];
  if (loso && loso.length) {
    lines.push(`| leave-one-speaker-out mean (${loso.length} folds) | ${pct((metrics.loso as { mean: number }).mean)} |`);
    lines.push('', '### Leave-one-speaker-out folds', '| held-out speaker | accuracy |', '|---|---|', ...loso.map((f) => `| ${f.speaker} | ${pct(f.accuracy)} |`));
  } else lines.push('', 'Leave-one-speaker-out: not measured for this file (see `digits train --loso all`).');
  lines.push('', `Trained ${p.date}. Curves: curves.svg; confusion matrix: confusion.svg; test clips: test.csv (\`digits eval test.csv --model model.onnx --threshold 0\` should give the test figure again; eval also rejects silent clips and those under 80 ms of speech, which training scores as they are).`, '');
  return lines.join('\n');
}
