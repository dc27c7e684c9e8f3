import { EnrollmentError } from '../errors.js';
import { checkVoiceShift } from '../audio/voice-shift.js';
import type { OnnxModel } from '../train/onnx/graph.js';
import type { ClassifierHead } from '../train/onnx/heads.js';
import { NOT_A_DIGIT_LABEL, OPTIONAL_METADATA_KEYS } from './metadata.js';
import { parseModelMetadata } from './read-metadata.js';
import { VOICE_SHIFTS } from './voice-adapt.js';
import { DEFAULT_SILENCE_DB, peakDbfs } from './decision.js';
import { refuseUnusableSamples, validateSampleRate } from '../audio/pcm.js';
import type { StreamCore } from '../stream/core.js';
import type { FeatureBackend } from '../features/backend.js';
import { listeningRate, UNHEARD_WHY, unheardWord } from '../stream/decoder.js';

/**
 * Speaker enrollment without Node: the refit of a model's last layers on labelled clips of one
 * speaker, over any runtime that can run a model (onnxruntime-node in `enrollSpeaker`, onnxruntime-web
 * in the browser's). No Node imports: the web library bundles it.
 */

/** Decoded mono PCM. */
export interface PcmClip {
  samples: Float32Array;
  sampleRate: number;
  /** false: already cut to its speech as the model's speechTrim says (a stream's piece), not cut again. */
  cutToSpeech?: boolean;
}

/** One labelled recording of the speaker, decoded: the digit they said. */
export interface LabelledPcm extends PcmClip {
  digit: number;
}

/** How the refit runs, wherever it runs. */
export interface PersonalizeOptions {
  /** How strongly the refitted weights are held to the trained ones (default 0.1; 0 fits the clips alone). */
  l2?: number;
  /** Gradient steps of the refit (default 300). */
  steps?: number;
  /** Step size of the refit (default 0.05). */
  learningRate?: number;
  /** A name for the speaker, recorded in the model's metadata. */
  speaker?: string;
  /** Skip the cross-check (it loads one model per fold). */
  crossCheck?: boolean;
  /**
   * The voice shift the personal model hears the speaker at (RecognizerOptions.voiceShift): a number,
   * or 'auto' (the default) for the one of `voiceShifts` under which the base model gives the clips'
   * true digits the highest mean log probability, if it beats no shift by `shiftMargin`. The refit
   * then learns the speaker as heard at that shift, and the recognizer applies it by default.
   */
  voiceShift?: number | 'auto';
  /**
   * Weight of each clip played backwards as a "not a digit" example in the refit, relative to the
   * clips' 1 (default 0.1; 0: none; models without a "none" class never use them). They keep the
   * personal model from taking more of the speaker's other words for digits; much more weight costs
   * digits in the stream (docs/adaptation-record.md, "Speaker enrollment").
   */
  reversedWeight?: number;
  /** Candidates for voiceShift 'auto' (default VOICE_SHIFTS). */
  voiceShifts?: readonly number[];
  /** Least gain in mean log probability of the true digits that moves 'auto' off 1 (default 0.05). */
  shiftMargin?: number;
}

/**
 * What enrollment needs of a runtime: a model (ONNX bytes) run over clips the way its recognizer
 * feeds it (cut to speech, heard at `voiceShift`, features).
 */
export interface EnrollmentRuntime {
  /** Per clip: [class probabilities, ...the named inner values of the model, in `names` order]. */
  probe(model: Uint8Array, names: readonly string[], clips: readonly PcmClip[], voiceShift: number): Promise<Float32Array[][]>;
  /** Per clip: the class probabilities. */
  probabilities(model: Uint8Array, clips: readonly PcmClip[], voiceShift: number): Promise<Float32Array[]>;
}

export interface EnrollmentScore {
  correct: number;
  clips: number;
  accuracy: number;
}

export interface Enrollment {
  /** The personal model: an ONNX file like the base model, with the refitted last layers. */
  model: Uint8Array;
  /** Classifier heads refitted (one per member of a fused ensemble). */
  heads: number;
  /** The voice shift the personal model hears the speaker at (1: none). */
  voiceShift: number;
  /** Enrollment clips per digit, 0-9. */
  clipsPerDigit: number[];
  /**
   * Top-class accuracy on the enrollment clips themselves, base model and personal model. `after`
   * is a fit, not a prediction of accuracy: the personal model has seen these clips.
   */
  fit: { before: EnrollmentScore; after: EnrollmentScore };
  /**
   * An honest estimate when every digit has at least 2 clips: the clips split into folds (each
   * digit's clips spread over them), each fold scored by a model refitted on the others. Null with
   * one clip of some digit, or when `crossCheck` is false.
   */
  crossCheck: { folds: number; before: EnrollmentScore; after: EnrollmentScore } | null;
}

/** What the personal model's metadata (`spoken_digits.enrollment`) records. */
export interface EnrollmentRecord {
  date: string;
  speaker: string | null;
  base: { model: string; modelType: string; precision: string };
  clipsPerDigit: number[];
  heads: number;
  /** Applied by the recognizer to every input unless RecognizerOptions.voiceShift says otherwise. */
  voiceShift: number;
  refit: { l2: number; steps: number; learningRate: number; reversedWeight: number };
  fit: Enrollment['fit'];
  crossCheck: Enrollment['crossCheck'];
}

const MAX_CLIPS = 2000;
const MAX_FOLDS = 5;

/** Below this share of the clips heard as their labels before the refit, the labels or the audio are wrong. */
const MIN_AGREEMENT = 0.2;

/** The refit settings, checked; refused with EnrollmentError before any audio or model is read. */
export function refitSettings(options: PersonalizeOptions): { l2: number; steps: number; learningRate: number } {
  const refit = {
    l2: options.l2 ?? 0.1,
    steps: options.steps ?? 300,
    learningRate: options.learningRate ?? 0.05,
  };
  if (!(refit.l2 >= 0 && Number.isFinite(refit.l2))) throw new EnrollmentError(`l2 ${options.l2} must be a finite number >= 0`);
  if (!(Number.isInteger(refit.steps) && refit.steps >= 1 && refit.steps <= 100_000)) throw new EnrollmentError(`steps ${options.steps} must be an integer from 1 to 100000`);
  if (!(refit.learningRate > 0 && refit.learningRate <= 10)) throw new EnrollmentError(`learningRate ${options.learningRate} must be in (0, 10]`);
  return refit;
}

/** Clips per digit 0-9; refuses (EnrollmentError) no clips, too many, a bad label or a digit never said. */
export function countDigits(clips: readonly { digit: number }[]): number[] {
  if (!Array.isArray(clips) || clips.length === 0) throw new EnrollmentError('enrollment needs labelled clips of the speaker saying each digit 0-9');
  if (clips.length > MAX_CLIPS) throw new EnrollmentError(`${clips.length} enrollment clips; at most ${MAX_CLIPS}`);
  const counts = new Array<number>(10).fill(0);
  clips.forEach((c, i) => {
    if (!(Number.isInteger(c?.digit) && c.digit >= 0 && c.digit <= 9)) throw new EnrollmentError(`clip ${i}: digit ${c?.digit} must be an integer 0-9`);
    counts[c.digit]++;
  });
  const missing = counts.flatMap((n, d) => (n === 0 ? [d] : []));
  // A refit that never sees a digit learns to avoid it.
  if (missing.length) throw new EnrollmentError(`enrollment needs every digit at least once; missing ${missing.join(', ')}`);
  return counts;
}

/** Under this peak (dBFS) a clip is quiet enough that a word in it may not stand out from its background. */
const QUIET_PEAK_DB = -40;

/**
 * Refuses (EnrollmentError, naming the clip by `names[i]`, else "clip i"; AudioInputError for samples that are not
 * audio: NaN, Inf, floats beyond ±16, a bad rate) a clip that holds no word: one that is
 * silent (peak under DEFAULT_SILENCE_DB, the recognizer's own rule), or in which the stream's
 * endpointer hears no word (noise, breath, a beep, a click: unheardWord). Fitted as its digit, such a
 * clip would teach the model that the sound is that digit. A word that is not its label (or not a
 * digit) passes here; personalizeModel's agreement check catches labels out of step with the audio.
 */
export function checkClipsHeard(clips: readonly LabelledPcm[], names: readonly string[], core: StreamCore, resampler: Pick<FeatureBackend, 'resample'>): void {
  clips.forEach((c, i) => {
    const clip = `${names[i] ?? `clip ${i}`} (labelled ${c.digit})`;
    // Decoded PCM from a page or an embedder is checked here (Node's decoder has checked its own already).
    if (!(c?.samples instanceof Float32Array) || c.samples.length === 0) throw new EnrollmentError(`${clip}: its samples must be a non-empty Float32Array`);
    validateSampleRate(c.sampleRate, `${clip}: its sample rate`);
    refuseUnusableSamples(c.samples, (problem, at) => `${clip} has ${problem} at index ${at}`);
    const peak = peakDbfs(c.samples);
    if (peak < DEFAULT_SILENCE_DB) throw new EnrollmentError(`${clip} is silent (peak ${Number.isFinite(peak) ? peak.toFixed(1) : '-inf'} dBFS): each clip must hold its digit, spoken`);
    const rate = listeningRate(c.sampleRate);
    const why = unheardWord(core, rate === c.sampleRate ? c.samples : resampler.resample(c.samples, c.sampleRate, rate), rate);
    // A word recorded very quietly can stand out too little: its level says so.
    const quiet = peak < QUIET_PEAK_DB ? ` (its peak is only ${peak.toFixed(1)} dBFS: a word recorded this quietly may not be heard; record louder)` : '';
    if (why) throw new EnrollmentError(`${clip} holds no word: ${UNHEARD_WHY[why]}${quiet}; each clip must hold its digit, spoken`);
  });
}

/**
 * Personalizes the model `base` (ONNX bytes; `source` names it in messages and in the record) to the
 * speaker of `clips`, running models with `runtime`: see enrollSpeaker (./enroll.ts) for the method
 * and what it measured. Every head's last layer is refitted; the rest of the file is unchanged.
 */
export async function personalizeModel(base: Uint8Array, source: string, clips: readonly LabelledPcm[], runtime: EnrollmentRuntime, options: PersonalizeOptions = {}): Promise<Enrollment> {
  const refit = refitSettings(options);
  const clipsPerDigit = countDigits(clips);
  // The ONNX graph code (protobufjs) loads only when a model is personalized.
  const [{ decodeModel, encodeModel }, { findClassifierHeads, replaceHeadWeights }] = await Promise.all([import('../train/onnx/graph.js'), import('../train/onnx/heads.js')]);

  const info = parseModelMetadata(base, source);
  const classOf = Array.from({ length: 10 }, (_, d) => info.labels.indexOf(String(d)));
  if (classOf.some((k) => k < 0)) throw new EnrollmentError(`${source} does not have the labels 0-9 (${info.labels.join(', ')})`);
  const heads = findClassifierHeads(decodeModel(base).graph, source);
  if (heads.some((h) => h.classes !== info.labels.length))
    throw new EnrollmentError(`${source}: a classifier head has ${heads.map((h) => h.classes).join('/')} classes, the model ${info.labels.length} labels`);

  const inputs: PcmClip[] = clips.map(({ samples, sampleRate, cutToSpeech }) => (cutToSpeech === false ? { samples, sampleRate, cutToSpeech } : { samples, sampleRate }));
  const targets = clips.map((c) => classOf[c.digit]);
  const embeddingNames = [...new Set(heads.map((h) => h.embedding))];
  const embeddingIndex = heads.map((h) => 1 + embeddingNames.indexOf(h.embedding));
  const shifts = options.voiceShift === undefined || options.voiceShift === 'auto' ? [...(options.voiceShifts ?? VOICE_SHIFTS)] : [options.voiceShift];
  if (!shifts.includes(1) && shifts.length > 1) throw new EnrollmentError('voiceShifts must include 1 (no shift)');
  shifts.forEach(checkVoiceShift);
  const shiftMargin = options.shiftMargin ?? 0.05;
  // Each clip played backwards: the speaker's own voice saying no word, a "none" example that keeps
  // the refit from making every sound of this voice more of a digit (docs/adaptation-record.md, "Speaker enrollment").
  const noneClass = info.labels.indexOf(NOT_A_DIGIT_LABEL);
  const reversedWeight = noneClass >= 0 ? (options.reversedWeight ?? 0.1) : 0;
  if (!(reversedWeight >= 0 && reversedWeight <= 10)) throw new EnrollmentError(`reversedWeight ${options.reversedWeight} must be from 0 to 10`);
  const reversed = reversedWeight > 0 ? inputs.map((c) => ({ ...c, samples: c.samples.slice().reverse() })) : [];
  // rowsAt[j][i]: clip i heard at shifts[j], [probabilities, ...embeddings]; the reversed clips follow the clips.
  const rowsAt: Float32Array[][][] = [];
  for (const voiceShift of shifts) rowsAt.push(await runtime.probe(base, embeddingNames, [...inputs, ...reversed], voiceShift));
  /** The shift (index) under which the base model gives the chosen clips' true digits the highest mean log probability. */
  const chooseShift = (chosen: number[]) => {
    const fit = rowsAt.map((rows) => chosen.reduce((sum, i) => sum + Math.log(Math.max(rows[i][0][targets[i]], 1e-9)), 0) / chosen.length);
    const none = shifts.indexOf(1);
    const best = fit.indexOf(Math.max(...fit));
    return none >= 0 && fit[best] - fit[none] < shiftMargin ? none : best;
  };
  const correctOf = (probabilities: ArrayLike<number>, i: number) => argmax(probabilities) === targets[i];
  const score = (correct: number, n: number): EnrollmentScore => ({ correct, clips: n, accuracy: n ? correct / n : 0 });
  const unshifted = rowsAt[Math.max(0, shifts.indexOf(1))];
  const before = score(unshifted.slice(0, inputs.length).filter(([p], i) => correctOf(p, i)).length, clips.length);
  // Labels out of step with the audio (shifted, shuffled) or clips with no word in them make a model
  // that is sure of the wrong digits; a stranger's voice still gets far more right than chance.
  if (before.accuracy < MIN_AGREEMENT) {
    throw new EnrollmentError(
      `the model hears only ${before.correct} of ${before.clips} clips as the digits they are labelled with: check the labels (each clip's digit, e.g. a file named after it) and that each clip holds one spoken digit`,
    );
  }

  /** The base model with every head refitted on the clips at `chosen`, heard at the shift chosen on them. */
  const personalize = async (chosen: number[]) => {
    const model = decodeModel(base);
    const j = chooseShift(chosen);
    const backwards = reversedWeight > 0 ? chosen.map((i) => inputs.length + i) : [];
    const sampleWeights = [...chosen.map(() => 1), ...backwards.map(() => reversedWeight)];
    const goals = [...chosen.map((i) => targets[i]), ...backwards.map(() => noneClass)];
    for (const [h, head] of findClassifierHeads(model.graph, source).entries()) {
      const embeddings = [...chosen, ...backwards].map((i) => rowsAt[j][i][embeddingIndex[h]]);
      const { weights, bias } = await refitHeadYielding(head, embeddings, goals, { ...refit, sampleWeights, fixedClass: noneClass });
      replaceHeadWeights(model.graph, head, weights, bias);
    }
    return { model, voiceShift: shifts[j] };
  };
  const scoreWith = async ({ model, voiceShift }: { model: OnnxModel; voiceShift: number }, chosen: number[]) => {
    const probabilities = await runtime.probabilities(
      encodeModel(model),
      chosen.map((i) => inputs[i]),
      voiceShift,
    );
    return probabilities.filter((p, j) => correctOf(p, chosen[j])).length;
  };
  const all = clips.map((_, i) => i);

  let crossCheck: Enrollment['crossCheck'] = null;
  const folds = Math.min(MAX_FOLDS, ...clipsPerDigit);
  if (folds >= 2 && options.crossCheck !== false) {
    // The k-th clip of each digit goes to fold k mod folds, so every fold holds every digit.
    const seen = new Array<number>(10).fill(0);
    const foldOf = clips.map((c) => seen[c.digit]++ % folds);
    let after = 0;
    for (let f = 0; f < folds; f++) {
      const held = all.filter((i) => foldOf[i] === f);
      after += await scoreWith(await personalize(all.filter((i) => foldOf[i] !== f)), held);
    }
    crossCheck = { folds, before, after: score(after, clips.length) };
  }

  const personal = await personalize(all);
  const fit = { before, after: score(await scoreWith(personal, all), clips.length) };
  const record: EnrollmentRecord = {
    date: new Date().toISOString(),
    speaker: options.speaker ?? null,
    base: { model: source.split(/[\\/]/).pop() || source, modelType: info.modelType, precision: info.precision },
    clipsPerDigit,
    heads: heads.length,
    voiceShift: personal.voiceShift,
    refit: { ...refit, reversedWeight },
    fit,
    crossCheck,
  };
  personal.model.metadata[OPTIONAL_METADATA_KEYS.enrollment] = JSON.stringify(record);
  return { model: encodeModel(personal.model), heads: heads.length, voiceShift: personal.voiceShift, clipsPerDigit, fit, crossCheck };
}

const argmax = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};

type RefitOptions = { l2: number; steps: number; learningRate: number; sampleWeights?: readonly number[]; fixedClass?: number };
type HeadShape = Pick<ClassifierHead, 'dims' | 'classes' | 'weights' | 'bias'>;

/**
 * Full-batch gradient descent on the (sample-weighted) mean softmax cross-entropy over the clips'
 * embeddings plus l2/2 × the squared distance to the head's trained weights and bias. Deterministic.
 *
 * With `fixedClass` (the "none" class), that class's weights and bias stay as trained, a clip of
 * another class is scored by a softmax over the other classes only, and every update to the other
 * classes has zero mean across them: the refit moves the digits against each other, and the mean
 * digit logit, which the "none" class is weighed against, stays what the model made it for every
 * input. A plain refit taught the model that the speaker's voice is a digit: in the stream, 8x more
 * words became digits (docs/adaptation-record.md, "Speaker enrollment").
 */
export function refitHead(head: HeadShape, embeddings: readonly ArrayLike<number>[], targets: readonly number[], options: RefitOptions): { weights: Float32Array; bias: Float32Array } {
  const refit = headRefit(head, embeddings, targets, options);
  refit.steps(options.steps);
  return refit.result();
}

/**
 * refitHead that gives the event loop back every `chunk` steps (the same result): a refit over a few
 * hundred clips takes most of a second, which a stream being decoded beside it must not wait for.
 */
export async function refitHeadYielding(head: HeadShape, embeddings: readonly ArrayLike<number>[], targets: readonly number[], options: RefitOptions, chunk = 20): Promise<{ weights: Float32Array; bias: Float32Array }> {
  const refit = headRefit(head, embeddings, targets, options);
  for (let done = 0; done < options.steps; done += chunk) {
    refit.steps(Math.min(chunk, options.steps - done));
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return refit.result();
}

/** refitHead's gradient descent, run a number of steps at a time. */
function headRefit(head: HeadShape, embeddings: readonly ArrayLike<number>[], targets: readonly number[], options: RefitOptions) {
  const { dims, classes } = head;
  const w0 = Float64Array.from(head.weights);
  const b0 = Float64Array.from(head.bias);
  const w = Float64Array.from(w0);
  const b = Float64Array.from(b0);
  const gw = new Float64Array(w.length);
  const gb = new Float64Array(b.length);
  const z = new Float64Array(classes);
  const n = options.sampleWeights ? options.sampleWeights.reduce((a, b) => a + b, 0) : embeddings.length;
  const fixed = options.fixedClass ?? -1;
  if (fixed >= classes || (fixed >= 0 && classes < 3)) throw new EnrollmentError(`fixedClass ${fixed} of ${classes} classes`);
  // The embeddings as one matrix, each example's weight and target at hand: the loops below run 300 x examples x dims x classes.
  const x = new Float64Array(embeddings.length * dims);
  embeddings.forEach((e, c) => {
    if (e.length !== dims) throw new EnrollmentError(`an embedding has ${e.length} values, the head reads ${dims}`);
    for (let i = 0; i < dims; i++) x[c * dims + i] = e[i];
  });
  const weightOf = Float64Array.from(embeddings, (_, c) => options.sampleWeights?.[c] ?? 1);
  return {
    steps(count: number): void {
      for (let step = 0; step < count; step++) {
        gw.fill(0);
        gb.fill(0);
        for (let c = 0, row = 0; c < embeddings.length; c++, row += dims) {
          const target = targets[c];
          z.set(b);
          for (let i = 0; i < dims; i++) {
            const v = x[row + i];
            const wi = i * classes;
            for (let k = 0; k < classes; k++) z[k] += v * w[wi + k];
          }
          if (fixed >= 0 && target !== fixed) z[fixed] = -Infinity;
          let max = -Infinity;
          for (let k = 0; k < classes; k++) max = Math.max(max, z[k]);
          let sum = 0;
          for (let k = 0; k < classes; k++) sum += z[k] = Math.exp(z[k] - max);
          const sw = weightOf[c];
          for (let k = 0; k < classes; k++) {
            z[k] = (sw * (z[k] / sum - (k === target ? 1 : 0))) / n;
            gb[k] += z[k];
          }
          for (let i = 0; i < dims; i++) {
            const v = x[row + i];
            const wi = i * classes;
            for (let k = 0; k < classes; k++) gw[wi + k] += z[k] * v;
          }
        }
        if (fixed >= 0) {
          for (let i = 0; i <= dims; i++) {
            // Row i of the weights, or the bias (i = dims).
            const g = i < dims ? gw.subarray(i * classes, (i + 1) * classes) : gb;
            g[fixed] = 0;
            const mean = g.reduce((a, v) => a + v, 0) / (classes - 1);
            for (let k = 0; k < classes; k++) if (k !== fixed) g[k] -= mean;
          }
        }
        for (let j = 0; j < w.length; j++) w[j] -= options.learningRate * (gw[j] + options.l2 * (w[j] - w0[j]));
        for (let k = 0; k < classes; k++) b[k] -= options.learningRate * (gb[k] + options.l2 * (b[k] - b0[k]));
      }
    },
    result(): { weights: Float32Array; bias: Float32Array } {
      if (![...w, ...b].every(Number.isFinite)) throw new EnrollmentError('the refit diverged (non-finite weights); lower learningRate');
      return { weights: Float32Array.from(w), bias: Float32Array.from(b) };
    },
  };
}
