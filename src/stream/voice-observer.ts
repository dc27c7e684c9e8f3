import type { VoiceAdapter } from '../model/voice-adapt.js';
import type { DecoderEvents, StreamDecoder } from './decoder.js';

/**
 * The audio of a decoder event's piece if the decoder took it for a digit, or turned a digit down
 * only for low confidence (what the speaker adapters learn from); else null. Taken at once, while the
 * decoder still holds it.
 */
export function digitPiece(decoder: StreamDecoder, type: keyof DecoderEvents, event: unknown): { samples: Float32Array; sampleRate: number } | null {
  const isDigit = type === 'digit' || (type === 'rejected' && (event as DecoderEvents['rejected']).reason === 'low-confidence');
  if (!isDigit) return null;
  const { startMs, endMs } = event as DecoderEvents['digit' | 'rejected'];
  const samples = decoder.audioBetween(startMs, endMs);
  return samples.length === 0 ? null : { samples, sampleRate: decoder.sampleRate };
}

/** The recognizer now hears the speaker at another voice shift (ListenerOptions.adaptVoice, the kiosk's setting). */
export interface VoiceShiftEvent {
  factor: number;
  /** Utterances the choice rests on. */
  utterances: number;
}

/**
 * Feeds a stream's digits to a VoiceAdapter, shared by the Listener and the kiosk page. A piece the
 * decoder took for a digit, or a digit it turned down only for low confidence, is heard again by
 * the adapter at every candidate shift; that is a model run of its own, so it waits (`flush`) until
 * the decoder is between segments and never delays a digit event.
 */
export class VoiceObserver {
  private pending: { samples: Float32Array; sampleRate: number }[] = [];
  /** Bumped by clear(): a flush begun before it stops, and tells nothing. */
  private generation = 0;

  constructor(
    readonly adapter: VoiceAdapter,
    private readonly onShift: (event: VoiceShiftEvent) => void,
  ) {}

  /**
   * A decoder event: takes the piece's audio now, while the decoder still holds it, if it is a
   * digit's; returns whether it took one.
   */
  take(decoder: StreamDecoder, type: keyof DecoderEvents, event: unknown): boolean {
    const piece = digitPiece(decoder, type, event);
    if (piece) this.pending.push(piece);
    return piece !== null;
  }

  /** Pieces taken and not observed yet. */
  get queued(): number {
    return this.pending.length;
  }

  /** Observes every piece taken so far, in order; emits a VoiceShiftEvent when the adapter's factor changes. */
  async flush(): Promise<void> {
    const generation = this.generation;
    while (this.pending.length) {
      const piece = this.pending.shift()!;
      const before = this.adapter.factor;
      const factor = await this.adapter.observe(piece);
      // Cleared meanwhile (a new speaker, a failed stream): what is pending now is the next flush's.
      if (generation !== this.generation) return;
      if (factor !== before) this.onShift({ factor, utterances: this.adapter.utterances });
    }
  }

  /**
   * Drops what was taken and not observed (a new speaker, a stream that failed); a flush under way
   * stops after the piece it is in (with `adapter.reset()`, that piece is not learnt either).
   */
  clear(): void {
    this.pending = [];
    this.generation++;
  }
}
