import { ModelError } from '../errors.js';
import { NOT_A_DIGIT_LABEL } from './metadata.js';
import { decide } from './decision.js';
import { checkRecognizerOptions, DigitRecognizer, decodeAudioInput, RECOGNIZER_OPTIONS, type AudioInput, type Prediction, type RecognizerOptions } from './recognizer.js';

export interface EnsemblePrediction extends Prediction {
  /**
   * 0 when all members agree with full confidence; grows with disagreement and spread-out
   * probabilities: the mean over members of the total-variation distance between the member's
   * distribution and the combined one.
   */
  uncertainty: number;
  /** Each member's own prediction, in member order. */
  members: Prediction[];
}

/**
 * Several models voting. Each member's distribution is weighted by its own confidence (its top
 * probability), so a sure member outweighs an unsure one. Members may use different feature
 * configurations; each computes its own features.
 */
export class Ensemble {
  readonly members: DigitRecognizer[];
  readonly labels: readonly string[];
  threshold: number;

  private constructor(members: DigitRecognizer[], threshold: number | undefined) {
    this.members = members;
    const hasNone = members.some((m) => m.labels.includes(NOT_A_DIGIT_LABEL));
    this.labels = [...'0123456789'].concat(hasNone ? [NOT_A_DIGIT_LABEL] : []);
    this.threshold = threshold ?? Math.max(...members.map((m) => m.threshold));
  }

  static async load(models: (string | Uint8Array)[], options: Omit<RecognizerOptions, 'model'> = {}): Promise<Ensemble> {
    if (!Array.isArray(models)) throw new ModelError(`Ensemble.load takes an array of model paths or bytes, got ${models === null ? 'null' : typeof models}`);
    if (models.length === 0) throw new ModelError('an ensemble needs at least one model');
    // The members' models come from `models`; every other key is the members' own.
    checkRecognizerOptions(options, RECOGNIZER_OPTIONS.filter((k) => k !== 'model'), 'Ensemble.load');
    const members = await Promise.all(models.map((model) => DigitRecognizer.load({ ...options, model })));
    return new Ensemble(members, options.threshold);
  }

  async predict(input: AudioInput): Promise<EnsemblePrediction> {
    const started = performance.now();
    // Decode once; each member cuts the clip to its speech as its model was trained (or not) and
    // computes its own features (their configurations may differ).
    const clip = await decodeAudioInput(input);
    const members = await Promise.all(this.members.map((m) => m.predict({ samples: clip.samples, sampleRate: clip.sampleRate })));
    const combined = new Float32Array(this.labels.length);
    const aligned = members.map((p) => {
      const dist = new Float32Array(this.labels.length);
      p.labels.forEach((label, i) => (dist[this.labels.indexOf(label)] = p.probabilities[i]));
      return dist;
    });
    let weightSum = 0;
    aligned.forEach((dist) => {
      const weight = Math.max(...dist);
      weightSum += weight;
      dist.forEach((v, i) => (combined[i] += weight * v));
    });
    combined.forEach((v, i) => (combined[i] = v / weightSum));
    const uncertainty =
      aligned.reduce((sum, dist) => sum + 0.5 * dist.reduce((d, v, i) => d + Math.abs(v - combined[i]), 0), 0) / aligned.length;
    const decision = decide(combined, this.labels, this.threshold);
    // No word heard, whatever the fused answer: every member found silence, or one found the clip too
    // brief for a word (every member hears it cut the same way, so one speaks for all).
    const silent = members.every((m) => m.rejectedBy === 'silence');
    if (silent || members.some((m) => m.rejectedBy === 'too-short')) {
      Object.assign(decision, { isDigit: false, digit: null, rejectedBy: silent ? 'silence' : 'too-short' });
    }
    const sum = (pick: (p: Prediction) => number) => members.reduce((s, p) => s + pick(p), 0);
    return {
      ...decision,
      probabilities: combined,
      labels: this.labels,
      uncertainty,
      members,
      timings: {
        decodeMs: clip.decodeMs,
        featuresMs: sum((p) => p.timings.featuresMs),
        modelMs: sum((p) => p.timings.modelMs),
        totalMs: performance.now() - started,
      },
      // What the clip is, whichever member says it (each heard the same decoded samples).
      ...(clip.truncated ? { truncated: true } : {}),
      ...(members[0].clipped !== undefined ? { clipped: members[0].clipped } : {}),
    };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.members.map((m) => m.dispose()));
  }
}
