import { ModelError } from '../errors.js';
import type { FeatureBackend } from '../features/backend.js';

/**
 * Voice and tempo changes on PCM, shared by training (augmentation toward other voices) and
 * inference (a recognizer adapted to a speaker hears the speaker's voice shifted toward the voices
 * it knows, see src/model/voice-adapt.ts). Platform-neutral: the signal processing is the feature
 * backend's (the DSP core's resampler and WSOLA, in the addon or the WebAssembly module).
 */

/**
 * Resampling ratios are rounded to 1/200 so the core's rational resampler sees small up/down
 * factors (cheap filters) whatever the random factor.
 */
function stretchRate(rate: number, factor: number): number {
  return Math.max(1000, Math.round((rate * factor) / (rate / 200)) * (rate / 200));
}

/** Tape-speed change: factor > 1 is faster and higher (shorter output). */
export function speedChange(x: Float32Array, rate: number, factor: number, backend: Pick<FeatureBackend, 'resample'>): Float32Array {
  const from = stretchRate(rate, factor);
  if (from === rate) return x;
  return backend.resample(x, from, rate);
}

/** Pitch and formants × factor, duration unchanged: a tape-speed change, then WSOLA back to the length. */
export function voiceShift(x: Float32Array, rate: number, factor: number, backend: Pick<FeatureBackend, 'resample' | 'wsolaStretch'>): Float32Array {
  const fast = speedChange(x, rate, factor, backend);
  if (fast === x) return x;
  return backend.wsolaStretch(fast, x.length, rate);
}

/** Tempo × factor (> 1 is faster, shorter), pitch and formants unchanged. */
export function tempoChange(x: Float32Array, rate: number, factor: number, backend: Pick<FeatureBackend, 'wsolaStretch'>): Float32Array {
  const length = Math.max(1, Math.round(x.length / factor));
  return length === x.length ? x : backend.wsolaStretch(x, length, rate);
}

/** The range of voice shifts a recognizer takes (RecognizerOptions.voiceShift): plenty for a voice. */
export const MIN_VOICE_SHIFT = 0.7;
export const MAX_VOICE_SHIFT = 1.5;

/** `factor` if it is a voice shift a recognizer takes, else a ModelError. */
export function checkVoiceShift(factor: number): number {
  if (!(factor >= MIN_VOICE_SHIFT && factor <= MAX_VOICE_SHIFT)) throw new ModelError(`voice shift ${factor} must be between ${MIN_VOICE_SHIFT} and ${MAX_VOICE_SHIFT}`);
  return factor;
}
