import { ModelError } from '../errors.js';
import type { FeatureBackend } from '../features/backend.js';

/**
 * Voice and tempo changes on PCM, shared by training (augmentation toward other voices) and
 * inference (a recognizer adapted to a speaker hears the speaker's voice shifted toward the voices
 * it knows, see src/model/voice-adapt.ts). Platform-neutral: the only native part is the feature
 * backend's resampler (the addon's or the WebAssembly core's).
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

/** Pitch and formants × factor, duration unchanged. */
export function voiceShift(x: Float32Array, rate: number, factor: number, backend: Pick<FeatureBackend, 'resample'>): Float32Array {
  const fast = speedChange(x, rate, factor, backend);
  if (fast === x) return x;
  return wsolaStretch(fast, x.length, rate);
}

/** Tempo × factor (> 1 is faster, shorter), pitch and formants unchanged. */
export function tempoChange(x: Float32Array, rate: number, factor: number): Float32Array {
  const length = Math.max(1, Math.round(x.length / factor));
  return length === x.length ? x : wsolaStretch(x, length, rate);
}

/**
 * Waveform-similarity overlap-add: changes duration to `outLength` samples without changing pitch.
 * Each output frame is copied from near its nominal input position, nudged (±tolerance) to the
 * offset whose waveform best continues the previous frame, and cross-faded with a Hann window.
 */
export function wsolaStretch(x: Float32Array, outLength: number, rate: number): Float32Array {
  const win = Math.max(16, Math.round(0.02 * rate)) & ~1; // 20 ms frames
  const hop = win / 2;
  const tol = Math.round(0.005 * rate);
  const y = new Float32Array(outLength + win);
  const norm = new Float32Array(outLength + win);
  const w = new Float32Array(win);
  for (let i = 0; i < win; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / win);
  const ratio = x.length / Math.max(1, outLength);
  // x with `pad` zeros on both sides: every position a frame or a candidate can read is in range, so
  // the loops index it directly (the same sums as bounds-checked reads of x, several times faster).
  const pad = win + tol;
  const xp = new Float32Array(x.length + 2 * pad);
  xp.set(x, pad);
  const inRange = (i: number) => Math.min(Math.max(i, -pad), x.length + pad - win) + pad;
  let prevEnd = 0; // input position that naturally continues the last frame
  for (let out = 0, k = 0; out < outLength; out += hop, k++) {
    const nominal = Math.round(out * ratio);
    let best = nominal;
    if (k > 0) {
      let bestScore = -Infinity;
      const p = inRange(prevEnd);
      for (let d = -tol; d <= tol; d++) {
        const c = inRange(nominal + d);
        let s = 0;
        for (let i = 0; i < hop; i += 2) s += xp[c + i] * xp[p + i];
        if (s > bestScore) {
          bestScore = s;
          best = nominal + d;
        }
      }
    }
    const b = inRange(best);
    for (let i = 0; i < win; i++) {
      y[out + i] += xp[b + i] * w[i];
      norm[out + i] += w[i];
    }
    prevEnd = best + hop;
  }
  const result = new Float32Array(outLength);
  for (let i = 0; i < outLength; i++) result[i] = norm[i] > 1e-3 ? y[i] / norm[i] : y[i];
  return result;
}

/** The range of voice shifts a recognizer takes (RecognizerOptions.voiceShift): plenty for a voice. */
export const MIN_VOICE_SHIFT = 0.7;
export const MAX_VOICE_SHIFT = 1.5;

/** `factor` if it is a voice shift a recognizer takes, else a ModelError. */
export function checkVoiceShift(factor: number): number {
  if (!(factor >= MIN_VOICE_SHIFT && factor <= MAX_VOICE_SHIFT)) throw new ModelError(`voice shift ${factor} must be between ${MIN_VOICE_SHIFT} and ${MAX_VOICE_SHIFT}`);
  return factor;
}
