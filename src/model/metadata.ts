/**
 * The contract between the exporter (src/train/onnx) and inference (src/model): every model file
 * carries these ONNX metadata_props. Input "features" is float32 [batch, numFrames, dims] exactly
 * as FeatureExtractor.compute returns it (normalization included); output "probabilities" is
 * float32 [batch, labels.length] after softmax.
 */
import { ModelError } from '../errors.js';

export const MODEL_INPUT_NAME = 'features';
export const MODEL_OUTPUT_NAME = 'probabilities';
export const METADATA_FORMAT_VERSION = 1;

export const METADATA_KEYS = {
  /** "1" */
  formatVersion: 'spoken_digits.format_version',
  /** JSON FeatureConfig (src/features/config.ts), normalization statistics included. */
  featureConfig: 'spoken_digits.feature_config',
  /** JSON array of class labels in output order, e.g. ["0",...,"9"] or with a trailing "none" (not a digit). */
  labels: 'spoken_digits.labels',
  /** Architecture name from the zoo: mlp | cnn | dscnn | resnet-se | transformer | ... */
  modelType: 'spoken_digits.model_type',
  /** "fp32" | "int8" */
  precision: 'spoken_digits.precision',
  /** JSON: { threshold: number } — confidence below it means "not a digit" (calibrated on held-out data). */
  rejection: 'spoken_digits.rejection',
  /** JSON: training provenance (data, split, epochs, seed, backend, date, augmentation). */
  training: 'spoken_digits.training',
  /** JSON: measured metrics (test accuracy, leave-one-speaker-out, noise). */
  metrics: 'spoken_digits.metrics',
} as const;

/**
 * Optional keys: a model without them is read as before.
 * speechTrim — JSON {dropDb, marginMs, keepWithinDb}: the model was trained on clips cut to their
 * speech by the DSP core's speechExtent with these settings (WHOLE_CLIP_SPEECH_TRIM), so a whole clip
 * is cut the same way before its features; absent: the whole clip goes in.
 * enrollment — JSON EnrollmentRecord (src/model/enroll.ts): the model is a base model personalized
 * to one speaker by `digits enroll`; absent: it is not.
 */
export const OPTIONAL_METADATA_KEYS = {
  speechTrim: 'spoken_digits.speech_trim',
  enrollment: 'spoken_digits.enrollment',
  /** Per conv output channel: mean and variance over the training clips (src/model/norm-adapt.ts). */
  normTargets: 'spoken_digits.norm_targets',
} as const;

/** How clips are cut to their speech before features (see OPTIONAL_METADATA_KEYS.speechTrim). */
export interface SpeechTrim {
  /** Hops this far below the loudest one (dB) count as silence. */
  dropDb: number;
  /** Silence kept on each side of the speech, ms. */
  marginMs: number;
  /** > 0: hops this close to the loudest one always count as speech, however loud the background (see vad.h). */
  keepWithinDb?: number;
}

/** How the stream segmenter cuts its pieces (what it was tuned with). */
export const DEFAULT_SPEECH_TRIM: Readonly<SpeechTrim> = Object.freeze({ dropDb: 40, marginMs: 50 });

/**
 * How whole clips are cut (training, the recognizer, the kiosk's recordings and files): as the
 * segmenter cuts, except that a loud background never gets cut into the words. FSDD test clips in
 * 5 dB babble: 86.3% right whole, 73.0% cut like a stream piece, 86.3% cut like this.
 */
export const WHOLE_CLIP_SPEECH_TRIM: Readonly<SpeechTrim> = Object.freeze({ dropDb: 40, marginMs: 50, keepWithinDb: 20 });

/** Label used for the "not a digit" class when a model has one. */
export const NOT_A_DIGIT_LABEL = 'none';

/** Labels a spoken-digits model may have: digits 0-9, each once (at least two), and optionally NOT_A_DIGIT_LABEL; a ModelError naming `source` otherwise. */
export function checkLabels(labels: readonly string[], source: string): void {
  const digits = labels.filter((l) => l !== NOT_A_DIGIT_LABEL);
  const ok = digits.every((l) => /^[0-9]$/.test(l)) && new Set(digits).size === digits.length && digits.length >= 2 && labels.length - digits.length <= 1;
  if (!ok) throw new ModelError(`${source}: labels ${JSON.stringify(labels)} are not digits 0-9 (each once) and optionally "${NOT_A_DIGIT_LABEL}": not a spoken-digits model`);
}

/** Model files larger than this are refused before reading (the shipped ones are 0.1-0.6 MB). */
export const MAX_MODEL_BYTES = 256 * 1024 * 1024;
