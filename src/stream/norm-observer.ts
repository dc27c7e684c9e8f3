import type { NormAdapter } from '../model/norm-adapter.js';
import type { DecoderEvents, StreamDecoder } from './decoder.js';
import { digitPiece } from './voice-observer.js';

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
  /** How long the adaptation took (ms), between segments. */
  computeMs: number;
}

/**
 * Feeds a stream's digits to a NormAdapter (as VoiceObserver feeds a VoiceAdapter): each digit's
 * piece is kept, and every speech segment's outcome told (NormAdapter.heard); an adaptation that is
 * due, or the dropping of one, runs in the next pause (`flush`), never between speech and its digit
 * event.
 */
export class NormObserver {
  /** Speech segments taken and not told yet, in order: whether each was taken for a digit, and its piece if the adapter observes it. */
  private pending: { digit: boolean; piece: { samples: Float32Array; sampleRate: number } | null }[] = [];
  private adaptations = 0;

  constructor(
    readonly adapter: Pick<NormAdapter<{ samples: Float32Array; sampleRate: number }>, 'observe' | 'adapt' | 'observed' | 'kept' | 'heard' | 'dropDue' | 'drop' | 'digitShare' | 'selfEnrolled'>,
    private readonly onAdapt: (event: NormAdaptEvent) => void,
  ) {}

  take(decoder: StreamDecoder, type: keyof DecoderEvents, event: unknown): boolean {
    const speech = type === 'digit' || (type === 'rejected' && (event as DecoderEvents['rejected']).reason !== 'silence');
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
    while (this.pending.length) {
      const { digit, piece } = this.pending.shift()!;
      this.adapter.heard(digit);
      if (piece && this.adapter.observe(piece)) {
        const started = performance.now();
        await this.adapter.adapt();
        this.adaptations++;
        this.report(false, started);
      }
      if (this.adapter.dropDue) {
        const started = performance.now();
        await this.adapter.drop();
        this.report(true, started);
      }
    }
  }

  private report(dropped: boolean, started: number): void {
    this.onAdapt({ dropped, digitShare: this.adapter.digitShare, observed: this.adapter.observed, clips: this.adapter.kept, adaptations: this.adaptations, selfEnrolled: this.adapter.selfEnrolled, computeMs: performance.now() - started });
  }

  clear(): void {
    this.pending = [];
  }
}
