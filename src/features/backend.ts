import type { FeatureConfig } from './config.js';

/** A [frames x dims] feature matrix, row-major (frame after frame). */
export interface FeatureMatrix {
  data: Float32Array;
  frames: number;
  dims: number;
}

/**
 * Precomputed state for one FeatureConfig (FFT plan, window, mel filterbank, DCT matrix), so the
 * per-clip call does no setup. Create once, call `compute` many times, `dispose` when done.
 */
export interface FeatureExtractor {
  readonly config: FeatureConfig;
  /**
   * Full pipeline for samples already at config.sampleRate: frames → window → FFT → power → mel →
   * log → DCT → deltas → fixed-length shaping (config.numFrames) → normalization.
   */
  compute(samples: Float32Array): FeatureMatrix;
  dispose(): void;
}

/** The C++ DSP core behind one interface; implementations: native addon and WebAssembly. */
export interface FeatureBackend {
  readonly name: 'native' | 'wasm';
  createExtractor(config: FeatureConfig): FeatureExtractor;
  /** Band-limited resampling (speech quality); returns the input unchanged when rates are equal. */
  resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array;
  /**
   * Waveform-similarity overlap-add: the samples stretched (or squeezed) to `outLength` samples,
   * pitch unchanged (the voice shift and the tempo augmentation, src/audio/voice-shift.ts).
   */
  wsolaStretch(samples: Float32Array, outLength: number, sampleRate: number): Float32Array;
}
