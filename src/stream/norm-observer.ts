import { heardNoWord } from '../model/decision.js';
import type { NormAdapter } from '../model/norm-adapter.js';
import type { DecoderEvents, StreamDecoder } from './decoder.js';
import { digitPiece } from './voice-observer.js';

/** A digit's audio, as the stream decoder gives it. */
type Piece = { samples: Float32Array; sampleRate: number };

/**
 * The recognizer's normalization was adapted to the speaker again, or the adaptation was dropped
 * because the speech heard lately was mostly not digits (ListenerOptions.adaptNorm).
 */
export interface NormAdaptEvent {
  /** True when the adaptation was dropped: the recognizer is back to its model as loaded. */
  dropped: boolean;
  /** The share of the latest speech segments taken for digits (NormAdapterOptions.minDigitShare). */
  digitShare: number;
  /** The speaker's digits observed so far, and how many of the last ones the adaptation rests on (0 when dropped). */
  observed: number;
  clips: number;
  /** Adaptations so far in this session. */
  adaptations: number;
  /** The adaptation refitted the model's last layers too (NormAdapterOptions.selfEnroll, once the clips named every digit). */
  selfEnrolled: boolean;
  /** A worker computed the adaptation in use (a worker process in Node, a Web Worker in a page); false when dropped. */
  offThread: boolean;
  /** How long the adaptation took (ms), between segments. */
  computeMs: number;
}

/**
 * A normalization adaptation (or the dropping of one) failed: a worker that crashed or did not
 * answer in time, a model session that could not be made. The stream goes on with the model in use
 * (the last adaptation that succeeded, or the model as loaded), and the next adaptation due tries
 * again (a new worker if the old one failed); after `NormObserver.maxFailures` failures in a row it
 * adapts no more in this stream.
 */
export interface NormAdaptFailedEvent {
  error: Error;
  /** The error's message (what NDJSON output carries). */
  message: string;
  /** Failures in a row: a successful adaptation starts the count again. */
  failures: number;
  /** No more adaptations in this stream (maxFailures in a row). */
  stopped: boolean;
}

/**
 * Feeds a stream's digits to a NormAdapter (as VoiceObserver feeds a VoiceAdapter): each digit's
 * piece is kept, and every speech segment's outcome told (NormAdapter.heard); an adaptation that is
 * due, or the dropping of one, runs in the next pause (`flush`), never between speech and its digit
 * event. With `background` (live audio) an adaptation runs beside the decoding instead of holding
 * it up: the stream goes on with the model it has until the adapted one is ready. A drop waits for
 * an adaptation under way; `settle` waits for it too (the end of a stream).
 */
export class NormObserver {
  /** Speech segments taken and not told yet, in order: whether each was taken for a digit, and its piece if the adapter observes it. */
  private pending: { digit: boolean; piece: Piece | null }[] = [];
  private adaptations = 0;
  /** An adaptation running beside the decoding (background), if any. */
  private running: Promise<void> | null = null;
  /** Adaptations or drops that failed in a row. */
  private failures = 0;
  /** Bumped by clear(): work begun before it (a flush, an adaptation) no longer counts for what follows. */
  private generation = 0;
  /** close() was called: nothing more is taken or adapted. */
  private closed = false;
  /** Adaptation failures in a row after which this stream adapts no more. */
  static readonly maxFailures = 3;
  /** Run adaptations beside the decoding (a listener sets it for audio that comes at its own pace). */
  background = false;
  /**
   * Adapt in a worker (NormAdaptOptions.offThread: a worker process in Node, a Web Worker in a page),
   * also when the decoding waits for it: the same adapted model, with the event loop (the page's
   * thread) free meanwhile for whatever else the process does. Default true; false: in line.
   */
  offThread = true;

  constructor(
    readonly adapter: Pick<NormAdapter<Piece>, 'observe' | 'prepare' | 'adapt' | 'cancel' | 'observed' | 'kept' | 'heard' | 'dropDue' | 'drop' | 'digitShare' | 'selfEnrolled' | 'offThread'>,
    private readonly onAdapt: (event: NormAdaptEvent) => void,
    private readonly onFailure: (event: NormAdaptFailedEvent) => void = () => undefined,
    /**
     * Where an error of the handlers above goes when the adaptation ran beside the decoding (a
     * listener's event handler that threw); when the decoding waits for it, flush() throws it.
     */
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /**
   * Whether adapting has stopped for this stream after maxFailures failures in a row (a drop that is
   * due is still tried: the model goes back to as loaded when the speech is not digits).
   */
  get stopped(): boolean {
    return this.failures >= NormObserver.maxFailures;
  }

  take(decoder: StreamDecoder, type: keyof DecoderEvents, event: unknown): boolean {
    if (this.closed) return false;
    const speech = type === 'digit' || (type === 'rejected' && !heardNoWord((event as DecoderEvents['rejected']).reason));
    if (!speech) return false;
    const piece = digitPiece(decoder, type, event);
    this.pending.push({ digit: type === 'digit', piece });
    return piece !== null;
  }

  /** Speech segments taken and not told to the adapter yet. */
  get queued(): number {
    return this.pending.length;
  }

  /** Tells the adapter the segments taken so far, in order, adapting when one is due and dropping the adaptation when that is due. */
  async flush(): Promise<void> {
    const generation = this.generation;
    let dropFailed = false;
    // Turned from background to waiting (a source found to come faster than real time): the
    // adaptation still running beside the decoding is waited for too, and one due meanwhile follows it.
    if (!this.background && this.running) {
      await this.running;
      if (generation !== this.generation) return;
    }
    while (this.pending.length) {
      const { digit, piece } = this.pending.shift()!;
      this.adapter.heard(digit);
      // Cut and at the model's rate (a 48 kHz piece kept at 8 kHz), as the adaptation takes it.
      const kept = piece && (await this.adapter.prepare(piece));
      // Cleared meanwhile (a new speaker): what is pending now is the next flush's.
      if (generation !== this.generation) return;
      // Due while one runs beside the decoding: it starts with a later digit, the clips kept meanwhile included.
      if (kept && this.adapter.observe(kept) && !this.running && !this.stopped) {
        const adapt = this.adapt(this.offThread);
        if (this.background) this.running = adapt.catch((err) => this.handlerError(err)).finally(() => (this.running = null));
        else await adapt;
      }
      // A drop that failed is tried again at the next flush, not at every segment of this one.
      if (this.adapter.dropDue && !dropFailed) {
        await this.running;
        if (generation !== this.generation || !this.adapter.dropDue) return;
        const started = performance.now();
        const dropped = await this.attempt(async () => {
          await this.adapter.drop();
          return true;
        }, 'drop');
        if (dropped) this.report(true, started, this.adapter.observed, this.adapter.kept);
        else dropFailed = true;
      }
    }
  }

  /** Resolves once no adaptation runs beside the decoding. */
  async settle(): Promise<void> {
    await this.running;
  }

  private async adapt(offThread: boolean): Promise<void> {
    const started = performance.now();
    // What it adapts on; beside the decoding, more are observed before it ends.
    const { observed, kept } = this.adapter;
    const generation = this.generation;
    // Not installed (a reset or another adaptation called meanwhile won), or cleared meanwhile: nothing to tell.
    if (!(await this.attempt(() => this.adapter.adapt({ offThread }), 'adapt')) || generation !== this.generation) return;
    this.adaptations++;
    this.report(false, started, observed, kept);
  }

  /** A handler's error from an adaptation beside the decoding, to onError; onError's own error is dropped (nothing awaits it). */
  private handlerError(err: unknown): void {
    try {
      this.onError(err);
    } catch {
      // e.g. a listener's own `error` handler threw: there is nobody left to tell.
    }
  }

  /**
   * Runs one adaptation step; its failure is counted and reported (onFailure), not thrown. True when
   * it succeeded and took effect. One begun before a clear() counts neither way for what follows.
   */
  private async attempt(step: () => Promise<boolean>, kind: 'adapt' | 'drop'): Promise<boolean> {
    const generation = this.generation;
    let error: Error;
    try {
      const done = await step();
      // A drop that works says nothing about adapting: only an adaptation starts the count again.
      if (kind === 'adapt' && generation === this.generation) this.failures = 0;
      return done;
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    if (generation === this.generation) this.failures++;
    this.onFailure({ error, message: error.message, failures: this.failures, stopped: this.stopped });
    return false;
  }

  private report(dropped: boolean, started: number, observed: number, clips: number): void {
    this.onAdapt({ dropped, digitShare: this.adapter.digitShare, observed, clips, adaptations: this.adaptations, selfEnrolled: this.adapter.selfEnrolled, offThread: this.adapter.offThread, computeMs: performance.now() - started });
  }

  /**
   * Abandons the adaptation under way (NormAdapter.cancel: not installed, its worker ended in its
   * run) and forgets what clear() forgets, so that settle() need not wait the 0.2-3 s it takes: a
   * voice forgotten. Observing goes on.
   */
  async cancel(): Promise<void> {
    this.clear();
    await this.adapter.cancel();
  }

  /** Cancels as `cancel` does, and takes and adapts nothing more: a stream stopped. */
  async close(): Promise<void> {
    this.closed = true;
    await this.cancel();
  }

  /** Forgets the segments not told yet and the failures counted (a new speaker, a new start). */
  clear(): void {
    this.pending = [];
    this.failures = 0;
    this.generation++;
  }
}
