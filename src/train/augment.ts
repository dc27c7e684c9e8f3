import { checkOptions, OptionsError } from '../errors.js';
import type { FeatureBackend } from '../features/backend.js';
import { speedChange, tempoChange, voiceShift } from '../audio/voice-shift.js';
import type { Rng } from './random.js';

/**
 * On-the-fly augmentation, on audio before the DSP core (so the features see exactly what a
 * microphone would give them) plus SpecAugment on the features. FSDD is six adult men in one quiet
 * room; these widen it toward other voices, rooms, microphones and noise.
 */
export interface AugmentOptions {
  sampleRate: number;
  /** Probability of each step; 0 turns it off. */
  pShift: number;
  maxShiftSec: number;
  /** Speed perturbation: tempo and pitch together (tape speed), factor range. Changes the length. */
  pSpeed: number;
  speed: [number, number];
  /**
   * Voice shift: pitch and formants scaled together by the factor (resample, then WSOLA back to the
   * original duration) — a shorter vocal tract and higher voice, toward female (~1.15-1.25) and
   * child (~1.3-1.5) ranges; factors below 1 deepen.
   */
  pVoice: number;
  voice: [number, number];
  /**
   * Tempo: duration × 1/factor at the same pitch and formants (WSOLA). FSDD's speakers say the same
   * digit in 0.27-0.71 s; a stranger's pace is no closer to theirs.
   */
  pTempo: number;
  tempo: [number, number];
  pGain: number;
  gainDb: [number, number];
  pNoise: number;
  snrDb: [number, number];
  /** Relative weights of the noise kinds. */
  noiseKinds: Partial<Record<NoiseKind, number>>;
  /** Microphone/room colouring: random peaking EQ and band limits. */
  pColour: number;
  pReverb: number;
  /** RT60 range in seconds ("light" reverb). */
  rt60: [number, number];
}

export type NoiseKind = 'white' | 'pink' | 'brown' | 'babble';

const DEFAULT_AUGMENT: Readonly<Omit<AugmentOptions, 'sampleRate'>> = Object.freeze({
  pShift: 0.8,
  maxShiftSec: 0.15,
  pSpeed: 0.5,
  speed: [0.85, 1.15] as [number, number],
  pVoice: 0.5,
  voice: [0.9, 1.5] as [number, number],
  pTempo: 0,
  tempo: [0.7, 1.4] as [number, number],
  pGain: 0.8,
  gainDb: [-20, 6] as [number, number],
  pNoise: 0.6,
  snrDb: [0, 30] as [number, number],
  noiseKinds: { white: 1, pink: 1, brown: 1, babble: 3 },
  pColour: 0.5,
  pReverb: 0.25,
  rt60: [0.08, 0.35] as [number, number],
});

const PROBABILITIES = ['pShift', 'pSpeed', 'pVoice', 'pTempo', 'pGain', 'pNoise', 'pColour', 'pReverb'] as const;
const RANGES = { speed: 'positive', voice: 'positive', tempo: 'positive', rt60: 'positive', gainDb: 'any', snrDb: 'any' } as const;
const NOISE_KINDS: readonly NoiseKind[] = ['white', 'pink', 'brown', 'babble'];

/**
 * Augmentation overrides as `digits train --augment-options` or RunOptions.augment give them: known
 * keys only, probabilities in 0..1, ranges `[low, high]` with low <= high (factors > 0), noise-kind
 * weights >= 0 with at least one above 0. An OptionsError names the first that is not, before any
 * audio loads: a misspelt key used to be dropped in silence, and a run trained hours without it.
 * `given`: the options a user gave (--augment-options, RunOptions.augment), which may not set the rate.
 */
export function checkAugmentOptions(options: unknown, given = false): void {
  // The augmenter works at the features' rate; a rate of its own would shift, stretch and filter for the wrong one.
  if (given && options !== null && typeof options === 'object' && 'sampleRate' in options) {
    throw new OptionsError("augment options: sampleRate is the features' rate, not an augmentation setting (--features '{\"sampleRate\":16000}' sets it)");
  }
  const known = [...PROBABILITIES, ...Object.keys(RANGES), 'maxShiftSec', 'noiseKinds', 'sampleRate'];
  checkOptions(options, known, 'augment options');
  const o = (options ?? {}) as Record<string, unknown>;
  const fail = (key: string, wanted: string): never => {
    throw new OptionsError(`augment options: ${key} must be ${wanted}, got ${JSON.stringify(o[key]) ?? String(o[key])}`);
  };
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  for (const key of PROBABILITIES) if (o[key] !== undefined && !(isNumber(o[key]) && o[key] >= 0 && o[key] <= 1)) fail(key, 'a probability in 0..1');
  for (const [key, kind] of Object.entries(RANGES)) {
    const v = o[key];
    if (v === undefined) continue;
    const ok = Array.isArray(v) && v.length === 2 && v.every(isNumber) && v[0] <= v[1] && (kind === 'any' || v[0] > 0);
    if (!ok) fail(key, `[low, high] with low <= high${kind === 'positive' ? ', both > 0' : ''}`);
  }
  if (o.maxShiftSec !== undefined && !(isNumber(o.maxShiftSec) && o.maxShiftSec >= 0)) fail('maxShiftSec', 'seconds >= 0');
  if (o.sampleRate !== undefined && !(isNumber(o.sampleRate) && o.sampleRate > 0)) fail('sampleRate', 'a rate in Hz > 0');
  if (o.noiseKinds !== undefined) {
    checkOptions(o.noiseKinds, NOISE_KINDS, 'augment options: noiseKinds');
    const weights = Object.values(o.noiseKinds as Record<string, unknown>);
    if (!weights.every((w) => isNumber(w) && w >= 0) || !weights.some((w) => (w as number) > 0)) fail('noiseKinds', 'weights >= 0, at least one above 0');
  }
}

/** Audio that babble is mixed from (other training clips, never test clips). */
export interface BabblePool {
  clips: readonly Float32Array[];
}

export class Augmenter {
  readonly options: AugmentOptions;
  constructor(
    options: Partial<AugmentOptions> & { sampleRate: number },
    private readonly backend: Pick<FeatureBackend, 'resample' | 'wsolaStretch'>,
    private readonly babble: BabblePool | null,
  ) {
    checkAugmentOptions(options);
    this.options = { ...DEFAULT_AUGMENT, ...options };
  }

  /** One random augmentation of `clip` (never modified). Deterministic given the rng state. */
  apply(clip: Float32Array, rng: Rng): Float32Array {
    const o = this.options;
    let x: Float32Array = Float32Array.from(clip);
    if (rng.chance(o.pVoice)) x = voiceShift(x, o.sampleRate, rng.uniform(o.voice[0], o.voice[1]), this.backend);
    if (rng.chance(o.pSpeed)) x = speedChange(x, o.sampleRate, rng.uniform(o.speed[0], o.speed[1]), this.backend);
    if (rng.chance(o.pTempo)) x = tempoChange(x, o.sampleRate, Math.exp(rng.uniform(Math.log(o.tempo[0]), Math.log(o.tempo[1]))), this.backend);
    if (rng.chance(o.pShift)) x = timeShift(x, Math.round(rng.uniform(-o.maxShiftSec, o.maxShiftSec) * o.sampleRate));
    if (rng.chance(o.pColour)) x = colour(x, o.sampleRate, rng);
    if (rng.chance(o.pReverb)) x = reverb(x, o.sampleRate, rng.uniform(o.rt60[0], o.rt60[1]), rng);
    if (rng.chance(o.pNoise)) {
      const kind = pickWeighted(o.noiseKinds, rng, this.babble ? undefined : 'babble');
      const noise = makeNoise(kind, x.length, rng, this.babble);
      x = mixAtSnr(x, noise, rng.uniform(o.snrDb[0], o.snrDb[1]));
    }
    if (rng.chance(o.pGain)) x = gain(x, rng.uniform(o.gainDb[0], o.gainDb[1]));
    return limit(x);
  }
}

function pickWeighted(weights: Partial<Record<NoiseKind, number>>, rng: Rng, exclude?: NoiseKind): NoiseKind {
  const entries = (Object.entries(weights) as [NoiseKind, number][]).filter(([k, w]) => w > 0 && k !== exclude);
  if (entries.length === 0) return 'white';
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let r = rng.next() * total;
  for (const [k, w] of entries) {
    r -= w;
    if (r <= 0) return k;
  }
  return entries[entries.length - 1][0];
}

/**
 * Delays (positive) or advances (negative) the speech by adding that much silence before or after
 * it. Nothing is cut: FSDD clips are trimmed tight, so a length-preserving shift would chop words.
 */
export function timeShift(x: Float32Array, shift: number): Float32Array {
  const y = new Float32Array(x.length + Math.abs(shift));
  y.set(x, shift > 0 ? shift : 0);
  return y;
}

export function gain(x: Float32Array, db: number): Float32Array {
  const g = 10 ** (db / 20);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] * g;
  return y;
}

/** Scales down (never up) so the peak stays inside [-1, 1], as a real ADC would require. */
function limit(x: Float32Array): Float32Array {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  if (peak <= 1) return x;
  const g = 0.99 / peak;
  for (let i = 0; i < x.length; i++) x[i] *= g;
  return x;
}

export function power(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s / Math.max(1, x.length);
}

/**
 * signal + noise scaled so that 10·log10(P_signal / P_noise) = snrDb, powers over the whole clip
 * (the definition the babble evaluation uses). The noise is looped or cut to the signal's length.
 */
export function mixAtSnr(signal: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  const n = new Float32Array(signal.length);
  for (let i = 0; i < n.length; i++) n[i] = noise.length ? noise[i % noise.length] : 0;
  const ps = power(signal);
  const pn = power(n);
  const y = Float32Array.from(signal);
  if (pn === 0) return y;
  // A silent signal gets the noise at a modest absolute level instead of infinitely loud.
  const target = ps > 0 ? ps / 10 ** (snrDb / 10) : 1e-4;
  const g = Math.sqrt(target / pn);
  for (let i = 0; i < y.length; i++) y[i] += g * n[i];
  return y;
}

export function makeNoise(kind: NoiseKind, length: number, rng: Rng, babble: BabblePool | null): Float32Array {
  const y = new Float32Array(length);
  switch (kind) {
    case 'white':
      for (let i = 0; i < length; i++) y[i] = rng.normal();
      return y;
    case 'pink': {
      // Paul Kellet's economy filter: -3 dB/octave within ~0.5 dB over the audio band.
      let b0 = 0, b1 = 0, b2 = 0;
      for (let i = 0; i < length; i++) {
        const w = rng.normal();
        b0 = 0.99765 * b0 + w * 0.099046;
        b1 = 0.963 * b1 + w * 0.2965164;
        b2 = 0.57 * b2 + w * 1.0526913;
        y[i] = b0 + b1 + b2 + w * 0.1848;
      }
      return y;
    }
    case 'brown': {
      // Leaky integration of white noise: -6 dB/octave, with the leak keeping it from drifting off.
      let v = 0;
      for (let i = 0; i < length; i++) {
        v = 0.995 * v + rng.normal() * 0.1;
        y[i] = v;
      }
      return y;
    }
    case 'babble': {
      if (!babble || babble.clips.length === 0) return makeNoise('pink', length, rng, null);
      const talkers = rng.int(3, 7);
      for (let t = 0; t < talkers; t++) {
        const c = rng.pick(babble.clips);
        const p = Math.sqrt(power(c)) || 1;
        // Random start anywhere, looping, so talkers overlap like a crowd rather than line up.
        const offset = rng.int(0, Math.max(0, c.length - 1));
        for (let i = 0; i < length; i++) y[i] += c[(offset + i) % c.length] / p;
      }
      return y;
    }
  }
}

/** RBJ audio-EQ-cookbook biquad, direct form I. */
interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

function biquad(kind: 'peak' | 'highpass' | 'lowpass', f0: number, rate: number, q: number, gainDb = 0): Biquad {
  const w0 = (2 * Math.PI * Math.min(f0, rate * 0.49)) / rate;
  const cos = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * q);
  let b0: number, b1: number, b2: number, a0: number, a1: number, a2: number;
  if (kind === 'peak') {
    const A = 10 ** (gainDb / 40);
    [b0, b1, b2] = [1 + alpha * A, -2 * cos, 1 - alpha * A];
    [a0, a1, a2] = [1 + alpha / A, -2 * cos, 1 - alpha / A];
  } else if (kind === 'highpass') {
    [b0, b1, b2] = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2];
    [a0, a1, a2] = [1 + alpha, -2 * cos, 1 - alpha];
  } else {
    [b0, b1, b2] = [(1 - cos) / 2, 1 - cos, (1 - cos) / 2];
    [a0, a1, a2] = [1 + alpha, -2 * cos, 1 - alpha];
  }
  return { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: a1 / a0, a2: a2 / a0 };
}

export function filter(x: Float32Array, f: Biquad): Float32Array {
  const y = new Float32Array(x.length);
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = f.b0 * x[i] + f.b1 * x1 + f.b2 * x2 - f.a1 * y1 - f.a2 * y2;
    x2 = x1;
    x1 = x[i];
    y2 = y1;
    y1 = v;
    y[i] = v;
  }
  return y;
}

/** A different microphone and room: 1-3 random peaking bands (±8 dB), often a band limit. */
export function colour(x: Float32Array, rate: number, rng: Rng): Float32Array {
  let y = x;
  const bands = rng.int(1, 3);
  for (let i = 0; i < bands; i++) {
    const f0 = Math.exp(rng.uniform(Math.log(150), Math.log(rate * 0.45)));
    y = filter(y, biquad('peak', f0, rate, rng.uniform(0.5, 2), rng.uniform(-8, 8)));
  }
  if (rng.chance(0.5)) y = filter(y, biquad('highpass', rng.uniform(80, 400), rate, 0.707));
  if (rng.chance(0.5)) y = filter(y, biquad('lowpass', rng.uniform(rate * 0.3, rate * 0.49), rate, 0.707));
  return y;
}

/**
 * Light room reverb: the dry signal plus a velvet-noise tail (sparse random ±1 impulses, ~2000 per
 * second, under an exponential decay of the given RT60) — perceptually a smooth diffuse tail at
 * a tenth of the cost of a dense convolution. The output keeps the input's length and power.
 */
export function reverb(x: Float32Array, rate: number, rt60: number, rng: Rng): Float32Array {
  const len = Math.max(8, Math.round(rt60 * rate * 0.5)); // past half the RT60 the tail is ~-30 dB
  const decay = Math.log(1000) / (rt60 * rate); // amplitude -60 dB at rt60
  const pre = Math.round(rng.uniform(0.002, 0.01) * rate); // gap before the first reflections
  const spacing = Math.max(1, Math.round(rate / 2000));
  const offsets: number[] = [];
  const gains: number[] = [];
  let energy = 0;
  for (let start = pre; start < len; start += spacing) {
    const k = start + rng.int(0, spacing - 1);
    if (k >= len) break;
    const g = (rng.chance(0.5) ? 1 : -1) * Math.exp(-decay * k);
    offsets.push(k);
    gains.push(g);
    energy += g * g;
  }
  const wet = rng.uniform(0.2, 0.6) / Math.sqrt(energy || 1);
  const y = Float32Array.from(x);
  for (let j = 0; j < offsets.length; j++) {
    const k = offsets[j];
    const g = wet * gains[j];
    for (let i = 0; i + k < x.length; i++) y[i + k] += g * x[i];
  }
  const p = power(y);
  const gn = p > 0 ? Math.sqrt(power(x) / p) : 1;
  for (let i = 0; i < y.length; i++) y[i] *= gn;
  return y;
}

export interface SpecAugmentOptions {
  timeMasks: number;
  maxTimeWidth: number;
  freqMasks: number;
  maxFreqWidth: number;
}

export const DEFAULT_SPEC_AUGMENT: Readonly<SpecAugmentOptions> = Object.freeze({ timeMasks: 2, maxTimeWidth: 6, freqMasks: 2, maxFreqWidth: 3 });

/**
 * SpecAugment masks on a [frames x dims] feature matrix, in place. Masked cells become 0, which
 * after the core's normalization is the training mean: "no information", not "silence".
 */
export function specAugment(data: Float32Array, frames: number, dims: number, rng: Rng, o: SpecAugmentOptions = DEFAULT_SPEC_AUGMENT): void {
  for (let m = 0; m < o.timeMasks; m++) {
    const w = rng.int(0, Math.min(o.maxTimeWidth, frames));
    const t0 = rng.int(0, frames - w);
    data.fill(0, t0 * dims, (t0 + w) * dims);
  }
  for (let m = 0; m < o.freqMasks; m++) {
    const w = rng.int(0, Math.min(o.maxFreqWidth, dims));
    const f0 = rng.int(0, dims - w);
    for (let t = 0; t < frames; t++) data.fill(0, t * dims + f0, t * dims + f0 + w);
  }
}
