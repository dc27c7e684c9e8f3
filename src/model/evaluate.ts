import { stat } from 'node:fs/promises';
import { readRegularFile } from '../files.js';
import { dirname, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { AudioInputError, DatasetError, OptionsError } from '../errors.js';
import { listFsddClips, officialSplit } from '../data/index.js';
import { EVAL_SPLITS, type EvalSplit } from '../data/splits.js';
import { decodeWav } from '../audio/wav.js';
import { makeNoise, mixAtSnr } from '../train/augment.js';
import { Rng, mulberry32 } from '../train/random.js';
import type { AudioInput, DigitRecognizer, Prediction } from './recognizer.js';
import { VoiceAdapter, type VoiceAdapterOptions } from './voice-adapt.js';
import { normAdapterFor, type NormAdapterOptions } from './norm-adapter.js';

export type { EvalSplit } from '../data/splits.js';

/** One clip to evaluate: a digit 0-9, or 'none' for a clip that must be rejected. */
export interface EvalItem {
  path: string;
  label: number | 'none';
  speaker: string;
}

export interface ClassStats {
  n: number;
  correct: number;
  accuracy: number;
}

export interface EvalReport {
  /** Share of digit clips recognized as the right digit (rejections count as errors); null without digit clips (n = 0). */
  accuracy: number | null;
  /** Number of digit clips. */
  n: number;
  /** Number of 'none' clips (must be rejected). */
  nNone: number;
  perClass: Record<string, ClassStats>;
  perSpeaker: Record<string, ClassStats>;
  /** confusion[true digit][predicted]: predicted is a digit 0-9 or 'rejected'; a 'none' row for non-digit clips. */
  confusion: Record<string, Record<string, number>>;
  /** Share of 'none' clips that were accepted as a digit. */
  falseAccept: number | null;
  /** Share of digit clips that were rejected; null without digit clips. */
  falseReject: number | null;
  /** Share of 'none' clips rejected (1 - falseAccept). */
  rejectionRate: number | null;
  clipsPerSec: number;
  seconds: number;
  model: string;
  backend: string;
  errors: { path: string; error: string }[];
  /** With EvaluateOptions.adaptVoice: the voice shift each speaker ended with. */
  voiceShift?: { perSpeaker: Record<string, number>; protocol: string };
  /** With adaptNorm: how often, on how many clips, and how many adaptations each speaker had. */
  normAdaptation?: { every: number; window: number; selfEnroll: boolean; adaptations: Record<string, number>; protocol: string };
  /** With EvaluateOptions.babble: how the clips were mixed. */
  babble?: { snrDb: number; poolClips: number; seed: number };
}

const FSDD_NAME = /^(\d)_([^_/\\]+)_(\d+)\.wav$/i;

/**
 * TARGET is a folder of FSDD-named WAV files ({digit}_{speaker}_{take}.wav; `split` applies the
 * official split) or a CSV manifest with header `file,label` (label 0-9 or `none`; paths relative
 * to the manifest).
 */
export async function loadEvalSet(target: string, split: EvalSplit = 'all'): Promise<EvalItem[]> {
  if (!EVAL_SPLITS.includes(split)) throw new OptionsError(`loadEvalSet: split ${JSON.stringify(split) ?? String(split)} must be 'test', 'train' or 'all'`);
  let info;
  try {
    info = await stat(target);
  } catch {
    throw new DatasetError(`${target}: no such file or directory`);
  }
  if (info.isDirectory()) {
    const clips = listFsddClips(target);
    const chosen = split === 'all' ? clips : officialSplit(clips)[split];
    if (chosen.length === 0) throw new DatasetError(`${target} has no {digit}_{speaker}_{take}.wav files${split === 'all' ? '' : ` in the ${split} split`}`);
    return chosen.map((c) => ({ path: c.path, label: c.digit, speaker: c.speaker }));
  }
  return readManifest(target);
}

/** A manifest larger than this is refused before reading (a million rows of long paths is less). */
const MAX_MANIFEST_BYTES = 256 << 20;

async function readManifest(path: string): Promise<EvalItem[]> {
  const bytes = await readRegularFile(path, MAX_MANIFEST_BYTES, (why, cause) => new DatasetError(`${path} is neither a folder nor a CSV manifest: ${why}`, { cause }));
  if (String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF') {
    throw new DatasetError(`${path} is a WAV file; eval takes a folder of {digit}_{speaker}_{take}.wav files or a CSV manifest (digits predict takes single files)`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new DatasetError(`${path} is neither a folder nor a CSV manifest (header file,label): it is not UTF-8 text`, { cause: err });
  }
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true });
  } catch (err) {
    throw new DatasetError(`${path} is neither a folder nor a readable CSV manifest (header file,label): ${(err as Error).message}`, { cause: err });
  }
  if (rows.length === 0 || !('file' in rows[0]) || !('label' in rows[0])) {
    throw new DatasetError(`${path}: a manifest needs a header line 'file,label' and at least one row`);
  }
  const base = dirname(path);
  return rows.map((row, i) => {
    const label = row.label.toLowerCase();
    if (label !== 'none' && !/^[0-9]$/.test(label)) {
      throw new DatasetError(`${path} line ${i + 2}: label '${row.label}' must be a digit 0-9 or 'none'`);
    }
    const file = resolve(base, row.file);
    const named = FSDD_NAME.exec(row.file.split(/[/\\]/).pop() ?? '');
    return { path: file, label: label === 'none' ? 'none' : Number(label), speaker: row.speaker ?? named?.[2] ?? 'unknown' };
  });
}

function ratio(correct: number, n: number): ClassStats {
  return { n, correct, accuracy: n === 0 ? 0 : correct / n };
}

export interface EvaluateOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Adapt to each speaker as a live session would (VoiceAdapter): the speaker's clips in a seeded
   * random order, each recognised with the shift learnt from the speaker's earlier clips and then
   * observed unless silent or taken for "not a digit". No labels are used. Clips run one by one, so it is slower.
   */
  adaptVoice?: boolean | VoiceAdapterOptions;
  /**
   * Adapt the model's normalization to each speaker as a live session would (NormAdapter): the
   * speaker's clips in a seeded random order, each recognised with the model as adapted on the
   * speaker's earlier clips (every `every` clips, on the last `window`), then observed unless silent or
   * taken for "not a digit". No labels are used. With babble, the clips are mixed as without it (the
   * same mixtures). Not with adaptVoice.
   */
  adaptNorm?: boolean | NormAdapterOptions;
  /** Seed of the clip order per speaker with adaptVoice (default 1). */
  seed?: number;
  /**
   * Mix every clip with babble before recognising it: 3-7 talkers drawn from `pool` (other clips, at
   * the model's sample rate; never the evaluated ones), at `snrDb` over the whole clip, from one
   * seeded stream in item order (default seed babbleSeed(snrDb): the mixtures of the model cards' babble
   * figures, for the FSDD test split with the train split as the pool). Not with adaptVoice.
   */
  babble?: BabbleOptions;
}

export interface BabbleOptions {
  snrDb: number;
  pool: readonly Float32Array[];
  /** Default: babbleSeed(snrDb). */
  seed?: number;
}

/** The seed of the babble mixtures at `snrDb` that the model cards' figures use (scripts/build-default-model.ts). */
export const babbleSeed = (snrDb: number) => 2000 + snrDb;

/**
 * The seeded babble stream: each call mixes the next babble (3-7 talkers from `pool`) into `samples`
 * at `snrDb`. Clips in the same order get the same mixtures here and in the model build's card figures.
 */
export function babbleStream(babble: BabbleOptions): (samples: Float32Array) => Float32Array {
  if (!(babble.snrDb >= -30 && babble.snrDb <= 60)) throw new DatasetError(`babble SNR ${babble.snrDb} dB must be from -30 to 60 dB`);
  if (babble.pool.length === 0) throw new DatasetError('babble needs a pool of other clips to mix from');
  const rng = new Rng(babble.seed ?? babbleSeed(babble.snrDb));
  const pool = { clips: babble.pool };
  return (samples) => mixAtSnr(samples, makeNoise('babble', samples.length, rng, pool), babble.snrDb);
}

const ADAPT_PROTOCOL =
  "online, per speaker: the speaker's clips in a seeded random order, each recognised with the voice shift learnt from the earlier ones, then observed unless silent or taken for 'not a digit'; no labels used";

/** Clip files larger than this are refused before reading (60 s of the widest PCM the reader takes is less). */
const MAX_CLIP_FILE_BYTES = 1 << 30;

/** A clip file's bytes (a regular file; a pipe or device is refused, never waited on). */
function readClip(path: string): Promise<Uint8Array> {
  return readRegularFile(path, MAX_CLIP_FILE_BYTES, (why, cause) => new AudioInputError(`cannot read ${path}: ${why}`, { cause }));
}

/** Runs the recognizer over every item (batched, files read ahead) and tallies the report. */
export async function evaluate(recognizer: DigitRecognizer, items: EvalItem[], options: EvaluateOptions = {}): Promise<EvalReport> {
  if (options.adaptNorm) {
    if (options.adaptVoice) throw new DatasetError('normalization and voice adaptation are evaluated one at a time');
    return evaluateNormAdapted(recognizer, items, options);
  }
  if (options.adaptVoice) {
    if (options.babble) throw new DatasetError('babble and voice adaptation cannot be evaluated together');
    return evaluateAdapted(recognizer, items, options);
  }
  const batchSize = options.batchSize ?? 64;
  const started = performance.now();
  const predictions: (Prediction | Error)[] = new Array(items.length);
  const mix = options.babble ? babbleMixer(recognizer, options.babble) : (b: Uint8Array): AudioInput => b;
  const readBatch = (from: number) => Promise.all(items.slice(from, from + batchSize).map((it) => readClip(it.path).catch((e: Error) => e)));
  let next = readBatch(0);
  for (let from = 0; from < items.length; from += batchSize) {
    const bytes = await next;
    if (from + batchSize < items.length) next = readBatch(from + batchSize);
    const good = bytes.map((b, i) => ({ b, i })).filter((x) => x.b instanceof Uint8Array);
    bytes.forEach((b, i) => {
      if (b instanceof Error) predictions[from + i] = b;
    });
    const inputs: (AudioInput | Error)[] = good.map((x) => {
      try {
        return mix(x.b as Uint8Array);
      } catch (err) {
        return err as Error;
      }
    });
    try {
      if (inputs.some((x) => x instanceof Error)) throw new Error('a clip could not be mixed');
      const preds = await recognizer.predictBatch(inputs as AudioInput[]);
      preds.forEach((p, k) => (predictions[from + good[k].i] = p));
    } catch {
      // One bad file must not sink the batch: retry one by one to find it and record why.
      for (const [k, { i }] of good.entries()) {
        try {
          const input = inputs[k];
          if (input instanceof Error) throw input;
          predictions[from + i] = await recognizer.predict(input);
        } catch (err) {
          predictions[from + i] = err as Error;
        }
      }
    }
    options.onProgress?.(Math.min(from + batchSize, items.length), items.length);
  }
  const seconds = (performance.now() - started) / 1000;
  const report = tally(items, predictions, seconds, recognizer);
  const { babble } = options;
  return babble ? { ...report, babble: { snrDb: babble.snrDb, poolClips: babble.pool.length, seed: babble.seed ?? babbleSeed(babble.snrDb) } } : report;
}

/** Decodes a clip to the model's rate and mixes the next babble of the seeded stream into it. */
function babbleMixer(recognizer: DigitRecognizer, babble: BabbleOptions): (bytes: Uint8Array) => AudioInput {
  const rate = recognizer.info.featureConfig.sampleRate;
  const mix = babbleStream(babble);
  return (bytes) => {
    const audio = decodeWav(bytes);
    return { samples: mix(audio.sampleRate === rate ? audio.samples : recognizer.backend.resample(audio.samples, audio.sampleRate, rate)), sampleRate: rate };
  };
}

async function evaluateAdapted(recognizer: DigitRecognizer, items: EvalItem[], options: EvaluateOptions): Promise<EvalReport> {
  const started = performance.now();
  const predictions: (Prediction | Error)[] = new Array(items.length);
  const adapter = new VoiceAdapter(recognizer, options.adaptVoice === true ? {} : (options.adaptVoice as VoiceAdapterOptions));
  const before = recognizer.voiceShift;
  const perSpeaker: Record<string, number> = {};
  let done = 0;
  try {
    for (const [speaker, order] of speakerOrders(items, options.seed ?? 1)) {
      adapter.reset();
      for (const i of order) {
        const bytes = await readClip(items[i].path).catch((e: Error) => e);
        try {
          if (bytes instanceof Error) throw bytes;
          // One run hears the clip at every candidate shift; the answer is the one at the shift in use.
          const heard = await recognizer.predictShifted(bytes, adapter.shifts);
          const p = heard[adapter.shifts.indexOf(adapter.factor)];
          predictions[i] = p;
          // Digits, and digits only the rejection threshold turned down (a stranger's voice, what adapting is for).
          if (p.isDigit || p.rejectedBy === 'threshold') adapter.learn(heard);
        } catch (err) {
          predictions[i] = err as Error;
        }
        options.onProgress?.(++done, items.length);
      }
      perSpeaker[speaker] = adapter.factor;
    }
  } finally {
    recognizer.voiceShift = before;
  }
  const report = tally(items, predictions, (performance.now() - started) / 1000, recognizer);
  return { ...report, voiceShift: { perSpeaker, protocol: ADAPT_PROTOCOL } };
}

/** Each speaker's item indices in the seeded random order the adapting protocols hear them in. */
function speakerOrders(items: EvalItem[], seed: number): [string, number[]][] {
  const speakers = [...new Set(items.map((it) => it.speaker))].sort();
  return speakers.map((speaker) => {
    const random = mulberry32(seed);
    const order = items
      .map((it, i) => ({ i, key: it.speaker === speaker ? random() : -1 }))
      .filter((x) => x.key >= 0)
      .sort((a, b) => a.key - b.key)
      .map((x) => x.i);
    return [speaker, order];
  });
}

const NORM_PROTOCOL =
  "online, per speaker: the speaker's clips in a seeded random order, each recognised with the normalization adapted on the earlier ones, then observed unless silent or taken for 'not a digit'; no labels used";

async function evaluateNormAdapted(recognizer: DigitRecognizer, items: EvalItem[], options: EvaluateOptions): Promise<EvalReport> {
  // As a listener makes its adapter: a model without normalization targets is refused before any clip.
  const adapter = normAdapterFor(recognizer, options.adaptNorm as true | NormAdapterOptions, 'evaluation', recognizer.source);
  const started = performance.now();
  const predictions: (Prediction | Error)[] = new Array(items.length);
  const adaptations: Record<string, number> = {};
  // With babble, every clip is mixed first, in item order: the same mixtures as the plain babble figure.
  const mixed = new Map<number, AudioInput | Error>();
  if (options.babble) {
    const mix = babbleMixer(recognizer, options.babble);
    for (const [i, it] of items.entries()) mixed.set(i, await readClip(it.path).then(mix, (e: Error) => e));
  }
  const input = async (i: number): Promise<AudioInput> => {
    const m = mixed.get(i);
    if (m instanceof Error) throw m;
    return m ?? readClip(items[i].path);
  };
  let done = 0;
  try {
    for (const [speaker, order] of speakerOrders(items, options.seed ?? 1)) {
      await adapter.reset();
      adaptations[speaker] = 0;
      for (const i of order) {
        try {
          const clip = await input(i);
          const p = await recognizer.predict(clip);
          predictions[i] = p;
          if ((p.isDigit || p.rejectedBy === 'threshold') && adapter.observe(clip)) {
            await adapter.adapt();
            adaptations[speaker]++;
          }
        } catch (err) {
          predictions[i] = err as Error;
        }
        options.onProgress?.(++done, items.length);
      }
    }
  } finally {
    await adapter.reset();
  }
  const report = tally(items, predictions, (performance.now() - started) / 1000, recognizer);
  const { babble } = options;
  return {
    ...report,
    ...(babble ? { babble: { snrDb: babble.snrDb, poolClips: babble.pool.length, seed: babble.seed ?? babbleSeed(babble.snrDb) } } : {}),
    normAdaptation: { every: adapter.every, window: adapter.window, selfEnroll: adapter.selfEnroll, adaptations, protocol: NORM_PROTOCOL },
  };
}

function tally(items: EvalItem[], predictions: (Prediction | Error)[], seconds: number, recognizer: DigitRecognizer): EvalReport {
  const perClassCount: Record<string, [number, number]> = {};
  const perSpeakerCount: Record<string, [number, number]> = {};
  const confusion: Record<string, Record<string, number>> = {};
  const errors: EvalReport['errors'] = [];
  let n = 0, correct = 0, rejectedDigits = 0, nNone = 0, acceptedNone = 0;
  items.forEach((item, i) => {
    const p = predictions[i];
    if (p instanceof Error) {
      errors.push({ path: item.path, error: p.message });
      return;
    }
    const truth = String(item.label);
    const predicted = p.isDigit ? String(p.digit) : 'rejected';
    confusion[truth] ??= {};
    confusion[truth][predicted] = (confusion[truth][predicted] ?? 0) + 1;
    if (item.label === 'none') {
      nNone++;
      if (p.isDigit) acceptedNone++;
      return;
    }
    n++;
    const ok = p.isDigit && p.digit === item.label;
    if (ok) correct++;
    if (!p.isDigit) rejectedDigits++;
    for (const [table, key] of [[perClassCount, truth], [perSpeakerCount, item.speaker]] as const) {
      table[key] ??= [0, 0];
      table[key][0]++;
      if (ok) table[key][1]++;
    }
  });
  const toStats = (t: Record<string, [number, number]>) =>
    Object.fromEntries(Object.entries(t).sort(([a], [b]) => a.localeCompare(b)).map(([k, [cn, cc]]) => [k, ratio(cc, cn)]));
  const evaluated = items.length - errors.length;
  return {
    accuracy: n === 0 ? null : correct / n,
    n,
    nNone,
    perClass: toStats(perClassCount),
    perSpeaker: toStats(perSpeakerCount),
    confusion,
    falseAccept: nNone === 0 ? null : acceptedNone / nNone,
    falseReject: n === 0 ? null : rejectedDigits / n,
    rejectionRate: nNone === 0 ? null : 1 - acceptedNone / nNone,
    clipsPerSec: evaluated / seconds,
    seconds,
    model: recognizer.source,
    backend: recognizer.backend.name,
    errors,
  };
}
