import { FeatureConfigError } from '../errors.js';

/**
 * Everything that determines the features a model sees. It is stored verbatim (as JSON) in every
 * model file's metadata, so inference never configures features a second time.
 * Definitions follow librosa: power spectrum of n_fft/2+1 bins, Slaney mel with area norm,
 * power_to_db, DCT-II ortho.
 */
export interface FeatureConfig {
  /** Rate the features are computed at; input at other rates is resampled by the core. */
  sampleRate: number;
  /**
   * What comes out per frame: the log-compressed (see `log`) spectrum (nFft/2+1 bins), mel bands, or
   * their DCT-II ortho (MFCC).
   */
  kind: 'spectrogram' | 'logmel' | 'mfcc';
  /** FFT size; a power of two. */
  nFft: number;
  /** Analysis window length in samples (<= nFft; zero-padded to nFft, centred like librosa). */
  winLength: number;
  /** Hop between frames in samples. */
  hopLength: number;
  window: 'hann' | 'hamming';
  /** librosa-style centre padding of nFft/2 on both sides. */
  center: boolean;
  padMode: 'constant' | 'reflect';
  /** Pre-emphasis coefficient; 0 turns it off. */
  preEmphasis: number;
  /** 1 = magnitude spectrum, 2 = power spectrum. `log.type` 'db' is 10*log10 of either. */
  power: 1 | 2;
  nMels: number;
  fMin: number;
  fMax: number;
  melScale: 'slaney' | 'htk';
  melNorm: 'slaney' | 'none';
  /**
   * Log compression. `db`: 10*log10(max(x, amin)) - 10*log10(max(ref, amin)), then clipped to
   * (max - topDb) when topDb is set. ref 'max' is relative to the clip's own peak (librosa's
   * default; not streaming-friendly), a number is a fixed reference. `ln`: ln(x + floor).
   * `pcen`: per-channel energy normalization (librosa.pcen's formula): each band's energy E is
   * divided by its own smoothed history M (time constant `timeConstant` seconds) to the power `gain`,
   * then root-compressed: (E / (eps + M)^gain + bias)^power - bias^power. A gain control per band,
   * so a steady background (hum, a room's noise) is pushed down and onsets stand out. M starts at the
   * first frame's energy (librosa starts it at 1, meant for int32-scaled input); frames of digital
   * silence give 0 and leave M alone; it runs over the frames `numFrames` keeps.
   */
  log:
    | { type: 'db'; amin: number; topDb: number | null; ref: 'max' | number }
    | { type: 'ln'; floor: number }
    | { type: 'pcen'; timeConstant: number; gain: number; bias: number; power: number; eps: number };
  /** Number of MFCCs kept (kind 'mfcc' only). */
  nMfcc: number;
  /** 0 = none, 1 = append deltas, 2 = append deltas and delta-deltas (librosa width 9 style, `deltaWidth`). */
  deltas: 0 | 1 | 2;
  deltaWidth: number;
  /**
   * Fixed-length shaping: pad or crop to this many frames, placed around the speech (the
   * highest-energy window), not blindly from frame 0. 0 keeps the natural length.
   */
  numFrames: number;
  /** Per-feature zero-mean / unit-variance statistics, length = feature dimension. */
  normalization: { mean: number[]; std: number[] } | null;
}

export const DEFAULT_FEATURE_CONFIG: Readonly<FeatureConfig> = Object.freeze({
  sampleRate: 8000,
  kind: 'mfcc',
  nFft: 256,
  winLength: 200,
  hopLength: 80,
  window: 'hann',
  center: true,
  padMode: 'constant',
  preEmphasis: 0,
  power: 2,
  nMels: 40,
  fMin: 20,
  fMax: 4000,
  melScale: 'slaney',
  melNorm: 'slaney',
  log: { type: 'db', amin: 1e-10, topDb: 80, ref: 1 },
  nMfcc: 20,
  deltas: 0,
  deltaWidth: 9,
  numFrames: 100,
  normalization: null,
} as FeatureConfig);

/**
 * librosa.pcen's default parameters (chosen there for int32-scaled magnitudes; here they meet mel
 * energies of audio in [-1, 1], so `eps` is the knob that matters); a `pcen` log config names only
 * what it changes.
 */
export const PCEN_DEFAULTS = Object.freeze({ timeConstant: 0.4, gain: 0.98, bias: 2, power: 0.5, eps: 1e-6 });

const LOG_KEYS: Record<string, string[]> = {
  db: ['type', 'amin', 'topDb', 'ref'],
  ln: ['type', 'floor'],
  pcen: ['type', ...Object.keys(PCEN_DEFAULTS)],
};

/**
 * How much sound a fixed-length model hears at once, in ms (numFrames hops); Infinity for a
 * natural-length one. More speech than this in one clip is often several words.
 */
export function modelWindowMs(config: Pick<FeatureConfig, 'sampleRate' | 'hopLength' | 'numFrames'>): number {
  return config.numFrames > 0 ? (config.numFrames * config.hopLength * 1000) / config.sampleRate : Infinity;
}

/** Number of values per frame that a config produces (after deltas). */
export function featureDimension(config: FeatureConfig): number {
  const base = config.kind === 'spectrogram' ? config.nFft / 2 + 1 : config.kind === 'logmel' ? config.nMels : config.nMfcc;
  return base * (1 + config.deltas);
}

/** Fills defaults and rejects configs that make no sense, with a message that says what to change. */
export function resolveFeatureConfig(partial: Partial<FeatureConfig> = {}): FeatureConfig {
  const fail = (msg: string): never => {
    throw new FeatureConfigError(`invalid feature config: ${msg}`);
  };
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) fail(`it must be an object, got ${JSON.stringify(partial)}`);
  // A misspelt key ("nmels") would otherwise leave its default in place without a word.
  const unknown = Object.keys(partial).filter((k) => !(k in DEFAULT_FEATURE_CONFIG));
  if (unknown.length) fail(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${Object.keys(DEFAULT_FEATURE_CONFIG).join(', ')})`);
  const c: FeatureConfig = { ...DEFAULT_FEATURE_CONFIG, ...partial } as FeatureConfig;
  const isInt = (v: number) => Number.isInteger(v);
  if (!(c.sampleRate >= 1000 && c.sampleRate <= 192000) || !isInt(c.sampleRate)) fail(`sampleRate ${c.sampleRate} must be an integer in 1000..192000`);
  if (!['spectrogram', 'logmel', 'mfcc'].includes(c.kind)) fail(`kind '${c.kind}' must be spectrogram, logmel or mfcc`);
  if (!isInt(c.nFft) || c.nFft < 16 || c.nFft > 65536 || (c.nFft & (c.nFft - 1)) !== 0) fail(`nFft ${c.nFft} must be a power of two in 16..65536`);
  if (!isInt(c.winLength) || c.winLength < 2 || c.winLength > c.nFft) fail(`winLength ${c.winLength} must be in 2..nFft (${c.nFft})`);
  if (!isInt(c.hopLength) || c.hopLength < 1 || c.hopLength > c.nFft) fail(`hopLength ${c.hopLength} must be in 1..nFft (${c.nFft})`);
  if (!['hann', 'hamming'].includes(c.window)) fail(`window '${c.window}' must be hann or hamming`);
  if (typeof c.center !== 'boolean') fail(`center ${JSON.stringify(c.center)} must be true or false`);
  if (!['constant', 'reflect'].includes(c.padMode)) fail(`padMode '${c.padMode}' must be constant or reflect`);
  if (!(c.preEmphasis >= 0 && c.preEmphasis < 1)) fail(`preEmphasis ${c.preEmphasis} must be in [0, 1)`);
  if (c.power !== 1 && c.power !== 2) fail(`power ${c.power} must be 1 or 2`);
  const nyquist = c.sampleRate / 2;
  if (c.kind !== 'spectrogram') {
    if (!isInt(c.nMels) || c.nMels < 1 || c.nMels > c.nFft / 2 + 1) fail(`nMels ${c.nMels} must be in 1..nFft/2+1 (${c.nFft / 2 + 1})`);
    if (!(c.fMin >= 0 && c.fMin < c.fMax)) fail(`fMin ${c.fMin} must be >= 0 and below fMax ${c.fMax}`);
    if (c.fMax > nyquist) fail(`fMax ${c.fMax} is above the Nyquist frequency ${nyquist} of sampleRate ${c.sampleRate}`);
    if (!['slaney', 'htk'].includes(c.melScale)) fail(`melScale '${c.melScale}' must be slaney or htk`);
    if (!['slaney', 'none'].includes(c.melNorm)) fail(`melNorm '${c.melNorm}' must be slaney or none`);
  }
  if (c.kind === 'mfcc' && (!isInt(c.nMfcc) || c.nMfcc < 1 || c.nMfcc > c.nMels)) fail(`nMfcc ${c.nMfcc} must be in 1..nMels (${c.nMels})`);
  if (c.log === null || typeof c.log !== 'object') fail(`log must be an object such as {"type":"db","amin":1e-10,"topDb":80,"ref":1}`);
  if (!Object.hasOwn(LOG_KEYS, c.log.type)) fail(`log.type ${JSON.stringify(c.log.type)} must be db, ln or pcen`);
  if (c.log.type === 'pcen') c.log = { ...PCEN_DEFAULTS, ...c.log };
  const logKeys = LOG_KEYS[c.log.type];
  const unknownLog = Object.keys(c.log).filter((k) => !logKeys.includes(k));
  if (unknownLog.length) fail(`log: unknown key${unknownLog.length > 1 ? 's' : ''} ${unknownLog.map((k) => `'${k}'`).join(', ')} for type '${c.log.type}' (known: ${logKeys.join(', ')})`);
  if (c.log.type === 'db') {
    if (!(c.log.amin > 0)) fail(`log.amin ${c.log.amin} must be > 0`);
    if (c.log.topDb !== null && !(c.log.topDb > 0)) fail(`log.topDb ${c.log.topDb} must be > 0 or null`);
    if (c.log.ref !== 'max' && !(typeof c.log.ref === 'number' && c.log.ref > 0)) fail(`log.ref must be 'max' or a positive number`);
  } else if (c.log.type === 'ln') {
    if (!(c.log.floor > 0)) fail(`log.floor ${c.log.floor} must be > 0`);
  } else if (c.log.type === 'pcen') {
    const l = c.log;
    // The ranges as the core states them (native/dsp/features.cpp), so both say the same.
    const within = (key: keyof typeof PCEN_DEFAULTS, lo: number, hi: number, range: string) => {
      if (!(typeof l[key] === 'number' && l[key] >= lo && l[key] <= hi)) fail(`log.${key} ${l[key]} must be in ${range}`);
    };
    within('timeConstant', 0.001, 100, '0.001..100 seconds');
    within('gain', 0, 1, '0..1');
    within('bias', 1e-6, 1e6, '1e-6..1e6');
    within('power', 0.001, 1, '0.001..1');
    within('eps', 1e-12, 1000, '1e-12..1000');
  }
  if (![0, 1, 2].includes(c.deltas)) fail(`deltas ${c.deltas} must be 0, 1 or 2`);
  if (!isInt(c.deltaWidth) || c.deltaWidth < 3 || c.deltaWidth % 2 === 0) fail(`deltaWidth ${c.deltaWidth} must be an odd integer >= 3`);
  if (!isInt(c.numFrames) || c.numFrames < 0 || c.numFrames > 100000) fail(`numFrames ${c.numFrames} must be an integer in 0..100000`);
  if (c.normalization) {
    const d = featureDimension(c);
    const { mean, std } = c.normalization;
    if (!Array.isArray(mean) || !Array.isArray(std)) fail('normalization must be null or { mean: number[], std: number[] }');
    else if (mean.length !== d || std.length !== d) fail(`normalization statistics have ${mean.length}/${std.length} values; the features have ${d}`);
    else if (![...mean, ...std].every(Number.isFinite) || std.some((s) => s <= 0)) fail('normalization statistics must be finite with std > 0');
  }
  return c;
}

export function featureConfigToJSON(config: FeatureConfig): string {
  return JSON.stringify(config);
}

export function featureConfigFromJSON(json: string): FeatureConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new FeatureConfigError('feature config is not valid JSON', { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null) throw new FeatureConfigError('feature config JSON must be an object');
  return resolveFeatureConfig(parsed as Partial<FeatureConfig>);
}
