import { AudioInputError } from '../errors.js';

/**
 * Sample rates we accept anywhere audio enters the library. Telephone speech starts at 8 kHz and
 * studio audio tops out at 384 kHz; 4 kHz leaves room for odd low-rate recorders. Anything outside
 * is far more likely a corrupt header than real audio.
 */
export const MIN_SAMPLE_RATE = 4000;
export const MAX_SAMPLE_RATE = 384000;

/** Upper bound on channel count: WAVE_FORMAT_EXTENSIBLE names 18 speaker positions; 32 is generous. */
export const MAX_CHANNELS = 32;

export function validateSampleRate(sampleRate: number, what = 'sample rate'): void {
  if (!Number.isFinite(sampleRate) || !Number.isInteger(sampleRate)) {
    throw new AudioInputError(`${what} must be a whole number of Hz, got ${typeof sampleRate === 'number' ? String(sampleRate) : `${JSON.stringify(sampleRate) ?? String(sampleRate)} (a ${typeof sampleRate})`}`);
  }
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw new AudioInputError(
      `${what} ${sampleRate} Hz is outside the supported range ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE} Hz; ` +
        'resample the audio (e.g. `sox in.wav -r 16000 out.wav`) or check that the header is not corrupt',
    );
  }
}

function validateChannels(channels: number): void {
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    throw new AudioInputError(`channel count must be 1..${MAX_CHANNELS}, got ${String(channels)}`);
  }
}

/** The blocks one after another, in one array. */
export function concatSamples(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** int16 -> [-1, 1): the usual 1/32768 scale, so -32768 maps exactly to -1. */
export function int16ToFloat32(input: Int16Array): Float32Array {
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = input[i] / 32768;
  return out;
}

/**
 * [-1, 1] -> int16 with rounding and clamping (out-of-range and NaN become the nearest legal
 * value, NaN becomes 0), the inverse of int16ToFloat32 for every int16 value.
 */
export function float32ToInt16(input: Float32Array): Int16Array {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const v = Math.round(input[i] * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : Number.isNaN(v) ? 0 : v;
  }
  return out;
}

/** Clamps to [-1, 1] in place; hot float files (peaks above full scale) stay usable. */
export function clampUnit(samples: Float32Array): Float32Array {
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (v > 1) samples[i] = 1;
    else if (v < -1) samples[i] = -1;
  }
  return samples;
}

/** Averages interleaved channels into one; channels = 1 returns a copy. */
export function downmixInterleaved(interleaved: Float32Array, channels: number): Float32Array {
  validateChannels(channels);
  const frames = Math.floor(interleaved.length / channels);
  const out = new Float32Array(frames);
  if (channels === 1) {
    out.set(interleaved.subarray(0, frames));
    return out;
  }
  const inv = 1 / channels;
  for (let f = 0, p = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[p++];
    out[f] = sum * inv;
  }
  return out;
}

/**
 * A chunk of a live stream (push()): Int16 scaled to [-1, 1), Float32 copied and clamped to [-1, 1]
 * as pcmToFloat32 does (a value over full scale would otherwise lift the endpointer's noise floor
 * out of reach of any speech after it). A chunk holding NaN, ±Infinity or a value beyond
 * ±MAX_FLOAT_SAMPLE is refused whole, with an AudioInputError naming the index in it: the caller
 * learns of it at once, not when a segment holding it is recognized.
 */
export function streamChunk(samples: Float32Array | Int16Array): Float32Array {
  if (samples instanceof Int16Array) return int16ToFloat32(samples);
  if (!(samples instanceof Float32Array)) throw new AudioInputError('push() takes a Float32Array or an Int16Array of mono samples');
  refuseUnusableSamples(samples, (problem, i) => `pushed audio has ${problem} at index ${i} of the chunk; the chunk was not taken`);
  return clampUnit(samples.slice());
}

/** A sample at or over this magnitude is at full scale (a 16-bit peak of 32,441 or more). */
const FULL_SCALE = 0.99;

/**
 * The share of `samples` (0-1) that sit flat at full scale: at least FULL_SCALE in magnitude, as the
 * one before them is, so that a waveform's peak passing through full scale does not count, and a
 * recording clipped by a microphone or a converter set too loud does. Every FSDD clip measures under
 * 0.02%; FSDD digits turned up 10x with sox (`vol 10`) 0-11%, 40x 0.4-43% (the default model still
 * heard most of them, but read nicolas' "five" at 26% as "nine").
 */
export function clippedShare(samples: Float32Array): number {
  return samples.length ? countFlatAtFullScale(samples, false).flat / samples.length : 0;
}

/**
 * clippedShare's count, for audio that comes in blocks: how many of `samples` sit flat at full scale,
 * given whether the sample before the block was at full scale (`fullBefore`), and whether its last is.
 */
export function countFlatAtFullScale(samples: Float32Array, fullBefore: boolean): { flat: number; fullAtEnd: boolean } {
  let flat = 0;
  let previous = fullBefore;
  for (let i = 0; i < samples.length; i++) {
    const full = Math.abs(samples[i]) >= FULL_SCALE;
    if (full && previous) flat++;
    previous = full;
  }
  return { flat, fullAtEnd: previous };
}

/** A clip with this share of its samples clipped (clippedShare) or more is said to be clipped: 1%. */
export const CLIPPED_NOTE_SHARE = 0.01;

/** What a clipped clip's note says, e.g. "clipped: 26% of its samples at full scale (recorded too loud: lower the input gain)". */
export function clippedNote(share: number): string {
  return `clipped: ${share >= 0.1 ? (share * 100).toFixed(0) : (share * 100).toFixed(1)}% of its samples at full scale (recorded too loud: lower the input gain)`;
}

/**
 * The largest float sample magnitude taken (+24 dBFS), clamped to [-1, 1]: a hot float file's peaks
 * a little over full scale are audio; beyond this the floats are not audio scaled to ±1 (corrupt,
 * misread bytes, or integer-scaled values such as ±32768), and clamping them would turn any
 * waveform into a square wave the model reads as a confident wrong digit.
 */
export const MAX_FLOAT_SAMPLE = 16;

/** Whether a float sample is taken: finite and within ±MAX_FLOAT_SAMPLE (NaN fails both comparisons). */
export function isUsableFloat(v: number): boolean {
  return v >= -MAX_FLOAT_SAMPLE && v <= MAX_FLOAT_SAMPLE;
}

/** What messages about a float beyond ±MAX_FLOAT_SAMPLE say of the limit. */
export const FLOAT_LIMIT_NOTE = `floats are taken up to ±${MAX_FLOAT_SAMPLE}, full scale being ±1`;

/**
 * Refuses float samples holding one that is NaN, ±Infinity or beyond ±MAX_FLOAT_SAMPLE: an
 * AudioInputError whose message `say` words from what is wrong with the first (e.g. "a non-finite
 * sample (NaN)") and its index; by default as for samples given as they are (predictSamples, the page's recognize).
 */
export function refuseUnusableSamples(
  samples: ArrayLike<number>,
  say: (problem: string, index: number) => string = (problem, i) => `samples have ${problem} at index ${i}; the audio is corrupt`,
): void {
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (isUsableFloat(v)) continue;
    throw new AudioInputError(say(Number.isFinite(v) ? `a sample far beyond full scale (${v}; ${FLOAT_LIMIT_NOTE})` : `a non-finite sample (${v})`, i));
  }
}

export interface PcmOptions {
  /** Interleaved channel count of `samples`; they are averaged into mono. Default 1. */
  channels?: number;
}

/**
 * Raw PCM from a caller (Int16Array, or Float32Array in [-1, 1]) -> a validated mono Float32Array
 * in [-1, 1]. Refuses empty input, NaN/Inf, floats beyond ±MAX_FLOAT_SAMPLE and impossible sample
 * rates; float input a little outside [-1, 1] is clamped. Always returns a new array (the caller's buffer is never modified).
 */
export function pcmToFloat32(samples: Int16Array | Float32Array, sampleRate: number, options: PcmOptions = {}): Float32Array {
  validateSampleRate(sampleRate);
  const channels = options.channels ?? 1;
  validateChannels(channels);
  if (!(samples instanceof Int16Array) && !(samples instanceof Float32Array)) {
    throw new AudioInputError('PCM samples must be an Int16Array or a Float32Array');
  }
  if (samples.length < channels) throw new AudioInputError('PCM input is empty: no samples to process');
  if (samples instanceof Float32Array) {
    refuseUnusableSamples(samples, (problem, i) => `PCM input has ${problem} at index ${i}; the audio is corrupt`);
    return clampUnit(downmixInterleaved(samples, channels));
  }
  const asFloat = int16ToFloat32(samples);
  return channels === 1 ? asFloat : downmixInterleaved(asFloat, channels);
}
