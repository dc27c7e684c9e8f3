import { AudioInputError, SpokenDigitsError } from '../errors.js';
import type { AudioInput } from './recognizer.js';

/** What a NormAdapter adapts: DigitRecognizer (clips: any AudioInput), or WebRecognizer in a page (PCM pieces). */
export interface NormAdaptable<Clip = AudioInput> {
  adaptNormalization(clips: readonly Clip[]): Promise<void>;
  resetNormalization(): Promise<void>;
}

export interface NormAdapterOptions {
  /** Adapt again after this many more observed clips (default 10). */
  every?: number;
  /** Adapt on at most the last this many observed clips (default 50). */
  window?: number;
}

/**
 * Online normalization adaptation for one speaker (DigitRecognizer.adaptNormalization): the clips
 * of the speaker's digits are observed as they come, and every `every` clips the recognizer is
 * adapted again on the last `window` of them. No labels: what to observe is the caller's choice (a
 * digit, or a digit the threshold turned down: a stranger's voice, which is what adapting is for).
 * Measured on FSDD leave-one-speaker-out folds, see the README ("Normalization adaptation").
 */
export class NormAdapter<Clip = AudioInput> {
  readonly every: number;
  readonly window: number;
  private readonly recent: Clip[] = [];
  private sinceAdapted = 0;
  private observedTotal = 0;

  constructor(
    readonly recognizer: NormAdaptable<Clip>,
    options: NormAdapterOptions = {},
  ) {
    this.every = options.every ?? 10;
    this.window = options.window ?? 50;
    if (!(Number.isInteger(this.every) && this.every >= 2)) throw new AudioInputError(`normalization adaptation: every must be an integer >= 2, got ${options.every}`);
    if (!(Number.isInteger(this.window) && this.window >= this.every)) throw new AudioInputError(`normalization adaptation: window must be an integer >= every (${this.every}), got ${options.window}`);
  }

  /** Clips observed since the last reset. */
  get observed(): number {
    return this.observedTotal;
  }

  /** Takes one clip of the speaker; true when an adaptation is due (call `adapt`). */
  observe(clip: Clip): boolean {
    this.recent.push(clip);
    if (this.recent.length > this.window) this.recent.shift();
    this.observedTotal++;
    this.sinceAdapted++;
    return this.sinceAdapted >= this.every;
  }

  /** Adapts the recognizer on the clips kept (the last `window`). */
  async adapt(): Promise<void> {
    this.sinceAdapted = 0;
    await this.recognizer.adaptNormalization(this.recent);
  }

  /**
   * Puts this speaker's adaptation back on the recognizer (one adapter per speaker over a shared
   * recognizer: the last adapter to adapt owns it): adapted again on the clips kept, if it adapted before.
   */
  async apply(): Promise<void> {
    if (this.observedTotal >= this.every) await this.recognizer.adaptNormalization(this.recent);
    else await this.recognizer.resetNormalization();
  }

  /** Forgets the speaker: no clips, and the recognizer back to its model as loaded. */
  async reset(): Promise<void> {
    this.recent.length = 0;
    this.sinceAdapted = 0;
    this.observedTotal = 0;
    await this.recognizer.resetNormalization();
  }
}

/**
 * The NormAdapter a listener's `adaptNorm` option asks for over its recognizer (Listener, WebListener):
 * the one given, if it adapts this recognizer, or a new one with the given options. A
 * SpokenDigitsError (ERR_ADAPT_NORM) when the recognizer cannot adapt its normalization; `model`
 * names it in the message.
 */
export function normAdapterFor<Clip>(recognizer: object, option: true | NormAdapterOptions | NormAdapter<Clip>, listener: string, model: string): NormAdapter<Clip> {
  if (option instanceof NormAdapter) {
    if ((option.recognizer as unknown) !== recognizer) throw new SpokenDigitsError('ERR_ADAPT_NORM', `adaptNorm: the NormAdapter adapts another recognizer than this ${listener}'s`);
    return option as NormAdapter<Clip>;
  }
  if (!('adaptNormalization' in recognizer && 'canAdaptNormalization' in recognizer)) throw new SpokenDigitsError('ERR_ADAPT_NORM', 'adaptNorm needs a DigitRecognizer');
  const adaptable = recognizer as NormAdaptable<Clip> & { canAdaptNormalization: boolean };
  if (!adaptable.canAdaptNormalization) throw new SpokenDigitsError('ERR_ADAPT_NORM', `adaptNorm: ${model} has no normalization targets to adapt to (scripts/add-norm-targets.ts adds them)`);
  return new NormAdapter<Clip>(adaptable, option === true ? {} : option);
}
