import type { StreamCore } from './core.js';

/** What the Listener needs from a recognizer (DigitRecognizer.predict fits). */
export interface SegmentPrediction {
  digit: number | null;
  label: string;
  confidence: number;
  isDigit: boolean;
  probabilities?: ArrayLike<number>;
}

export interface SegmentClassifier {
  predict(input: { samples: Float32Array; sampleRate: number }): Promise<SegmentPrediction> | SegmentPrediction;
}

export interface Piece {
  /** Sample offsets into the segment. */
  start: number;
  end: number;
  prediction: SegmentPrediction;
}

export interface SplitOptions {
  /** Valleys shallower than this (dB below the energy on both sides) are not cut points. Default 8. */
  minDepthDb?: number;
  /** No piece shorter than this. Default 150 ms. */
  minPieceMs?: number;
  /** At most this many cut candidates (the deepest) are tried. Default 9. */
  maxCuts?: number;
  /**
   * A single digit spoken in isolation rarely lasts longer than this (FSDD: < 0.8 s of speech);
   * longer pieces are penalised as probably holding two digits. Default 850 ms.
   */
  typicalDigitMs?: number;
  /** A whole segment classified at least this confidently and no longer than typicalDigitMs is not split. Default 0.9. */
  acceptWholeAbove?: number;
}

/**
 * Splits one endpointed segment into the digits it holds.
 *
 * Candidate cuts are the energy valleys the core finds; every way of cutting at a subset of them
 * is scored by the classifier (log confidence of each piece, minus a penalty for pieces longer
 * than a digit usually is), and the best-scoring cut wins (dynamic programming over the sorted
 * cut points, so k candidates cost at most k(k+1)/2 classifications). Short, confident segments
 * skip all of this: one classification.
 */
export async function splitSegment(
  samples: Float32Array,
  sampleRate: number,
  core: StreamCore,
  classifier: SegmentClassifier,
  options: SplitOptions = {},
  edgeSilenceMs = 0,
): Promise<Piece[]> {
  const minDepthDb = options.minDepthDb ?? 8;
  const minPieceMs = options.minPieceMs ?? 150;
  const maxCuts = options.maxCuts ?? 9;
  const typical = options.typicalDigitMs ?? 850;
  const acceptWhole = options.acceptWholeAbove ?? 0.9;
  const ms = (n: number) => (n / sampleRate) * 1000;
  const n = samples.length;

  const whole = await classifier.predict({ samples, sampleRate });
  const wholeSpeechMs = ms(n) - edgeSilenceMs;
  if (wholeSpeechMs <= typical && whole.confidence >= acceptWhole) return [{ start: 0, end: n, prediction: whole }];

  let valleys = core.findValleys(samples, sampleRate, minDepthDb, minPieceMs);
  if (valleys.length === 0) return [{ start: 0, end: n, prediction: whole }];
  if (valleys.length > maxCuts) valleys = [...valleys].sort((a, b) => b.depthDb - a.depthDb).slice(0, maxCuts).sort((a, b) => a.sample - b.sample);

  const cuts = [0, ...valleys.map((v) => v.sample), n];
  // Silence inside a piece that is not speech: half of each bounding valley's low stretch, and the
  // segment's own pre/post-roll at its ends.
  const lowMs = [edgeSilenceMs / 2, ...valleys.map((v) => v.lowMs), edgeSilenceMs / 2];
  const cache = new Map<string, SegmentPrediction>();
  cache.set(`0:${n}`, whole);
  const score = async (i: number, j: number): Promise<{ s: number; p: SegmentPrediction }> => {
    const key = `${cuts[i]}:${cuts[j]}`;
    let p = cache.get(key);
    if (!p) {
      p = await classifier.predict({ samples: samples.subarray(cuts[i], cuts[j]), sampleRate });
      cache.set(key, p);
    }
    const speechMs = ms(cuts[j] - cuts[i]) - (i === 0 ? lowMs[0] : lowMs[i] / 2) - (j === cuts.length - 1 ? lowMs[j] : lowMs[j] / 2);
    const over = Math.max(0, speechMs - typical);
    return { s: Math.log(Math.max(p.confidence, 1e-4)) - 0.5 * (over / 100), p };
  };

  const best: number[] = [0];
  const back: { from: number; p: SegmentPrediction }[] = [{ from: -1, p: whole }];
  for (let j = 1; j < cuts.length; j++) {
    best[j] = -Infinity;
    for (let i = 0; i < j; i++) {
      if (best[i] === -Infinity) continue;
      const { s, p } = await score(i, j);
      if (best[i] + s > best[j]) {
        best[j] = best[i] + s;
        back[j] = { from: i, p };
      }
    }
  }
  const pieces: Piece[] = [];
  for (let j = cuts.length - 1; j > 0; j = back[j].from) pieces.push({ start: cuts[back[j].from], end: cuts[j], prediction: back[j].p });
  return pieces.reverse();
}
