import { checkVoiceShift } from '../audio/voice-shift.js';
import { checkOptions, checkOptionTypes, ModelError, OptionsError, type EveryKey } from '../errors.js';
import type { AudioInput } from './recognizer.js';

/** What a VoiceAdapter needs of a recognizer (DigitRecognizer has it). */
export interface ShiftableRecognizer {
  /** The shift every input is heard at. */
  voiceShift: number;
  /** One input heard at each of several shifts, class probabilities per shift. */
  predictShifted(input: AudioInput, factors: readonly number[]): Promise<{ probabilities: ArrayLike<number> }[]>;
}

/**
 * Factors a VoiceAdapter tries: pitch and formants from 15% lower to 25% higher. FSDD's six adult
 * men are what the models know best, so most strangers need a shift up, if any.
 */
export const VOICE_SHIFTS: readonly number[] = [0.85, 0.9, 0.95, 1, 1.05, 1.1, 1.15, 1.2, 1.25];

export interface VoiceAdapterOptions {
  /** Candidate factors; must include 1 (default VOICE_SHIFTS). */
  shifts?: readonly number[];
  /** Utterances heard before the adapter leaves factor 1 (default 8). */
  minUtterances?: number;
  /**
   * Utterances the choice mostly rests on: each older one weighs (1 - 1/memory) less, so a new
   * speaker takes over after about this many (default 50; Infinity weighs all alike).
   */
  memory?: number;
  /** Least gain in mean log confidence over the current factor that makes the adapter switch (default 0.02: above what the shipped model gains on the voices it was trained on, 0.003-0.017). */
  margin?: number;
  /**
   * And the gain must be at least this many standard errors of the per-utterance gains (default 2),
   * so a few lucky utterances do not move a voice the model already knows.
   */
  evidence?: number;
}

const VOICE_ADAPTER_KEYS = ['shifts', 'minUtterances', 'memory', 'margin', 'evidence'] as const;
const VOICE_ADAPTER_OPTIONS: EveryKey<VoiceAdapterOptions, typeof VOICE_ADAPTER_KEYS> = VOICE_ADAPTER_KEYS;

/**
 * Unsupervised speaker adaptation: learns, from a speaker's own utterances and no labels, the voice
 * shift (RecognizerOptions.voiceShift) under which the model is most confident about them, and sets it
 * on the recognizer. Each observed utterance is heard once at every candidate factor (one model run);
 * the factor with the highest weighted mean log top-class probability wins once `minUtterances` have
 * been heard, if it beats the current one by `margin` and by `evidence` standard errors. A model
 * trained on few voices is least sure of the voices it does not know, and a shift toward the voices
 * it knows makes it surer and, measured across speakers it never heard, more often right (docs/adaptation-record.md,
 * "Speaker adaptation").
 */
export class VoiceAdapter {
  readonly shifts: readonly number[];
  private readonly minUtterances: number;
  private readonly decay: number;
  private readonly margin: number;
  private readonly evidence: number;
  /** Weighted sums of each candidate's log confidence, and of squared differences between candidates ([j * n + k]). */
  private readonly sums: Float64Array;
  private readonly squares: Float64Array;
  private weight = 0;
  /** Sum of squared weights: weight² / weightSquares is the effective number of utterances. */
  private weightSquares = 0;
  private heard = 0;
  /** Where the adapter starts and resets to: the recognizer's shift when it is a candidate (a personal model's enrolled shift), else 1. */
  private readonly home: number;
  private chosen: number;
  /** Bumped by reset(): an utterance whose model run began before it is the previous speaker's. */
  private epoch = 0;

  constructor(
    private readonly recognizer: ShiftableRecognizer,
    options: VoiceAdapterOptions = {},
  ) {
    if (typeof recognizer?.predictShifted !== 'function') throw new ModelError(`a VoiceAdapter adapts a recognizer (a DigitRecognizer or WebRecognizer); got ${recognizer === null || recognizer === undefined ? 'none' : 'an object without predictShifted'}`);
    checkOptions(options, VOICE_ADAPTER_OPTIONS, 'VoiceAdapter');
    checkOptionTypes(options, { minUtterances: 'number', memory: 'number', margin: 'number', evidence: 'number' }, 'VoiceAdapter');
    if (options.shifts !== undefined && !Array.isArray(options.shifts)) throw new OptionsError(`VoiceAdapter: shifts must be an array of factors, e.g. [0.9, 1, 1.1], got ${JSON.stringify(options.shifts)}`);
    const shifts = options.shifts ?? VOICE_SHIFTS;
    if (!shifts.includes(1)) throw new OptionsError('voice adapter shifts must include 1 (no shift)');
    shifts.forEach(checkVoiceShift);
    const memory = options.memory ?? 50;
    if (!(memory >= 1)) throw new OptionsError(`voice adapter memory ${memory} must be at least 1 utterance`);
    const minUtterances = options.minUtterances ?? 8;
    if (!(Number.isInteger(minUtterances) && minUtterances >= 1)) throw new OptionsError(`voice adapter minUtterances ${minUtterances} must be a positive integer`);
    this.shifts = [...shifts];
    this.minUtterances = minUtterances;
    this.decay = Number.isFinite(memory) ? 1 - 1 / memory : 1;
    this.margin = options.margin ?? 0.02;
    this.evidence = options.evidence ?? 2;
    if (!(this.margin >= 0 && this.evidence >= 0)) throw new OptionsError('voice adapter margin and evidence must be >= 0');
    this.home = shifts.includes(recognizer.voiceShift) ? recognizer.voiceShift : 1;
    this.chosen = this.home;
    this.sums = new Float64Array(shifts.length);
    this.squares = new Float64Array(shifts.length * shifts.length);
  }

  /** Whether this adapter sets `recognizer`'s voice shift. */
  adapts(recognizer: ShiftableRecognizer): boolean {
    return recognizer === this.recognizer;
  }

  /** The factor chosen so far (the starting one, usually 1, until minUtterances have been heard). */
  get factor(): number {
    return this.chosen;
  }

  /** Sets the recognizer to this adapter's factor, e.g. when one recognizer serves several adapted users in turn. */
  apply(): void {
    this.recognizer.voiceShift = this.chosen;
  }

  /** Utterances observed since the start or the last reset. */
  get utterances(): number {
    return this.heard;
  }

  /** Each candidate's weighted mean log top-class probability so far (NaN before the first utterance). */
  scores(): { factor: number; meanLogConfidence: number }[] {
    return this.shifts.map((factor, k) => ({ factor, meanLogConfidence: this.weight > 0 ? this.sums[k] / this.weight : NaN }));
  }

  /**
   * Hears one utterance of the speaker (best: one the recognizer took for a digit) at every
   * candidate factor, updates the choice, sets it on the recognizer and returns it. An utterance
   * whose model run a `reset()` overtook is the previous speaker's: not learnt (the factor returned
   * as it is), nor set on the recognizer after the reset.
   */
  async observe(input: AudioInput): Promise<number> {
    const epoch = this.epoch;
    const predictions = await this.recognizer.predictShifted(input, this.shifts);
    if (epoch !== this.epoch) return this.chosen;
    return this.learn(predictions);
  }

  /**
   * `observe` for an utterance already heard at every candidate factor: `predictions` are
   * `recognizer.predictShifted(input, adapter.shifts)`, in `shifts` order (a caller that needs the
   * recognizer's answer at the current factor too takes it from them instead of running the model again).
   */
  learn(predictions: readonly { probabilities: ArrayLike<number> }[]): number {
    const n = this.shifts.length;
    if (predictions.length !== n) throw new ModelError(`voice adapter: ${predictions.length} predictions for ${n} shifts`);
    const score = predictions.map(({ probabilities: p }) => {
      let top = 0;
      for (let c = 0; c < p.length; c++) if (p[c] > top) top = p[c];
      return Math.log(Math.max(top, 1e-9));
    });
    const d = this.decay;
    for (let j = 0; j < n; j++) {
      this.sums[j] = this.sums[j] * d + score[j];
      for (let k = 0; k < n; k++) this.squares[j * n + k] = this.squares[j * n + k] * d + (score[k] - score[j]) ** 2;
    }
    this.weight = this.weight * d + 1;
    this.weightSquares = this.weightSquares * d * d + 1;
    this.heard++;
    if (this.heard >= this.minUtterances) {
      let best = 0;
      for (let k = 1; k < n; k++) if (this.sums[k] > this.sums[best]) best = k;
      const current = this.shifts.indexOf(this.chosen);
      // Paired: the same utterances heard both ways, so the gain's spread is that of the differences.
      const gain = (this.sums[best] - this.sums[current]) / this.weight;
      const variance = Math.max(0, this.squares[current * n + best] / this.weight - gain * gain);
      const standardError = Math.sqrt((variance * this.weightSquares) / (this.weight * this.weight));
      if (gain > this.margin && gain > this.evidence * standardError) this.chosen = this.shifts[best];
    }
    this.apply();
    return this.chosen;
  }

  /** Forgets every utterance (a new speaker) and sets the recognizer back to where the adapter started (no shift, or a personal model's enrolled one). */
  reset(): void {
    this.epoch++;
    this.sums.fill(0);
    this.squares.fill(0);
    this.weight = 0;
    this.weightSquares = 0;
    this.heard = 0;
    this.chosen = this.home;
    this.apply();
  }
}
