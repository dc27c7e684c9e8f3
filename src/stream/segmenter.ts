import type { StreamCore, Valley } from './core.js';

/** What the Listener needs from a recognizer (DigitRecognizer's Prediction fits). */
export interface SegmentPrediction {
  /** The digit, or null when the recognizer rejected the audio. */
  digit: number | null;
  /** The most probable digit even when rejected. */
  candidate?: number;
  /** Probability of the best digit class. */
  confidence: number;
  isDigit: boolean;
  rejectedBy?: 'none-class' | 'threshold' | 'silence' | null;
}

export interface SegmentClassifier {
  predict(input: { samples: Float32Array; sampleRate: number }): Promise<SegmentPrediction> | SegmentPrediction;
  /** When present, the candidate pieces of a segment are classified in one call (one model run). */
  predictBatch?(inputs: { samples: Float32Array; sampleRate: number }[]): Promise<SegmentPrediction[]> | SegmentPrediction[];
}

export interface Piece {
  /** Sample offsets into the segment. */
  start: number;
  end: number;
  prediction: SegmentPrediction;
}

export const DEFAULT_SURE_DEPTH_DB = 15;
export const DEFAULT_SURE_LOW_MS = 60;
export const DEFAULT_MIN_DEPTH_DB = 8;
export const DEFAULT_MIN_PIECE_MS = 150;
export const DEFAULT_MIN_SPEECH_MS = 180;

/**
 * Drops sure cuts that would leave a stretch with too little speech for a digit: a few words hold a
 * long, deep closure (george's "eight": "eigh" … "t"), and the burst after it belongs to the word
 * before, not to a digit of its own. A short stretch joins the one before it (or after it, first).
 */
export function mergeShortStretches(sure: Valley[], n: number, sampleRate: number, edgeSilenceMs: number, minSpeechMs: number): Valley[] {
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
   * Each piece is trimmed to its speech (hops within this many dB of its peak, plus trimMarginMs)
   * before classification: models trained on tightly cut clips misread long silent edges.
   * 0 turns trimming off. Defaults 40 dB and 50 ms (on FSDD strings in -60 dBFS noise this cut the digit error rate of the interim model from 10% to 5-8%).
   */
  trimDropDb?: number;
  trimMarginMs?: number;
  /**
   * Cost (in log-confidence units) of each cut at a weak valley: most weak valleys lie inside
   * words (stop closures in "six", "eight"), so a split has to buy a clearly better score. Default 0.7.
   */
  weakCutCost?: number;
}

/**
 * Splits one endpointed segment into the digits it holds.
 *
 * The core finds the energy valleys. Deep, long ones (real pauses) are cut unconditionally. Within
 * each remaining stretch, every way of cutting at a subset of the weaker valleys is scored by the
 * classifier (log confidence of each piece, minus a penalty for pieces longer than a digit usually
 * is) and the best wins — dynamic programming over the sorted cut points, so k candidates cost at
 * most k(k+1)/2 classifications. A stretch without weak valleys, or short and confidently
 * classified, costs one classification.
 */
export async function splitSegment(
  samples: Float32Array,
  sampleRate: number,
  core: StreamCore,
  classifier: SegmentClassifier,
  options: SplitOptions = {},
  edgeSilenceMs = 0,
): Promise<Piece[]> {
  const minDepthDb = options.minDepthDb ?? DEFAULT_MIN_DEPTH_DB;
  const minPieceMs = options.minPieceMs ?? DEFAULT_MIN_PIECE_MS;
  const sureDepth = options.sureDepthDb ?? DEFAULT_SURE_DEPTH_DB;
  const sureLow = options.sureLowMs ?? DEFAULT_SURE_LOW_MS;
  const maxCuts = options.maxCuts ?? 8;
  const typical = options.typicalDigitMs ?? 850;
  const acceptWhole = options.acceptWholeAbove ?? 0.9;
  const cutCost = options.weakCutCost ?? 0.7;
  const minSpeech = options.minSpeechMs ?? DEFAULT_MIN_SPEECH_MS;
  const ms = (n: number) => (n / sampleRate) * 1000;
  const n = samples.length;

  const valleys = core.findValleys(samples, sampleRate, minDepthDb, minPieceMs);
  const isSure = (v: Valley) => v.depthDb >= sureDepth && v.lowMs >= sureLow;
  const sure = mergeShortStretches(valleys.filter(isSure), n, sampleRate, edgeSilenceMs, minSpeech);
  const weak = valleys.filter((v) => !sure.includes(v) && !isSure(v));
  const bounds = [0, ...sure.map((v) => v.sample), n];
  // Silence inside a stretch that is not speech: the segment's pre/post-roll at its ends, half of
  // a bounding valley's low stretch elsewhere.
  const boundLow = [edgeSilenceMs / 2, ...sure.map((v) => v.lowMs / 2), edgeSilenceMs / 2];

  const dropDb = options.trimDropDb ?? 40;
  const margin = options.trimMarginMs ?? 50;
  const trimmed = (a: number, b: number) => {
    const piece = samples.subarray(a, b);
    const extent = dropDb > 0 ? core.speechExtent(piece, sampleRate, dropDb, margin) : null;
    return { samples: extent ? piece.subarray(extent[0], extent[1]) : piece, sampleRate };
  };
  const predict = (a: number, b: number) => classifier.predict(trimmed(a, b));
  const pieces: Piece[] = [];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const a = bounds[s];
    const b = bounds[s + 1];
    const whole = await predict(a, b);
    let inner = weak.filter((v) => v.sample > a && v.sample < b);
    const speechMs = ms(b - a) - boundLow[s] - boundLow[s + 1];
    if (inner.length === 0 || (speechMs <= typical && whole.confidence >= acceptWhole)) {
      pieces.push({ start: a, end: b, prediction: whole });
      continue;
    }
    if (inner.length > maxCuts) inner = [...inner].sort((x, y) => y.depthDb - x.depthDb).slice(0, maxCuts).sort((x, y) => x.sample - y.sample);
    const cuts = [a, ...inner.map((v) => v.sample), b];
    const lowMs = [boundLow[s], ...inner.map((v) => v.lowMs / 2), boundLow[s + 1]];
    const cache = new Map<string, SegmentPrediction>([[`${a}:${b}`, whole]]);
    const allowed = (i: number, j: number) => (i === 0 && j === cuts.length - 1) || ms(cuts[j] - cuts[i]) - lowMs[i] - lowMs[j] >= minSpeech;
    if (classifier.predictBatch) {
      // Every piece the search may look at, in one model run.
      const pairs: [number, number][] = [];
      for (let j = 1; j < cuts.length; j++) for (let i = 0; i < j; i++) if (allowed(i, j) && !(i === 0 && j === cuts.length - 1)) pairs.push([i, j]);
      const preds = await classifier.predictBatch(pairs.map(([i, j]) => trimmed(cuts[i], cuts[j])));
      pairs.forEach(([i, j], k) => cache.set(`${cuts[i]}:${cuts[j]}`, preds[k]));
    }
    const score = async (i: number, j: number): Promise<{ s: number; p: SegmentPrediction }> => {
      const key = `${cuts[i]}:${cuts[j]}`;
      let p = cache.get(key);
      if (!p) {
        p = await predict(cuts[i], cuts[j]);
        cache.set(key, p);
      }
      const speech = ms(cuts[j] - cuts[i]) - lowMs[i] - lowMs[j];
      const over = Math.max(0, speech - typical);
      const cost = j < cuts.length - 1 ? cutCost : 0;
      return { s: Math.log(Math.max(p.confidence, 1e-4)) - 0.5 * (over / 100) - cost, p };
    };
    const best: number[] = [0];
    const back: { from: number; p: SegmentPrediction }[] = [{ from: -1, p: whole }];
    for (let j = 1; j < cuts.length; j++) {
      best[j] = -Infinity;
      for (let i = 0; i < j; i++) {
        // Too little speech for a digit (the whole stretch is always allowed).
        if (!allowed(i, j)) continue;
        const { s: sc, p } = await score(i, j);
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
  return pieces;
}
