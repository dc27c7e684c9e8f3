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
  /** Why the input was rejected, when it was. */
  rejectedBy: 'none-class' | 'threshold' | 'silence' | null;
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

/** Peak level in dBFS; -Infinity for digital silence. */
export function peakDbfs(samples: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const a = Math.abs(samples[i]);
    if (a > peak) peak = a;
  }
  return 20 * Math.log10(peak);
}
