import { AudioInputError, FeatureConfigError, SpokenDigitsError } from '../errors.js';
import type { FeatureConfig } from './config.js';

/*
 * The binary contract with the C core (native/dsp/sd_dsp.h), shared by the native and wasm
 * backends so both hand the core the same bytes and report its errors the same way.
 * Browser-safe: no Node imports.
 */

/** Index of each value in the flat parameter array (mirror of the SD_P_* enum). */
const SD_P = {
  sampleRate: 0,
  kind: 1,
  nFft: 2,
  winLength: 3,
  hopLength: 4,
  window: 5,
  center: 6,
  padMode: 7,
  preEmphasis: 8,
  power: 9,
  nMels: 10,
  fMin: 11,
  fMax: 12,
  melScale: 13,
  melNorm: 14,
  logType: 15,
  logAmin: 16,
  logHasTopDb: 17,
  logTopDb: 18,
  logRefIsMax: 19,
  logRef: 20,
  logFloor: 21,
  nMfcc: 22,
  deltas: 23,
  deltaWidth: 24,
  numFrames: 25,
  hasNormalization: 26,
  pcenTimeConstant: 27,
  pcenGain: 28,
  pcenBias: 29,
  pcenPower: 30,
  pcenEps: 31,
  count: 32,
} as const;

/** How many fixed values this version passes the core (SD_P_COUNT in native/dsp/sd_dsp.h). */
export const FEATURE_PARAM_COUNT = SD_P.count;

const SD_STATUS = { ok: 0, config: 1, input: 2, noMemory: 3, internal: 4 } as const;

/** -1 for an unknown name, so the core reports it like any other invalid value. */
function code(value: unknown, names: readonly string[]): number {
  return names.indexOf(value as string);
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : Number.NaN;
}

/**
 * Encodes a FeatureConfig for the core. No validation here: the core checks every value so that
 * both backends reject a bad config with the same message.
 */
export function encodeFeatureConfig(config: FeatureConfig): Float64Array {
  const norm = config.normalization;
  // Both statistics blocks get mean.length slots; a std of another length leaves NaN (or is cut),
  // and the core rejects either case with its own message.
  const d = norm ? (Array.isArray(norm.mean) ? norm.mean.length : 0) : 0;
  const p = new Float64Array(SD_P.count + 2 * d);
  p[SD_P.sampleRate] = num(config.sampleRate);
  p[SD_P.kind] = code(config.kind, ['spectrogram', 'logmel', 'mfcc']);
  p[SD_P.nFft] = num(config.nFft);
  p[SD_P.winLength] = num(config.winLength);
  p[SD_P.hopLength] = num(config.hopLength);
  p[SD_P.window] = code(config.window, ['hann', 'hamming']);
  p[SD_P.center] = config.center ? 1 : 0;
  p[SD_P.padMode] = code(config.padMode, ['constant', 'reflect']);
  p[SD_P.preEmphasis] = num(config.preEmphasis);
  p[SD_P.power] = num(config.power);
  p[SD_P.nMels] = num(config.nMels);
  p[SD_P.fMin] = num(config.fMin);
  p[SD_P.fMax] = num(config.fMax);
  p[SD_P.melScale] = code(config.melScale, ['slaney', 'htk']);
  p[SD_P.melNorm] = code(config.melNorm, ['none', 'slaney']);
  const log = (config.log ?? {}) as Partial<{ type: string; amin: number; topDb: number | null; ref: 'max' | number; floor: number; timeConstant: number; gain: number; bias: number; power: number; eps: number }>;
  p[SD_P.logType] = code(log.type, ['db', 'ln', 'pcen']);
  p[SD_P.logAmin] = num(log.amin);
  p[SD_P.logHasTopDb] = log.topDb === null ? 0 : 1;
  p[SD_P.logTopDb] = log.topDb === null ? 0 : num(log.topDb);
  p[SD_P.logRefIsMax] = log.ref === 'max' ? 1 : 0;
  p[SD_P.logRef] = log.ref === 'max' ? 0 : num(log.ref);
  p[SD_P.logFloor] = num(log.floor);
  p[SD_P.nMfcc] = num(config.nMfcc);
  p[SD_P.deltas] = num(config.deltas);
  p[SD_P.deltaWidth] = num(config.deltaWidth);
  p[SD_P.numFrames] = num(config.numFrames);
  p[SD_P.hasNormalization] = norm ? 1 : 0;
  if (log.type === 'pcen') {
    p[SD_P.pcenTimeConstant] = num(log.timeConstant);
    p[SD_P.pcenGain] = num(log.gain);
    p[SD_P.pcenBias] = num(log.bias);
    p[SD_P.pcenPower] = num(log.power);
    p[SD_P.pcenEps] = num(log.eps);
  }
  if (norm) {
    const std = Array.isArray(norm.std) ? norm.std : [];
    for (let i = 0; i < d; i++) {
      p[SD_P.count + i] = num(norm.mean[i]);
      p[SD_P.count + d + i] = i < std.length ? num(std[i]) : Number.NaN;
    }
  }
  return p;
}

/** Turns a core status + message into the library's typed error. */
export function coreError(status: number, message: string): SpokenDigitsError {
  switch (status) {
    case SD_STATUS.config:
      return new FeatureConfigError(message);
    case SD_STATUS.input:
      return new AudioInputError(message);
    default:
      return new SpokenDigitsError('ERR_DSP_CORE', `DSP core failure (status ${status}): ${message}`);
  }
}

/** Rates for resample(): integers the core can take; anything else is the caller's mistake. */
export function checkRates(fromRate: number, toRate: number): void {
  for (const [name, rate] of [['fromRate', fromRate], ['toRate', toRate]] as const) {
    if (!Number.isInteger(rate) || rate < 1000 || rate > 384000) {
      throw new AudioInputError(`cannot resample: ${name} ${rate} must be an integer in 1000..384000 Hz`);
    }
  }
}

export function asSamples(samples: Float32Array): Float32Array {
  if (!(samples instanceof Float32Array)) throw new AudioInputError('samples must be a Float32Array');
  return samples;
}

/**
 * Arguments for wsolaStretch(), checked before anything is allocated for the output. `maxSamples`
 * is the core's own limit on input and output length (sd_wsola_max_samples()).
 */
export function checkStretch(samples: Float32Array, outLength: number, sampleRate: number, maxSamples: number): void {
  asSamples(samples);
  if (samples.length === 0) throw new AudioInputError('cannot stretch empty audio');
  if (samples.length > maxSamples) throw new AudioInputError(`cannot stretch ${samples.length} samples: at most ${maxSamples}`);
  if (!Number.isInteger(outLength) || outLength < 1 || outLength > maxSamples) {
    throw new AudioInputError(`cannot stretch to ${outLength} samples: the length must be a whole number in 1..${maxSamples}`);
  }
  checkRates(sampleRate, sampleRate);
}
