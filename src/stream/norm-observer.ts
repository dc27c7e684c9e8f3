import type { NormAdapter } from '../model/norm-adapter.js';
import type { DecoderEvents, StreamDecoder } from './decoder.js';
import { digitPiece } from './voice-observer.js';

/** The recognizer's normalization was adapted to the speaker again (ListenerOptions.adaptNorm). */
export interface NormAdaptEvent {
  /** The speaker's digits observed so far, and how many of the last ones the adaptation rests on. */
  observed: number;
  clips: number;
  /** Adaptations so far in this session. */
  adaptations: number;
  /** How long the adaptation took (ms), between segments. */
  computeMs: number;
}

/**
 * Feeds a stream's digits to a NormAdapter (as VoiceObserver feeds a VoiceAdapter): each digit's
 * piece is kept, and when an adaptation is due it runs in the next pause (`flush`), never between
 * speech and its digit event.
 */
export class NormObserver {
  private pending: { samples: Float32Array; sampleRate: number }[] = [];
  private adaptations = 0;

  constructor(
    readonly adapter: Pick<NormAdapter<{ samples: Float32Array; sampleRate: number }>, 'observe' | 'adapt' | 'observed' | 'window'>,
    private readonly onAdapt: (event: NormAdaptEvent) => void,
  ) {}

  take(decoder: StreamDecoder, type: keyof DecoderEvents, event: unknown): boolean {
    const piece = digitPiece(decoder, type, event);
    if (piece) this.pending.push(piece);
    return piece !== null;
  }

  /** Observes the pieces taken so far, adapting when one is due. */
  async flush(): Promise<void> {
    while (this.pending.length) {
      if (!this.adapter.observe(this.pending.shift()!)) continue;
      const started = performance.now();
      await this.adapter.adapt();
      this.adaptations++;
      this.onAdapt({ observed: this.adapter.observed, clips: Math.min(this.adapter.observed, this.adapter.window), adaptations: this.adaptations, computeMs: performance.now() - started });
    }
  }

  clear(): void {
    this.pending = [];
  }
}
