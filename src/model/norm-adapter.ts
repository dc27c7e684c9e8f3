import { checkOptions, checkOptionTypes, OptionsError, SpokenDigitsError, type EveryKey } from '../errors.js';
import type { AudioInput } from './recognizer.js';

/** What a NormAdapter adapts: DigitRecognizer (clips: any AudioInput), or WebRecognizer in a page (PCM pieces). */
export interface NormAdaptable<Clip = AudioInput> {
  adaptNormalization(clips: readonly Clip[], options?: NormAdaptOptions): Promise<NormAdaptResult | void>;
  resetNormalization(): Promise<void>;
  /** Abandons the adaptations under way: they resolve `superseded`, their worker ended in its run (DigitRecognizer.cancelAdaptation). */
  cancelAdaptation?(): Promise<void>;
  /** Clips as an adaptation takes them (cut, at the model's rate): what a listener keeps to adapt on. */
  prepareClips?(clips: readonly Clip[]): Promise<Clip[]>;
}

/** How one adaptation runs. */
export interface NormAdaptOptions {
  /**
   * After adapting the normalization, refit the model's last layers on the clips, each labelled with
   * the digit the adapted model hears in it (`selfEnroll`); only once the clips name every digit.
   */
  selfEnroll?: boolean;
  /**
   * Run the adaptation's model passes and refit in a worker: a worker process for DigitRecognizer, a
   * Web Worker for WebRecognizer, so that the event loop (a page's main thread), and with it a live
   * stream's decoding, is not held up for the 0.2-3 s it takes. The same adapted model either way.
   * The worker starts at the first such adaptation and ends with `dispose()`, after 30 s without
   * work, or with this process or page (process.exit() at any moment is safe: the worker process
   * ends after the model run it is in). Where no worker can run (a bundle without the worker script,
   * a page whose CSP forbids it), in line; the result's `offThread` says which.
   */
  offThread?: boolean;
}

/** What one adaptation did. */
export interface NormAdaptResult {
  /** The last layers were refitted too (selfEnroll, and the clips named every digit). */
  selfEnrolled: boolean;
  /** A worker computed it (`offThread` asked for, and a worker could run). */
  offThread: boolean;
  /**
   * True when a later adaptation or reset, called while this one ran, is the one in use, or the
   * adaptation was cancelled (cancelAdaptation): this one's model was not installed (of overlapping
   * calls, the last one made wins).
   */
  superseded?: boolean;
}

const NORM_ADAPT_KEYS = ['selfEnroll', 'offThread'] as const;
const NORM_ADAPT_OPTIONS: EveryKey<NormAdaptOptions, typeof NORM_ADAPT_KEYS> = NORM_ADAPT_KEYS;

/** An adaptNormalization call's options: known keys, booleans (a 'false' string is truthy). */
export function checkNormAdaptOptions(options: unknown, what: string): void {
  checkOptions(options, NORM_ADAPT_OPTIONS, what);
  checkOptionTypes(options, { selfEnroll: 'boolean', offThread: 'boolean' }, what);
}

export interface NormAdapterOptions extends NormAdaptOptions {
  /** Adapt again after this many more observed clips (default 10). */
  every?: number;
  /** Adapt on at most the last this many observed clips (default 50; 200 with selfEnroll, whose refit gains from more). */
  window?: number;
  /**
   * Adapt only while at least this share of the speech heard lately was taken for digits (`heard`),
   * and drop the adaptation when the share falls below it: a session of digits, not conversation
   * (default 0.5; 0 turns the check off). Without it, words taken for digits adapt the model toward
   * words, and more words pass (docs/adaptation-record.md, "Normalization adaptation").
   */
  minDigitShare?: number;
  /** The share is over this many of the latest speech segments (default 20). */
  shareOf?: number;
}

const NORM_ADAPTER_KEYS = [...NORM_ADAPT_KEYS, 'every', 'window', 'minDigitShare', 'shareOf'] as const;
const NORM_ADAPTER_OPTIONS: EveryKey<NormAdapterOptions, typeof NORM_ADAPTER_KEYS> = NORM_ADAPTER_KEYS;

/**
 * Online normalization adaptation for one speaker (DigitRecognizer.adaptNormalization): the clips
 * of the speaker's digits are observed as they come, and every `every` clips the recognizer is
 * adapted again on the last `window` of them. No labels: what to observe is the caller's choice (a
 * digit, or a digit the threshold turned down: a stranger's voice, which is what adapting is for).
 * Measured on FSDD leave-one-speaker-out folds, see docs/adaptation-record.md ("Normalization adaptation").
 */
export class NormAdapter<Clip = AudioInput> {
  readonly every: number;
  readonly window: number;
  readonly minDigitShare: number;
  readonly shareOf: number;
  readonly selfEnroll: boolean;
  private readonly recent: Clip[] = [];
  /** The latest speech segments' outcomes (true: taken for a digit), at most `shareOf`. */
  private readonly outcomes: boolean[] = [];
  private sinceAdapted = 0;
  private observedTotal = 0;
  private isAdapted = false;
  /** What the last adaptation did (null before one). */
  private lastResult: NormAdaptResult | null = null;
  /**
   * Changes of the recognizer's normalization asked for (adapt, drop, apply), numbered in call order
   * (the order the recognizer's own last-call-wins follows), and the latest whose outcome was taken:
   * one that ends after a later one did says nothing about what is in use.
   */
  private changes = 0;
  private landed = 0;

  constructor(
    readonly recognizer: NormAdaptable<Clip>,
    options: NormAdapterOptions = {},
  ) {
    checkOptions(options, NORM_ADAPTER_OPTIONS, 'NormAdapter');
    checkOptionTypes(options, { every: 'number', window: 'number', minDigitShare: 'number', shareOf: 'number', selfEnroll: 'boolean', offThread: 'boolean' }, 'NormAdapter');
    this.every = options.every ?? 10;
    this.selfEnroll = options.selfEnroll ?? false;
    this.window = options.window ?? (this.selfEnroll ? 200 : 50);
    this.minDigitShare = options.minDigitShare ?? 0.5;
    this.shareOf = options.shareOf ?? 20;
    if (!(Number.isInteger(this.every) && this.every >= 2)) throw new OptionsError(`normalization adaptation: every must be an integer >= 2, got ${options.every}`);
    if (!(Number.isInteger(this.window) && this.window >= this.every)) throw new OptionsError(`normalization adaptation: window must be an integer >= every (${this.every}), got ${options.window}`);
    if (!(this.minDigitShare >= 0 && this.minDigitShare <= 1)) throw new OptionsError(`normalization adaptation: minDigitShare must be 0..1, got ${options.minDigitShare}`);
    if (!(Number.isInteger(this.shareOf) && this.shareOf >= 1)) throw new OptionsError(`normalization adaptation: shareOf must be an integer >= 1, got ${options.shareOf}`);
  }

  /** Whether the recognizer holds this adapter's adaptation (it adapted, and has not dropped it since). */
  get adapted(): boolean {
    return this.isAdapted;
  }

  /** The share of the latest speech segments (`heard`) taken for digits; 1 before any. */
  get digitShare(): number {
    return this.outcomes.length === 0 ? 1 : this.outcomes.filter(Boolean).length / this.outcomes.length;
  }

  /** Whether the speech heard lately is digits enough to adapt on (`minDigitShare`). */
  private get inDigitSession(): boolean {
    return this.digitShare >= this.minDigitShare;
  }

  /** One speech segment's outcome, whatever it was: taken for a digit or not (a word, a noise, a digit turned down). */
  heard(digit: boolean): void {
    this.outcomes.push(digit);
    if (this.outcomes.length > this.shareOf) this.outcomes.shift();
  }

  /** The adaptation should be dropped (call `drop`): the speech heard lately is mostly not digits. */
  get dropDue(): boolean {
    return this.isAdapted && !this.inDigitSession;
  }

  /** Clips observed since the last reset. */
  get observed(): number {
    return this.observedTotal;
  }

  /** Clips kept to adapt on: the last `window` observed, none since a drop. */
  get kept(): number {
    return this.recent.length;
  }

  /**
   * `clip` as the recognizer's adaptations take it (NormAdaptable.prepareClips: cut, at the model's
   * rate), what to observe; as it is where the recognizer does not prepare clips or cannot prepare
   * this one (the adaptation then takes it as it is, and says what is wrong with it).
   */
  async prepare<C extends Clip>(clip: C): Promise<C> {
    if (!this.recognizer.prepareClips) return clip;
    try {
      return ((await this.recognizer.prepareClips([clip]))[0] as C | undefined) ?? clip;
    } catch {
      return clip;
    }
  }

  /** Takes one clip of the speaker; true when an adaptation is due (call `adapt`). */
  observe(clip: Clip): boolean {
    this.recent.push(clip);
    if (this.recent.length > this.window) this.recent.shift();
    this.observedTotal++;
    this.sinceAdapted++;
    return this.sinceAdapted >= this.every && this.inDigitSession;
  }

  /**
   * Adapts the recognizer on the clips kept (the last `window`); `offThread` as NormAdaptOptions says.
   * False when a reset or another adaptation called meanwhile superseded it (NormAdaptResult.superseded),
   * or a drop, reset or adaptation asked for after it ended first: that one's outcome is what the
   * adapter tells (`adapted`, `selfEnrolled`), as it is what the recognizer uses.
   */
  async adapt(options: { offThread?: boolean } = {}): Promise<boolean> {
    this.sinceAdapted = 0;
    return this.adaptOnKept(options.offThread);
  }

  /**
   * The recognizer adapted on the clips kept (a copy: observing goes on while an adaptation runs);
   * false when superseded: the recognizer did not install it, or a drop, reset or adaptation asked
   * for after it ended first (its outcome is what is in use).
   */
  private async adaptOnKept(offThread = false): Promise<boolean> {
    const change = ++this.changes;
    const result = await this.recognizer.adaptNormalization([...this.recent], { selfEnroll: this.selfEnroll, offThread });
    if (result?.superseded || !this.land(change)) return false;
    this.lastResult = result ?? null;
    this.isAdapted = true;
    return true;
  }

  /** Whether change `change`'s outcome is the latest to take effect (none asked for after it has). */
  private land(change: number): boolean {
    if (change < this.landed) return false;
    this.landed = change;
    return true;
  }

  /** Whether the adaptation in use was computed by a worker (NormAdaptResult.offThread). */
  get offThread(): boolean {
    return this.isAdapted && (this.lastResult?.offThread ?? false);
  }

  /** Whether the adaptation in use refitted the last layers too (selfEnroll, once every digit was heard). */
  get selfEnrolled(): boolean {
    return this.isAdapted && (this.lastResult?.selfEnrolled ?? false);
  }

  /**
   * Drops the adaptation and the clips kept (the speech lately was mostly not digits, so they may
   * be words): the recognizer back to its model as loaded. The outcomes heard stay, so it adapts
   * again only once digits dominate again.
   */
  async drop(): Promise<void> {
    this.recent.length = 0;
    this.sinceAdapted = 0;
    const change = ++this.changes;
    await this.recognizer.resetNormalization();
    // Only once the recognizer is back: a reset that failed is still due (dropDue). Not when an
    // adaptation asked for after it ended first: that one is in use.
    if (this.land(change)) this.isAdapted = false;
  }

  /**
   * Puts this speaker's adaptation back on the recognizer (one adapter per speaker over a shared
   * recognizer: the last adapter to adapt owns it): adapted again on the clips kept, if it adapted before.
   */
  async apply(): Promise<void> {
    // Adapted, but without clips to adapt on: a drop whose reset failed.
    if (this.isAdapted && this.recent.length >= 2) {
      await this.adaptOnKept();
      return;
    }
    const change = ++this.changes;
    await this.recognizer.resetNormalization();
    if (this.land(change)) this.isAdapted = false;
  }

  /**
   * Abandons an adaptation under way (the recognizer's cancelAdaptation): it is not installed, the
   * model in use stays, and `adapt` resolves false; its clips stay kept for the next. For a stop that
   * should not wait the 0.2-3 s an adaptation takes.
   */
  async cancel(): Promise<void> {
    await this.recognizer.cancelAdaptation?.();
  }

  /** Forgets the speaker: no clips, no outcomes, and the recognizer back to its model as loaded. */
  async reset(): Promise<void> {
    this.outcomes.length = 0;
    this.observedTotal = 0;
    await this.drop();
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
