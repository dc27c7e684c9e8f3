/**
 * Every error the library throws on purpose is a SpokenDigitsError subclass with a stable `code`,
 * so callers (and the CLI) can tell bad input from bugs without parsing messages.
 */
export class SpokenDigitsError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // A minifier renames classes ("Ft: ONNX Runtime Web did not start"): the subclasses here name
    // themselves with a literal, which bundles keep; others go by their class name.
    this.name = new.target === SpokenDigitsError ? 'SpokenDigitsError' : new.target.name;
    this.code = code;
  }
}

/** The bytes are not a WAV file we can decode (corrupt, truncated, unsupported encoding). */
export class WavFormatError extends SpokenDigitsError {
  override name = 'WavFormatError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_WAV_FORMAT', message, options);
  }
}

/** Audio samples or arguments that cannot be processed (empty, NaN/Inf, impossible sample rate, too long). */
export class AudioInputError extends SpokenDigitsError {
  override name = 'AudioInputError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AUDIO_INPUT', message, options);
  }
}

/** A FeatureConfig that makes no sense (more mel bands than FFT bins, fmax above Nyquist, ...). */
export class FeatureConfigError extends SpokenDigitsError {
  override name = 'FeatureConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FEATURE_CONFIG', message, options);
  }
}

/** No feature backend could be loaded, or the one asked for is unavailable. */
export class BackendUnavailableError extends SpokenDigitsError {
  override name = 'BackendUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND_UNAVAILABLE', message, options);
  }
}

/** A model file that is missing, not ONNX, or lacks the spoken-digits metadata. */
export class ModelError extends SpokenDigitsError {
  override name = 'ModelError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MODEL', message, options);
  }
}

/** The dataset could not be found, downloaded or verified. */
export class DatasetError extends SpokenDigitsError {
  override name = 'DatasetError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DATASET', message, options);
  }
}

/** Live capture is unavailable (no PortAudio, no device) or failed. */
export class CaptureError extends SpokenDigitsError {
  override name = 'CaptureError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CAPTURE', message, options);
  }
}

/** `digits serve` cannot start or serve (no built app, port in use, bad address). */
export class ServeError extends SpokenDigitsError {
  override name = 'ServeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SERVE', message, options);
  }
}

/** Speaker enrollment cannot run: unlabelled or missing digits, a model without a refittable last layer. */
export class EnrollmentError extends SpokenDigitsError {
  override name = 'EnrollmentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ENROLLMENT', message, options);
  }
}

/**
 * An options object that is not one (a string, null, an array) or names an option that does not
 * exist (a typo such as `modle`): said at once, not silently ignored.
 */
export class OptionsError extends SpokenDigitsError {
  override name = 'OptionsError';
  constructor(message: string) {
    super('ERR_OPTIONS', message);
  }
}

/**
 * `options` as an options object of `what` whose keys are all in `known` (undefined: none given).
 * A string where options belong gets a hint: `hint` names what a string likely meant.
 */
export function checkOptions(options: unknown, known: readonly string[], what: string, hint?: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const got = options === null ? 'null' : Array.isArray(options) ? 'an array' : `a ${typeof options}`;
    throw new OptionsError(`${what} takes an options object, got ${got}${typeof options === 'string' && hint ? `: ${hint}` : ''}`);
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) throw new OptionsError(`${what}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${known.join(', ')})`);
}

/**
 * The given values of `options` (undefined: not given) that must be of a JavaScript type: a string
 * where a number belongs passed range checks written as `!(v >= 0 && v <= 1)`, which coerce ('' is 0:
 * `threshold: ''` turned rejection off), and 'false' is a truthy flag. An OptionsError names the first.
 */
export function checkOptionTypes(options: unknown, kinds: Readonly<Record<string, 'number' | 'boolean' | 'string'>>, what: string): void {
  if (options === null || typeof options !== 'object') return;
  for (const [key, kind] of Object.entries(kinds)) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== kind) throw new OptionsError(`${what}: ${key} must be a ${kind}, got ${kindOf(value)}`);
  }
}

/** An option that is true/false or an object of its own (adaptVoice, adaptNorm): 'false' or 1 is neither (a truthy string turned it on). */
export function checkFlagOrObject(value: unknown, name: string, what: string): void {
  if (value === undefined || typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value))) return;
  throw new OptionsError(`${what}: ${name} must be true, false or an options object, got ${kindOf(value)}`);
}

/** What a wrong option value is, for a message: a string quoted as given, else its kind ("null", "an array", "number"). */
function kindOf(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** `K` when it lists every key of `T` (a compile error names the missing ones): the keys checkOptions knows. */
export type EveryKey<T, K extends readonly (keyof T)[]> = Exclude<keyof T, K[number]> extends never ? K : { missing: Exclude<keyof T, K[number]> };

/** A multi-line message on one line, for a report or a log line: its lines joined by "; " (by a space after a colon). */
export function oneLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .reduce((out, line) => (out === '' ? line : `${out}${out.endsWith(':') ? ' ' : '; '}${line}`), '');
}
