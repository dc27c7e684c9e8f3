import { NOT_A_DIGIT_LABEL } from './metadata.js';

/**
 * Turning class probabilities into an answer. Platform-neutral on purpose: the Node recognizer
 * and the browser kiosk share it, so "is this a digit" means the same everywhere.
 */
export interface Decision {
  /** The recognized digit, or null when the input was rejected as not a digit. */
  digit: number | null;
  /** The most probable digit class, even when rejected (useful for diagnostics). */
  candidate: number;
  /** Probability of `candidate`. */
  confidence: number;
  isDigit: boolean;
  /**
   * Why the input was rejected, when it was: the model's "not a digit" class won, the best digit was
   * below the threshold, or no word was heard at all: too quiet ('silence') or too brief ('too-short',
   * a click or a tap: less speech than MIN_DIGIT_SPEECH_MS).
   */
  rejectedBy: 'none-class' | 'threshold' | 'silence' | 'too-short' | null;
}

/**
 * The least speech a clip can hold and be a digit, as the core's speechExtent measures it (no margin;
 * 10 ms hops, and a sound spreads over its analysis windows: a 10 ms burst measures 50 ms, a 40 ms
 * one 60 ms, a 55 ms one 80 ms). FSDD's shortest measure 110 ms (two of nicolas' and yweweler's
 * "six", whose "s" is faint; espeak-ng's shortest digit 239 ms). Without the rule the shipped model
 * took a click for a "6" (0.47). The stream's endpointer drops such sounds itself (under 100 ms, or
 * without 40 ms of voiced sound).
 */
export const MIN_DIGIT_SPEECH_MS = 80;

/**
 * `decision` for a clip in which no word was heard, whatever the model said: 'silence' when its peak is
 * below `silenceDb`, then 'too-short' as rejectTooShort. Both recognizers (Node's and the page's) decide so.
 */
export function rejectUnheard<D extends Decision>(decision: D, samples: Float32Array, speechMs: number | null | undefined, silenceDb = DEFAULT_SILENCE_DB): D {
  if (peakDbfs(samples) < silenceDb) return { ...decision, isDigit: false, digit: null, rejectedBy: 'silence' };
  return rejectTooShort(decision, speechMs);
}

/** Why a clip got no digit (a Decision's rejectedBy), in the words `digits predict` and the kiosk's batch show. */
export const REJECTED_WHY: Readonly<Record<NonNullable<Decision['rejectedBy']>, string>> = {
  'none-class': 'not a digit',
  threshold: 'unsure',
  silence: 'silence',
  'too-short': 'too short',
};

/**
 * Whether a rejection (a Decision's rejectedBy or a stream RejectedEvent's reason) says no word was
 * heard at all (nothing to show or adapt to), not that a word was not a digit.
 */
export function heardNoWord(rejectedBy: string | null | undefined): boolean {
  return rejectedBy === 'silence' || rejectedBy === 'too-short';
}

/**
 * `decision` rejected as 'too-short' when its clip holds less speech than MIN_DIGIT_SPEECH_MS (null: not
 * measured), whatever the model said: no word was heard, so neither "a doubtful digit" (threshold) nor
 * "another word" (none-class) describes it, and nothing downstream (an in-string threshold, an
 * adaptation) takes it for a word.
 */
export function rejectTooShort<D extends Decision>(decision: D, speechMs: number | null | undefined): D {
  if (speechMs == null || speechMs >= MIN_DIGIT_SPEECH_MS) return decision;
  return { ...decision, isDigit: false, digit: null, rejectedBy: 'too-short' };
}

export function decide(probabilities: ArrayLike<number>, labels: readonly string[], threshold: number): Decision {
  let best = -1;
  let bestP = -Infinity;
  let top = -1;
  let topP = -Infinity;
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i];
    if (p > topP) {
      topP = p;
      top = i;
    }
    if (labels[i] !== NOT_A_DIGIT_LABEL && p > bestP) {
      bestP = p;
      best = i;
    }
  }
  const candidate = Number(labels[best]);
  let rejectedBy: Decision['rejectedBy'] = null;
  if (labels[top] === NOT_A_DIGIT_LABEL) rejectedBy = 'none-class';
  else if (bestP < threshold) rejectedBy = 'threshold';
  const isDigit = rejectedBy === null;
  return { digit: isDigit ? candidate : null, candidate, confidence: bestP, isDigit, rejectedBy };
}

/** The k most probable labels, most probable first. */
export function topLabels(probabilities: ArrayLike<number>, labels: readonly string[], k: number): { label: string; probability: number }[] {
  return labels
    .map((label, i) => ({ label, probability: probabilities[i] }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, Math.max(0, Math.min(k, labels.length)));
}

/** A clip whose peak is below this (dBFS) holds no word: the recognizer's default `silenceDb`. */
export const DEFAULT_SILENCE_DB = -60;

/** Peak level in dBFS; -Infinity for digital silence. */
export function peakDbfs(samples: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const a = Math.abs(samples[i]);
    if (a > peak) peak = a;
  }
  return 20 * Math.log10(peak);
}
