/**
 * The VAD/endpointer of the C++ core (native/dsp/vad.*, compiled into the wasm module), seen from
 * the page: feed blocks, get segment events with absolute sample positions.
 */
export interface SegmentEvent {
  type: 'start' | 'end' | 'abort';
  reason: number;
  /** First sample of the segment (pre-roll included), counted from the first sample fed. */
  startSample: number;
  /** One past the last sample (post-roll included). */
  endSample: number;
}

export interface Endpointer {
  readonly sampleRate: number;
  process(samples: Float32Array): SegmentEvent[];
  /** End of input: closes an open segment. */
  flush(): SegmentEvent[];
  /** Forgets all state; the next sample fed is sample 0 again. */
  reset(): void;
  /** Peak level since the last call (dBFS), noise floor (dB), whether speech is open now. */
  level(): { peakDb: number; noiseDb: number; inSpeech: boolean };
  /** Cut points (sample offsets) inside one segment where the energy dips: runs of digits split there. */
  valleys(samples: Float32Array): number[];
  dispose(): void;
}

export type EndpointerFactory = (sampleRate: number, sensitivity: number) => Promise<Endpointer>;
