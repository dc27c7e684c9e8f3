import { checkOptions, OptionsError, type EveryKey } from '../errors.js';
import { decide, heardNoWord, type Decision } from '../model/decision.js';
import { DEFAULT_SPEECH_TRIM, NOT_A_DIGIT_LABEL, type SpeechTrim } from '../model/metadata.js';
import type { StreamCore, Valley } from './core.js';
import { cutToSpeech } from './speech-cut.js';

/** What the Listener needs from a recognizer (DigitRecognizer's Prediction fits). */
export interface SegmentPrediction {
  /** The digit, or null when the recognizer rejected the audio. */
  digit: number | null;
  /** The most probable digit even when rejected. */
  candidate?: number;
  /** Probability of the best digit class. */
  confidence: number;
  isDigit: boolean;
  rejectedBy?: Decision['rejectedBy'];
  /** Class probabilities in `labels` order; when present, pieces are checked on a second view (SplitOptions.verifyTailMs). */
  probabilities?: ArrayLike<number>;
  labels?: readonly string[];
}

/** Audio the segmenter classifies; `cutToSpeech: false` when it cut it as the classifier's speechTrim says. */
export interface SegmentAudio {
  samples: Float32Array;
  sampleRate: number;
  cutToSpeech?: boolean;
}

export interface SegmentClassifier {
  predict(input: SegmentAudio): Promise<SegmentPrediction> | SegmentPrediction;
  /** When present, the candidate pieces of a segment are classified in one call (one model run). */
  predictBatch?(inputs: SegmentAudio[]): Promise<SegmentPrediction[]> | SegmentPrediction[];
  /** The classifier's own digit threshold (DigitRecognizer's calibrated one), applied to a piece's combined views. */
  threshold?: number;
  /**
   * How the classifier cuts an input to its speech before classifying it, unless the input says
   * `cutToSpeech: false` (DigitRecognizer: as its model's clips were cut). When set, a piece that is
   * the whole segment comes cut already, from the contour the segmenter has of it.
   */
  readonly speechTrim?: SpeechTrim | null;
}

/**
 * A SegmentClassifier over one batch function (all of a segment's pieces in one model run), deciding
 * with `threshold()`, read at each use (a page's setting may change while it listens). `speechTrim()`:
 * how `classify` cuts inputs to their speech unless they say `cutToSpeech: false`, also read at each
 * use (a page may load another model).
 */
export function batchClassifier(
  classify: (inputs: SegmentAudio[]) => Promise<SegmentPrediction[]>,
  threshold: () => number,
  speechTrim: () => SpeechTrim | null = () => null,
): SegmentClassifier {
  return {
    get speechTrim() {
      return speechTrim();
    },
    get threshold() {
      return threshold();
    },
    predict: async (input) => (await classify([input]))[0],
    predictBatch: classify,
  };
}

export interface Piece {
  /** Sample offsets into the segment. */
  start: number;
  end: number;
  prediction: SegmentPrediction;
}

const DEFAULT_SURE_DEPTH_DB = 15;
const DEFAULT_SURE_LOW_MS = 60;
export const DEFAULT_SURE_ANY_LENGTH_DB = 28;
const DEFAULT_WHOLE_WORD_MAX_MS = 1100;
const DEFAULT_WHOLE_WORD_NONE_MIN = 0.25;
const DEFAULT_WHOLE_DIGIT_MARGIN = 0.7;
const DEFAULT_VERIFY_NONE_MAX = 0.2;
const DEFAULT_VERIFY_UNSURE_BELOW = 0.5;
const DEFAULT_MIN_DEPTH_DB = 8;
const DEFAULT_MIN_PIECE_MS = 150;
export const DEFAULT_MIN_SPEECH_MS = 180;
export const DEFAULT_EARLY_PAUSE_MS = 60;
export const DEFAULT_QUIET_PAUSE_DB = 25;
export const DEFAULT_QUIET_PAUSE_MS = 150;

/** Whether an energy valley is certainly a pause between words (see SplitOptions). */
function isSurePause(v: Valley, options: SplitOptions = {}): boolean {
  return (
    (v.depthDb >= (options.sureDepthDb ?? DEFAULT_SURE_DEPTH_DB) && v.lowMs >= (options.sureLowMs ?? DEFAULT_SURE_LOW_MS)) ||
    v.depthDb >= (options.sureAnyLengthDb ?? DEFAULT_SURE_ANY_LENGTH_DB)
  );
}

/**
 * The sure pauses between words among the energy valleys of some audio (see SplitOptions.sureDepthDb,
 * sureAnyLengthDb): the valleys splitSegment cuts at unconditionally.
 */
export function surePauses(valleys: readonly Valley[], options: SplitOptions = {}): Valley[] {
  return valleys.filter((v) => isSurePause(v, options));
}

/** The energy valleys splitSegment weighs (SplitOptions.minDepthDb), found in a band contour of the audio. */
export function contourValleys(core: StreamCore, bandDb: Float32Array, sampleRate: number, options: SplitOptions = {}): Valley[] {
  return core.contourValleys(bandDb, sampleRate, options.minDepthDb ?? DEFAULT_MIN_DEPTH_DB, options.minPieceMs ?? DEFAULT_MIN_PIECE_MS);
}

/**
 * Drops sure cuts that would leave a stretch with too little speech for a digit: a few words hold a
 * long, deep closure (george's "eight": "eigh" … "t"), and the burst after it belongs to the word
 * before, not to a digit of its own. A short stretch joins the one before it (or after it, first).
 */
function mergeShortStretches(sure: Valley[], n: number, sampleRate: number, edgeSilenceMs: number, minSpeechMs: number): Valley[] {
  const cuts = [...sure];
  for (;;) {
    const bounds = [0, ...cuts.map((v) => v.sample), n];
    const low = [edgeSilenceMs / 2, ...cuts.map((v) => v.lowMs / 2), edgeSilenceMs / 2];
    let short = -1;
    for (let i = 0; i + 1 < bounds.length && short < 0; i++) {
      const speech = ((bounds[i + 1] - bounds[i]) / sampleRate) * 1000 - low[i] - low[i + 1];
      if (speech < minSpeechMs && cuts.length > 0) short = i;
    }
    if (short < 0) return cuts;
    // Stretch `short` lies between cuts[short - 1] and cuts[short]: remove the cut before it, or
    // the one after it when it is the first stretch.
    cuts.splice(short > 0 ? short - 1 : 0, 1);
  }
}

export interface SplitOptions {
  /** Valleys shallower than this (dB below the energy on both sides) are not cut points. Default 8. */
  minDepthDb?: number;
  /** No piece shorter than this. Default 150 ms. */
  minPieceMs?: number;
  /**
   * A valley at least this deep and this long is a pause between words and always cut: on FSDD
   * test clips joined by 120-160 ms pauses, 98% of the pauses qualify and 1% of the words hold
   * one. Defaults 15 dB and 60 ms.
   */
  sureDepthDb?: number;
  sureLowMs?: number;
  /**
   * A valley at least this deep is a pause however short it is. On FSDD training clips (takes 5-49)
   * in -60 dBFS noise, no valley inside a word was deeper than 25 dB, while 58% of the pauses
   * between two clips joined with 0-120 ms gaps were (most of them shorter than sureLowMs).
   * Default 28 dB.
   */
  sureAnyLengthDb?: number;
  /** At most this many weaker cut candidates per stretch are tried (the deepest). Default 8. */
  maxCuts?: number;
  /**
   * A single digit spoken in isolation rarely lasts longer than this (FSDD: < 0.8 s of speech);
   * longer pieces are penalised as probably holding two digits. Default 850 ms.
   */
  typicalDigitMs?: number;
  /** A stretch classified at least this confidently and no longer than typicalDigitMs is not split further. Default 0.9. */
  acceptWholeAbove?: number;
  /** Pieces with less speech than this (silence at their edges not counted) are not allowed. Default 180 ms. */
  minSpeechMs?: number;
  /**
   * Trimming of a piece to its speech (hops within this many dB of its peak, plus trimMarginMs)
   * for the view that ends in silence (verifyTailMs), and for the only view when that is off.
   * 0 turns trimming off. Defaults 40 dB and 50 ms.
   */
  trimDropDb?: number;
  trimMarginMs?: number;
  /**
   * Cost (in log-confidence units) of each cut at a weak valley: most weak valleys lie inside
   * words (stop closures in "six", "eight"), so a split has to buy a clearly better score. Default 0.7.
   */
  weakCutCost?: number;
  /**
   * A piece is classified as cut (with half the pause on each side, or the segment's pre/post-roll,
   * much like an FSDD clip's own silence) and, where that view is unsure (verifyUnsureBelow) or the
   * piece is the whole segment taken as a candidate word (wholeWordMaxMs), also as its trimmed speech
   * followed by this much silence; the two views' probabilities are averaged. The model's training clips end in
   * silence (espeak-ng's synthetic words and digits carry ~300 ms of it), and a non-digit word is
   * often read as a digit until its silent tail is seen, then as "none". Needs a classifier that
   * reports probabilities and labels (DigitRecognizer does); 0 turns it off (and the whole-word check
   * below), leaving one view, the trimmed speech. Default 150 ms. Measured with the whole-word check
   * on espeak-ng words of bench/stream-words.ts DEV_WORDS (35 words, 8 voices, near-digit words
   * left out): 225 -> 59 false digits; espeak-ng digits 71 -> 72/80 right, FSDD test clips 146 ->
   * 149/150; FSDD test-clip strings (3 x 120, seeds 5-7, not the benchmark's) 312 -> 321 right.
   * (Measured before the models were trained on clips cut to their speech. A classifier that cuts what
   * it is given (speechTrim, as the shipped models' recognizers do) cuts the silence off again, so its
   * second view is the piece as its own cut finds it in the samples, against the first's cut from the
   * segment's contour: two slightly different cuts. In stop 50's stream bench they differed in 616 of
   * 865 pieces, by up to 0.16 in a probability, and gave another digit in 11.)
   */
  verifyTailMs?: number;
  /**
   * A piece whose "none" probability exceeds this in either view (where both are seen) is not a digit. Default 0.2 (0.3
   * before the deeper-voice default model). With that model, 0.3 -> 0.2 on the development words
   * (bench/stream-errors.ts --words dev) 28 -> 21 false digits, a real voice's words 212 -> 203, her
   * digits and FSDD strings (120-450 ms and 0-100 ms pauses) unchanged, espeak-ng digits 73 -> 72 of
   * 80; then on the held-out words, 57 -> 35 (`--words bench`) and 201 -> 89 false digits/hour
   * (bench/stream.ts). 0.15 cost espeak-ng digits 73 -> 61. (With the previous model 0.2 had cost
   * espeak-ng digits 71 -> 68, and 0.3 stayed.)
   */
  verifyNoneMax?: number;
  /**
   * The second view (verifyTailMs) is asked for only where the first is unsure: a digit below this
   * confidence or with a "none" probability over half of verifyNoneMax, or no digit (a word heard as
   * none, or below the threshold). A digit the first view is sure of is taken from it alone, in one
   * model run of half the clips (not the whole segment taken as a candidate word: the whole-word check
   * reads both views). Default 0.5; above 1 asks for it everywhere (the same answers as before
   * stop 50, in two runs where there was one). Measured against stop 49's code (the shipped default,
   * stop 50): 98% of the stream bench's pieces were sure; compute per segment (bench/stream.ts) p95
   * median 1.76 ms over 15 runs (1.58-2.58, 12 under 2 ms; p50 0.73-1.25) against 2.56 over 8 runs
   * interleaved with them (2.38-2.73; p50 1.30-1.46); run together, 0-100 ms pauses: 2.8-3.1 -> 2.0-2.2; at real time (bench/live-latency.ts) p50 2.36 -> 1.5, p95 3.2 -> 3.4, the first run after a
   * pause being cold either way; the same digit events on FSDD strings with 120-450 ms pauses, with and
   * without --adapt-norm, one more digit error in 847 run together (seed 2024; seed 5 the same); the
   * same false digits (113/hour; development words 19, held-out words 34, a real voice's words 202 ->
   * 200) and the same espeak-ng and real-voice digits (bench/stream-errors.ts).
   */
  verifyUnsureBelow?: number;
  /**
   * A segment split into several pieces whose speech is at most wholeWordMaxMs long is also
   * classified whole; when its "none" probability (both views averaged) reaches wholeWordNoneMin,
   * it is one non-digit word cut at a closure: one piece, rejected (before stop 48 each piece was
   * left, the digits among them rejected: one word gave several rejected events, and a piece rejected
   * only by the threshold could still count as a digit inside an open string). Defaults 1100 ms
   * and 0.25. With the shipped ensemble (bench/stream-errors.ts), 0.4 -> 0.25 cut the development
   * words' false digits 56 -> 35 and a real voice's words' (`--words real`) 268 -> 216, left FSDD
   * strings with 120-450 ms pauses (four sets) and espeak-ng digits as they were, and cost digits
   * run together with 0-100 ms pauses 5.2 -> 5.7% digit errors; 0.2 and 0.15 gained little more
   * (real words 207, 203) and cost those 6.3 and 6.7%.
   */
  wholeWordMaxMs?: number;
  wholeWordNoneMin?: number;
  /**
   * The same whole classification, when it is a digit, against the pieces: a digit can close as deep
   * and as long as a sure pause ("seven" at its "v": 23 dB for 60 ms in espeak-ng's voices), and its
   * pieces then read as two weak words ("se" 7 or 6, "ven" 1). The whole is taken for one digit when
   * its score (log confidence, less the penalty for speech over typicalDigitMs) beats the pieces' sum
   * by this much per cut. Default 0.7; Infinity turns it off (as do verifyTailMs 0 and wholeWordMaxMs 0,
   * which leave the whole unclassified). Measured against off (stop 48): espeak-ng
   * digits 68 -> 70 of 80 (two "seven"s), a real voice's digits in the stream 15 -> 17 of 20 (her
   * "seven" had come out as "77"); FSDD strings (120-450 ms pauses, and 0-100 ms with seeds 2024, 5 and
   * 6), development words, her words and the held-out words' false digits unchanged. A margin of 0
   * merged FSDD digits run together (0-100 ms: 6.6 -> 6.7% digit errors), and a cost instead of a margin
   * (the pieces having to beat the whole by 0.7 per cut; a scratch edit) 7.3%.
   */
  wholeDigitMargin?: number;
  /**
   * Streaming only (Listener): once the endpointer has heard this much silence after speech, the
   * speech so far is recognized, without waiting for the hangover to close the segment, so a digit
   * run together with the next one is not held back until both are over. 0 turns it off. Default 60 ms.
   */
  earlyPauseMs?: number;
  /**
   * Streaming only (Listener): the endpointer holds a segment open while the level stays a few dB
   * over its noise floor, and a background that steps up with the speaker (a recording's own hiss,
   * a second microphone) keeps it open after the word is over. So quiet that has lasted
   * quietPauseMs, every 10 ms hop of it quietPauseDb or more under the loudest hop of the speech not
   * yet recognized (300-3400 Hz band), counts as the early pause too. Defaults 25 dB and 150 ms;
   * quietPauseMs 0 turns it off.
   */
  quietPauseDb?: number;
  quietPauseMs?: number;
  /**
   * Streaming only (Listener): digits run together with pauses too short or too noisy for the
   * endpointer to hear as silence share one open segment. While a segment is open, the speech
   * before a sure pause (sureDepthDb/sureLowMs, or sureAnyLengthDb less 6 dB) is recognized as soon as 80 ms
   * of speech follow the pause, and let out when it holds a digit's worth of speech (minSpeechMs)
   * and every piece of it is a digit the model is sure is not another word ("not a digit"
   * probability <= 0.02; models without that class never split early); otherwise it waits for the
   * segment's end. On 120 FSDD strings with 0-100 ms pauses (bench/stream.ts --pauses 0-100),
   * digit events over 250 ms after their speech: 227 -> 83 of 847, digit errors 6.3 -> 5.3%. Default true.
   */
  earlySplit?: boolean;
}

const SPLIT_KEYS = [
  'minDepthDb', 'minPieceMs', 'sureDepthDb', 'sureLowMs', 'sureAnyLengthDb', 'maxCuts', 'typicalDigitMs', 'acceptWholeAbove', 'minSpeechMs',
  'trimDropDb', 'trimMarginMs', 'weakCutCost', 'verifyTailMs', 'verifyNoneMax', 'verifyUnsureBelow', 'wholeWordMaxMs', 'wholeWordNoneMin', 'wholeDigitMargin', 'earlyPauseMs',
  'quietPauseDb', 'quietPauseMs', 'earlySplit',
] as const;
const SPLIT_OPTIONS: EveryKey<SplitOptions, typeof SPLIT_KEYS> = SPLIT_KEYS;

/**
 * `split` as SplitOptions (or false): known keys only, `earlySplit` a boolean, every other value a
 * number >= 0 (Infinity, or a probability above 1, turns its check off); an OptionsError names the
 * first that is not. `what` names the option in the message, e.g. "Listener.create: split".
 */
export function checkSplitOptions(split: unknown, what: string): void {
  if (split === false) return;
  checkOptions(split, SPLIT_OPTIONS, what);
  for (const [key, value] of Object.entries((split ?? {}) as Record<string, unknown>)) {
    if (value === undefined) continue;
    const ok = key === 'earlySplit' ? typeof value === 'boolean' : typeof value === 'number' && value >= 0;
    if (!ok) throw new OptionsError(`${what}.${key} must be ${key === 'earlySplit' ? 'true or false' : 'a number >= 0'}, got ${JSON.stringify(value) ?? String(value)}`);
  }
}

/**
 * Splits one endpointed segment into the digits it holds.
 *
 * The core finds the energy valleys. Deep, long ones (real pauses) and very deep ones are cut
 * unconditionally. Within each remaining stretch, every way of cutting at a subset of the weaker
 * valleys is scored by the classifier (log confidence of each piece, minus a penalty for pieces
 * longer than a digit usually is) and the best wins — dynamic programming over the sorted cut
 * points, so k candidates cost at most k(k+1)/2 classifications, all in one model run (a second
 * for the views asked for where the first is unsure). A stretch without weak valleys, or short and
 * confidently classified, costs one classification. Each classification looks at the piece in up to
 * two views (verifyTailMs, verifyUnsureBelow), and a short
 * segment that was split is also classified whole (wholeWordMaxMs).
 *
 * `bandDb`: the band contour of all of `samples` (core.bandContour from hop 0), when the caller has it
 * (the stream keeps one of its open audio); else it is made here. The valleys and the cut of a
 * piece that is the whole segment both come from it.
 */
export async function splitSegment(
  samples: Float32Array,
  sampleRate: number,
  core: StreamCore,
  classifier: SegmentClassifier,
  options: SplitOptions = {},
  edgeSilenceMs = 0,
  bandDb: Float32Array = core.bandContour(samples, sampleRate, 0).bandDb,
): Promise<Piece[]> {
  const maxCuts = options.maxCuts ?? 8;
  const typical = options.typicalDigitMs ?? 850;
  const acceptWhole = options.acceptWholeAbove ?? 0.9;
  const cutCost = options.weakCutCost ?? 0.7;
  const minSpeech = options.minSpeechMs ?? DEFAULT_MIN_SPEECH_MS;
  const ms = (n: number) => (n / sampleRate) * 1000;
  const n = samples.length;

  const valleys = contourValleys(core, bandDb, sampleRate, options);
  const isSure = (v: Valley) => isSurePause(v, options);
  const sure = mergeShortStretches(valleys.filter(isSure), n, sampleRate, edgeSilenceMs, minSpeech);
  const weak = valleys.filter((v) => !sure.includes(v) && !isSure(v));
  const bounds = [0, ...sure.map((v) => v.sample), n];
  // The speech of the piece between two cut points: less the silence at its ends that is not speech,
  // half the segment's pre/post-roll at the segment's ends, half a valley's low stretch at a cut.
  const halfLow = new Map<number, number>([[0, edgeSilenceMs / 2], [n, edgeSilenceMs / 2], ...valleys.map((v): [number, number] => [v.sample, v.lowMs / 2])]);
  const speechOf = (a: number, b: number) => ms(b - a) - halfLow.get(a)! - halfLow.get(b)!;

  const dropDb = options.trimDropDb ?? DEFAULT_SPEECH_TRIM.dropDb;
  const margin = options.trimMarginMs ?? DEFAULT_SPEECH_TRIM.marginMs;
  // The whole segment cut as `trim` says, its speech found in the contour it already has.
  const fromContour = { speechExtent: (_: Float32Array, rate: number, drop: number, margin: number, keep?: number) => core.contourSpeechExtent(bandDb, n, rate, drop, margin, keep ?? 0) };
  const wholeCut = (trim: SpeechTrim) => cutToSpeech(fromContour, samples, sampleRate, trim);
  const trimmed = (a: number, b: number): SegmentAudio => {
    const piece = samples.subarray(a, b);
    if (dropDb <= 0) return { samples: piece, sampleRate };
    return { samples: a > 0 || b < n ? cutToSpeech(core, piece, sampleRate, { dropDb, marginMs: margin }) : wholeCut({ dropDb, marginMs: margin }), sampleRate };
  };
  // A piece as the classifier takes it in; the whole segment cut as the classifier would cut it.
  const classifierTrim = classifier.speechTrim;
  const asCut = (a: number, b: number): SegmentAudio =>
    classifierTrim && a === 0 && b === n ? { samples: wholeCut(classifierTrim), sampleRate, cutToSpeech: false } : { samples: samples.subarray(a, b), sampleRate };
  const tail = Math.round(((options.verifyTailMs ?? 150) / 1000) * sampleRate);
  // The whole segment is a candidate non-digit word only while the model can take it in at once.
  const wholeWord = tail > 0 && n > 0 && bounds.length + weak.length > 2 && speechOf(0, n) <= (options.wholeWordMaxMs ?? DEFAULT_WHOLE_WORD_MAX_MS);
  const views = new SegmentViews(classifier, asCut, trimmed, tail, options.verifyNoneMax ?? DEFAULT_VERIFY_NONE_MAX, options.verifyUnsureBelow ?? DEFAULT_VERIFY_UNSURE_BELOW);
  // Each stretch whole (and the segment, when it may be one word), in one model run (two where a view is unsure).
  const firstRun: [number, number][] = bounds.slice(1).map((b, s) => [bounds[s], b]);
  if (wholeWord) firstRun.push([0, n]);
  await views.classify(firstRun);
  const pieces: Piece[] = [];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const a = bounds[s];
    const b = bounds[s + 1];
    const whole = views.get(a, b);
    let inner = weak.filter((v) => v.sample > a && v.sample < b);
    if (inner.length === 0 || (speechOf(a, b) <= typical && whole.confidence >= acceptWhole)) {
      pieces.push({ start: a, end: b, prediction: whole });
      continue;
    }
    if (inner.length > maxCuts) inner = [...inner].sort((x, y) => y.depthDb - x.depthDb).slice(0, maxCuts).sort((x, y) => x.sample - y.sample);
    const cuts = [a, ...inner.map((v) => v.sample), b];
    const allowed = (i: number, j: number) => (i === 0 && j === cuts.length - 1) || speechOf(cuts[i], cuts[j]) >= minSpeech;
    // Every piece the search may look at, in one model run (two where a view is unsure).
    const pairs: [number, number][] = [];
    for (let j = 1; j < cuts.length; j++) for (let i = 0; i < j; i++) if (allowed(i, j)) pairs.push([cuts[i], cuts[j]]);
    await views.classify(pairs);
    const score = (i: number, j: number): { s: number; p: SegmentPrediction } => {
      const p = views.get(cuts[i], cuts[j]);
      return { s: pieceScore(p, speechOf(cuts[i], cuts[j]), typical) - (j < cuts.length - 1 ? cutCost : 0), p };
    };
    const best: number[] = [0];
    const back: { from: number; p: SegmentPrediction }[] = [{ from: -1, p: whole }];
    for (let j = 1; j < cuts.length; j++) {
      best[j] = -Infinity;
      for (let i = 0; i < j; i++) {
        // Too little speech for a digit (the whole stretch is always allowed).
        if (!allowed(i, j)) continue;
        const { s: sc, p } = score(i, j);
        if (best[i] + sc > best[j]) {
          best[j] = best[i] + sc;
          back[j] = { from: i, p };
        }
      }
    }
    const stretch: Piece[] = [];
    for (let j = cuts.length - 1; j > 0; j = back[j].from) stretch.push({ start: cuts[back[j].from], end: cuts[j], prediction: back[j].p });
    pieces.push(...stretch.reverse());
  }
  if (wholeWord && pieces.length > 1) {
    // Both views, as the check was tuned on (a sure first view could hide a second that says "none").
    const word = await views.bothViews(0, n);
    const none = word.labels?.indexOf(NOT_A_DIGIT_LABEL) ?? -1;
    if (none >= 0 && word.probabilities![none] >= (options.wholeWordNoneMin ?? DEFAULT_WHOLE_WORD_NONE_MIN)) {
      // One non-digit word cut at a closure: one word rejected, not each of its pieces.
      return [{ start: 0, end: n, prediction: { ...word, digit: null, isDigit: false, rejectedBy: 'none-class' } }];
    }
    if (word.isDigit) {
      // One digit cut where it closes as deep and as long as a pause ("se-ven"): the whole, when it scores
      // clearly over its pieces (scored as the search scores them), is the one digit.
      const split = pieces.reduce((a, p) => a + pieceScore(p.prediction, speechOf(p.start, p.end), typical), 0);
      const margin = (options.wholeDigitMargin ?? DEFAULT_WHOLE_DIGIT_MARGIN) * (pieces.length - 1);
      if (pieceScore(word, speechOf(0, n), typical) > split + margin) return [{ start: 0, end: n, prediction: word }];
    }
  }
  return pieces;
}

/** How a piece scores in the search for cuts: its log confidence, less a penalty for speech longer than a digit usually lasts. */
function pieceScore(p: SegmentPrediction, speechMs: number, typicalMs: number): number {
  return Math.log(Math.max(p.confidence, 1e-4)) - 0.5 * (Math.max(0, speechMs - typicalMs) / 100);
}

function withSilence(v: SegmentAudio, samples: number): SegmentAudio {
  const padded = new Float32Array(v.samples.length + samples);
  padded.set(v.samples);
  return { samples: padded, sampleRate: v.sampleRate };
}

/**
 * The classifier's answers for pieces of one segment, cached by [start, end). With `tail` > 0 each
 * piece is seen as cut (with the pause around it, like an FSDD clip's own silence) and, where that
 * view is unsure (sure: a digit at `unsureBelow` or more with "none" at most noneMax / 2), also as its
 * trimmed speech followed by `tail` samples of silence; the two views' probabilities are averaged,
 * and a piece either view finds probably "none" (above noneMax) is not a digit. With `tail` 0, only
 * the trimmed speech is classified. Each view of a classify() call is one model run.
 */
class SegmentViews {
  private readonly cache = new Map<string, SegmentPrediction>();
  /** Pieces whose answer is their first view alone (it was sure), keyed as the cache. */
  private readonly firstOnly = new Set<string>();
  constructor(
    private readonly classifier: SegmentClassifier,
    private readonly asCut: (a: number, b: number) => SegmentAudio,
    private readonly trimmed: (a: number, b: number) => SegmentAudio,
    private readonly tail: number,
    private readonly noneMax: number,
    private readonly unsureBelow: number,
  ) {}

  async classify(ranges: [number, number][]): Promise<void> {
    const todo = ranges.filter(([a, b], k) => !this.cache.has(`${a}:${b}`) && ranges.findIndex(([x, y]) => x === a && y === b) === k);
    if (todo.length === 0) return;
    if (this.tail === 0) {
      const out = await this.run(todo.map(([a, b]) => this.trimmed(a, b)));
      todo.forEach(([a, b], k) => this.cache.set(`${a}:${b}`, out[k]));
      return;
    }
    const first = await this.run(todo.map(([a, b]) => this.asCut(a, b)));
    const unsure = todo.flatMap((_, k) => (this.sure(first[k]) ? [] : [k]));
    const second = unsure.length ? await this.run(unsure.map((k) => withSilence(this.trimmed(...todo[k]), this.tail))) : [];
    todo.forEach(([a, b], k) => {
      const j = unsure.indexOf(k);
      this.cache.set(`${a}:${b}`, j < 0 ? first[k] : this.combine(first[k], second[j]));
      if (j < 0) this.firstOnly.add(`${a}:${b}`);
    });
  }

  /** One model run over `inputs` (one call each without predictBatch). */
  private async run(inputs: SegmentAudio[]): Promise<SegmentPrediction[]> {
    const c = this.classifier;
    return c.predictBatch ? await c.predictBatch(inputs) : await Promise.all(inputs.map((x) => c.predict(x)));
  }

  /** A classified piece's answer from both views, its second run now if its first was sure (the whole-word check reads both). */
  async bothViews(a: number, b: number): Promise<SegmentPrediction> {
    const key = `${a}:${b}`;
    const first = this.get(a, b);
    if (this.tail === 0 || !this.firstOnly.delete(key)) return first;
    const [second] = await this.run([withSilence(this.trimmed(a, b), this.tail)]);
    const both = this.combine(first, second);
    this.cache.set(key, both);
    return both;
  }

  /**
   * A first view taken alone: a digit sure enough, or no word heard at all (silence, a click: combine
   * keeps the first view then). Without probabilities (a plain classifier) only the first counts.
   */
  private sure(p: SegmentPrediction): boolean {
    if (heardNoWord(p.rejectedBy) || !p.labels || !p.probabilities) return true;
    const none = p.labels.indexOf(NOT_A_DIGIT_LABEL);
    return p.isDigit && p.confidence >= this.unsureBelow && (none < 0 || p.probabilities[none] <= this.noneMax / 2);
  }

  get(a: number, b: number): SegmentPrediction {
    const p = this.cache.get(`${a}:${b}`);
    if (!p) throw new Error(`segment piece ${a}:${b} was not classified`);
    return p;
  }

  private combine(first: SegmentPrediction, second: SegmentPrediction): SegmentPrediction {
    const labels = first.labels;
    const pa = first.probabilities;
    const pb = second.probabilities;
    // Without probabilities (a plain classifier) or when the recognizer heard no word (silence, a click), the first view decides.
    if (!labels || !pa || !pb || pa.length !== labels.length || pb.length !== labels.length || heardNoWord(first.rejectedBy)) return first;
    const mean = new Float32Array(labels.length);
    for (let i = 0; i < labels.length; i++) mean[i] = (pa[i] + pb[i]) / 2;
    const d = decide(mean, labels, this.classifier.threshold ?? 0);
    const none = labels.indexOf(NOT_A_DIGIT_LABEL);
    if (d.isDigit && none >= 0 && Math.max(pa[none], pb[none]) > this.noneMax) {
      d.isDigit = false;
      d.digit = null;
      d.rejectedBy = 'none-class';
    }
    // The first view's other fields (a kiosk Recognition's features, timings) are kept.
    return { ...first, ...d, probabilities: mean, labels };
  }
}
