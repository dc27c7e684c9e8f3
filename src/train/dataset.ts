import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FsddClip } from '../data/clips.js';
import { listFsddClips, unreadableClipsError } from '../data/clips.js';
import { shown } from '../shown.js';
import { loadClip } from '../data/local.js';
import { DatasetError, SpokenDigitsError } from '../errors.js';
import type { FeatureBackend } from '../features/backend.js';
import { makeNoise, gain } from './augment.js';
import type { Example } from './trainer.js';
import type { Rng } from './random.js';

/** Output order of every model: the ten digits, then (when trained with one) "not a digit". */
export const DIGIT_LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export const NONE_LABEL_INDEX = 10;

/** `$XDG_CACHE_HOME/spoken-digits/synthetic` (what scripts/synthesize-speakers.sh writes). */
export function defaultSyntheticDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'spoken-digits', 'synthetic');
}

export interface SyntheticSet {
  digits: FsddClip[];
  /** Non-digit words for the "none" class. */
  words: string[];
}

/** The synthetic speakers, or a DatasetError that says how to make them. */
export function findSynthetic(dir: string): SyntheticSet {
  const digitsDir = path.join(dir, 'digits');
  const noneDir = path.join(dir, 'none');
  if (!fs.existsSync(digitsDir) || !fs.existsSync(noneDir)) {
    throw new DatasetError(`no synthetic speakers in ${dir}; make them with \`bash scripts/synthesize-speakers.sh ${dir}\` (needs espeak-ng) or drop --synthetic`);
  }
  const digits = listFsddClips(digitsDir);
  const words = fs.readdirSync(noneDir).filter((f) => f.endsWith('.wav')).sort().map((f) => path.join(noneDir, f));
  if (digits.length === 0 || words.length === 0) throw new DatasetError(`${dir} has ${digits.length} synthetic digit clips and ${words.length} word clips; regenerate with scripts/synthesize-speakers.sh`);
  return { digits, words };
}

/**
 * Decoded audio of FSDD-named clips at `sampleRate` (the core resamples other rates), each passed
 * through `cut` (training cuts every clip to its speech, as inference does). Every clip is tried:
 * those that cannot be read make one DatasetError listing them; those shorter than their header
 * says (cut off when written) are used as they are, and `log` names them.
 */
export function loadAudio(clips: readonly FsddClip[], sampleRate: number, backend: FeatureBackend, cut: (x: Float32Array) => Float32Array = (x) => x, log?: (line: string) => void): Float32Array[] {
  const problems: { file: string; message: string }[] = [];
  const truncated: string[] = [];
  const audio = clips.map((c) => {
    try {
      const loaded = loadClip(c, { sampleRate, backend });
      if (loaded.truncated) truncated.push(c.path);
      return cut(loaded.samples);
    } catch (err) {
      if (!(err instanceof SpokenDigitsError)) throw err;
      problems.push({ file: c.path, message: err.message });
      return new Float32Array(0);
    }
  });
  if (problems.length) throw unreadableClipsError(problems);
  if (truncated.length) {
    const n = truncated.length;
    log?.(`note: ${n} clip${n === 1 ? ' is' : 's are'} shorter than ${n === 1 ? 'its' : 'their'} WAV header says (cut off when written?), used as ${n === 1 ? 'it is' : 'they are'}: ${truncated.slice(0, 3).map(shown).join(', ')}${n > 3 ? ', ...' : ''}`);
  }
  return audio;
}

export function loadWordAudio(files: readonly string[], sampleRate: number, backend: FeatureBackend, cut: (x: Float32Array) => Float32Array = (x) => x): Float32Array[] {
  return files.map((f) => cut(loadClip({ path: f, digit: 0, speaker: 'none', take: 0 }, { sampleRate, backend }).samples));
}

export function digitExamples(audio: readonly Float32Array[], clips: readonly FsddClip[]): Example[] {
  return audio.map((a, i) => ({ audio: a, label: clips[i].digit }));
}

/** Word clips longer than this are phrases (real prompts): a training draw takes an excerpt of them. */
const WORD_EXCERPT_OVER_S = 1.1;

/**
 * A random 0.3-1.0 s stretch of a clip longer than WORD_EXCERPT_OVER_S (else the clip as it is): a
 * phrase has many word-sized pieces, and the stream classifies pieces of that size, while the feature
 * shaping alone would always take the same loudest second of it.
 */
export function wordExcerpt(clip: Float32Array, sampleRate: number, rng: Rng): Float32Array {
  if (clip.length <= WORD_EXCERPT_OVER_S * sampleRate) return clip;
  const len = Math.round(rng.uniform(0.3, 1.0) * sampleRate);
  const start = Math.floor(rng.uniform(0, clip.length - len));
  return clip.subarray(start, start + len);
}

/**
 * "Not a digit" examples: recorded non-digit words (augmented like speech), plus noise of random
 * colour and level and near-silence, made fresh every epoch. With `freshWords` every word slot
 * draws a new word each epoch (training: the whole word pool is seen over the run, not one fixed
 * subset); without it the words are a fixed seeded pick (validation must not change between epochs).
 * Babble is left out on purpose: digits in babble must stay digits.
 */
export function noneExamples(
  words: readonly Float32Array[],
  count: number,
  sampleRate: number,
  rng: Rng,
  options: { freshWords?: boolean } = {},
): Example[] {
  const out: Example[] = [];
  const nWords = Math.min(words.length, Math.round(count * 0.6));
  if (options.freshWords) {
    for (let k = 0; k < nWords; k++) out.push({ audio: (r: Rng) => wordExcerpt(r.pick(words), sampleRate, r), label: NONE_LABEL_INDEX });
  } else {
    const picked = rng.shuffle(words.map((_, i) => i)).slice(0, nWords);
    for (const i of picked) out.push({ audio: words[i], label: NONE_LABEL_INDEX });
  }
  for (let k = out.length; k < count; k++) {
    const silent = k % 4 === 0;
    out.push({
      label: NONE_LABEL_INDEX,
      raw: silent,
      audio: (r: Rng) => {
        const len = Math.round(r.uniform(0.3, 1.5) * sampleRate);
        const kind = r.pick(['white', 'pink', 'brown'] as const);
        const level = silent ? r.uniform(-90, -60) : r.uniform(-50, -10);
        const n = makeNoise(kind, len, r, null);
        let p = 0;
        for (let i = 0; i < n.length; i++) p += n[i] * n[i];
        const rms = Math.sqrt(p / len) || 1;
        return gain(n.map((v) => v / rms), level);
      },
    });
  }
  return out;
}
