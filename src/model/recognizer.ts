import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ort } from './ort.js';
import { readRegularFile } from '../files.js';
import { AudioInputError, checkOptions, checkOptionTypes, ModelError, OptionsError, SpokenDigitsError, type EveryKey } from '../errors.js';
import type { FeatureBackend, FeatureExtractor, FeatureMatrix } from '../features/backend.js';
import { loadFeatureBackend, type BackendChoice } from '../features/index.js';
import { releaseFreeMemory } from '../features/native.js';
import { decodeWav, readWavFile, pcmToFloat32, validateSampleRate } from '../audio/index.js';
import { CLIPPED_NOTE_SHARE, clippedShare, refuseUnusableSamples } from '../audio/pcm.js';
import { checkLabels, MAX_MODEL_BYTES, MODEL_INPUT_NAME, MODEL_OUTPUT_NAME, type SpeechTrim } from './metadata.js';
import { featureDimension } from '../features/config.js';
import { parseModelMetadata, type ModelMetadata } from './read-metadata.js';
import { decide, DEFAULT_SILENCE_DB, rejectUnheard, topLabels, type Decision } from './decision.js';
import { modelsDir, resolveModelPath, shippedModelsHint } from './package-root.js';
import { loadStreamCore } from '../stream/core.js';
import { cutClipToSpeech, type SpeechExtentFinder } from '../stream/speech-cut.js';
import { checkVoiceShift, voiceShift } from '../audio/voice-shift.js';
import { adaptNormalization } from './norm-adapt.js';
import { checkNormAdaptOptions, type NormAdaptOptions, type NormAdaptResult } from './norm-adapter.js';
import type { EnrollmentRuntime, PcmClip } from './personalize.js';
import { selfEnroll } from './self-enroll.js';
import { SessionSwap } from './session-swap.js';
import { AdaptProcess } from './adapt-process.js';
import { AdaptCancelledError, type AdaptedBytes } from './adapt-client.js';
import { int8RangeWarning } from './int8-cpu.js';
import { warnOnceOfLowRate } from './rate-warning.js';

/** Audio in any of the forms the recognizer accepts. */
export type AudioInput =
  | {
      samples: Float32Array | Int16Array;
      sampleRate: number;
      /**
       * false: the samples are already cut to their speech as the model's `speechTrim` says (the
       * stream segmenter cuts its pieces so), and are not cut again. Default true.
       */
      cutToSpeech?: boolean;
    }
  | Uint8Array
  | string;

export interface Timings {
  /** Reading and decoding the file or WAV bytes (0 for raw PCM). */
  decodeMs: number;
  /** Resampling + feature extraction in the DSP core. */
  featuresMs: number;
  /** ONNX Runtime (for a batch: the whole run, shared by its clips). */
  modelMs: number;
  totalMs: number;
}

export interface Prediction extends Decision {
  /** Class probabilities in the model's label order (see `labels`). */
  probabilities: Float32Array;
  labels: readonly string[];
  timings: Timings;
  /** The WAV file was shorter than its header claimed (a cut-off recording): what it holds was recognized. */
  truncated?: boolean;
  /**
   * The share of the clip's samples (0-1, the whole clip before any cut) flat at full scale, when it is
   * at least CLIPPED_NOTE_SHARE (1%): a recording made too loud, whose answer may be wrong (clippedNote says so).
   */
  clipped?: number;
  /**
   * How long the clip's speech lasts, first sound to last (ms; the core's speechExtent, no margin),
   * when the recognizer cut the clip to it (a model trained on clips so cut); null when nothing stood out.
   */
  speechMs?: number | null;
}

/** The longest clip a DigitRecognizer takes unless told otherwise (RecognizerOptions.maxDurationSec), seconds. */
export const DEFAULT_MAX_CLIP_SEC = 60;

export interface SessionOptions {
  /** Threads inside one operator; 1 is the lowest latency for our small models. */
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
}

export interface RecognizerOptions {
  /** Path or bytes of an ONNX model; the shipped default model when omitted. */
  model?: string | Uint8Array;
  /** Feature backend: 'auto' (native addon if it loads, else WebAssembly), 'native' or 'wasm'. */
  backend?: BackendChoice;
  session?: SessionOptions;
  /** Override the model's calibrated rejection threshold (0..1). */
  threshold?: number;
  /** Inputs whose peak is below this level (dBFS; default -60) are rejected as silence (`rejectedBy: 'silence'`), whatever the model says. */
  silenceDb?: number;
  /** Longest input accepted, in seconds (default DEFAULT_MAX_CLIP_SEC; longer audio belongs to the streaming Listener). */
  maxDurationSec?: number;
  /**
   * Shift every input's pitch and formants by this factor before the features (default 1: off), to
   * bring a speaker's voice toward the voices the model knows; `VoiceAdapter` finds it for a
   * speaker. Between MIN_VOICE_SHIFT and MAX_VOICE_SHIFT. A model personalized by `digits enroll`
   * brings the shift its speaker was enrolled at, used when this is not given.
   */
  voiceShift?: number;
}

const RECOGNIZER_KEYS = ['model', 'backend', 'session', 'threshold', 'silenceDb', 'maxDurationSec', 'voiceShift'] as const;
/** Every RecognizerOptions key (checked at compile time), for checkOptions. */
export const RECOGNIZER_OPTIONS: EveryKey<RecognizerOptions, typeof RECOGNIZER_KEYS> = RECOGNIZER_KEYS;

const SESSION_KEYS = ['intraOpNumThreads', 'interOpNumThreads', 'executionMode'] as const;
const SESSION_OPTIONS: EveryKey<SessionOptions, typeof SESSION_KEYS> = SESSION_KEYS;

/** RecognizerOptions' keys (`known`: those `what` takes), value types and session keys, for DigitRecognizer.load and Ensemble.load. */
export function checkRecognizerOptions(options: unknown, known: readonly string[], what: string): void {
  checkOptions(options, known, what, `${what}({ model: 'file.onnx' }) takes a model file as its model option`);
  checkOptionTypes(options, { backend: 'string', threshold: 'number', silenceDb: 'number', maxDurationSec: 'number', voiceShift: 'number' }, what);
  const session = (options as RecognizerOptions | undefined)?.session;
  checkOptions(session, SESSION_OPTIONS, `${what}: session`);
  checkOptionTypes(session, { intraOpNumThreads: 'number', interOpNumThreads: 'number', executionMode: 'string' }, `${what}: session`);
}

/** The shipped default model: int8 when present (it is kept only where it wins or ties), else fp32. */
export function defaultModelPath(): string {
  const dir = modelsDir();
  for (const name of ['default.int8.onnx', 'default.onnx']) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new ModelError(`no default model found in ${dir}; pass a model path (--model FILE)`);
}

/** The bytes of a model given as a path, a shipped model's name (resolveModelPath) or bytes (the shipped default when omitted), and what to call it in messages. */
export async function readModelBytes(model: string | Uint8Array | undefined): Promise<{ bytes: Uint8Array; source: string }> {
  if (model instanceof Uint8Array) return { bytes: model, source: 'model bytes' };
  const path = model === undefined ? defaultModelPath() : resolveModelPath(model);
  const hint = model === undefined ? '' : shippedModelsHint(model);
  const bytes = await readRegularFile(path, MAX_MODEL_BYTES, (why, cause) => new ModelError(`cannot read model ${path}: ${why}${hint}`, { cause }));
  return { bytes, source: path };
}

/** Recognizes one spoken digit per input clip. */
export class DigitRecognizer {
  readonly info: ModelMetadata;
  readonly source: string;
  readonly backend: FeatureBackend;
  private minConfidence = 0;
  private isDisposed = false;
  /** The session in use: the model's own, or one adapted to a speaker (adaptNormalization). */
  private readonly sessions: SessionSwap<ort.InferenceSession>;
  /** The model file as loaded (what adaptNormalization starts from). */
  private readonly modelBytes: Uint8Array;
  private readonly sessionOptions: SessionOptions;
  private adaptedOn = 0;
  private readonly extractor: FeatureExtractor;
  /** Cuts clips to their speech for models trained on clips cut so (null: whole clips). */
  private readonly speechCore: SpeechExtentFinder | null;
  private readonly silenceDb: number;
  private readonly maxDurationSec: number;
  private shift = 1;
  private worker: AdaptProcess | null | undefined;

  private constructor(args: {
    info: ModelMetadata;
    source: string;
    backend: FeatureBackend;
    session: ort.InferenceSession;
    bytes: Uint8Array;
    speechCore: SpeechExtentFinder | null;
    options: RecognizerOptions;
  }) {
    this.info = args.info;
    this.source = args.source;
    this.backend = args.backend;
    this.sessions = new SessionSwap(args.session, () => new SpokenDigitsError('ERR_DISPOSED', `this DigitRecognizer (${this.source}) was disposed; load a new one`));
    this.modelBytes = args.bytes;
    this.sessionOptions = args.options.session ?? {};
    this.extractor = args.backend.createExtractor(args.info.featureConfig);
    this.speechCore = args.speechCore;
    this.threshold = args.options.threshold ?? args.info.rejection.threshold;
    this.silenceDb = args.options.silenceDb ?? DEFAULT_SILENCE_DB;
    this.maxDurationSec = args.options.maxDurationSec ?? DEFAULT_MAX_CLIP_SEC;
    this.voiceShift = args.options.voiceShift ?? args.info.enrollment?.voiceShift ?? 1;
  }

  /** Top probability below which a clip is "no digit" (0..1; the model's calibrated one unless set). */
  get threshold(): number {
    return this.minConfidence;
  }

  set threshold(value: number) {
    if (!(value >= 0 && value <= 1)) throw new OptionsError(`threshold ${value} must be between 0 and 1`);
    this.minConfidence = value;
  }

  /** How every input is cut to its speech before its features, as the model's training clips were; null: not cut. */
  get speechTrim(): SpeechTrim | null {
    return this.speechCore ? (this.info.speechTrim ?? null) : null;
  }

  /** The pitch and formant factor applied to every input (RecognizerOptions.voiceShift); 1 is off. */
  get voiceShift(): number {
    return this.shift;
  }

  set voiceShift(factor: number) {
    this.shift = checkVoiceShift(factor);
  }

  static async load(options: RecognizerOptions = {}): Promise<DigitRecognizer> {
    checkRecognizerOptions(options, RECOGNIZER_OPTIONS, 'DigitRecognizer.load');
    if (options.threshold !== undefined && !(options.threshold >= 0 && options.threshold <= 1)) {
      throw new OptionsError(`threshold ${options.threshold} must be between 0 and 1`);
    }
    if (options.voiceShift !== undefined) checkVoiceShift(options.voiceShift);
    if (options.maxDurationSec !== undefined && !(options.maxDurationSec > 0 && options.maxDurationSec <= 3600)) throw new OptionsError(`maxDurationSec ${options.maxDurationSec} must be in (0, 3600]`);
    if (options.silenceDb !== undefined && !(options.silenceDb >= -200 && options.silenceDb <= 0)) throw new OptionsError(`silenceDb ${options.silenceDb} must be in -200..0 dBFS`);
    for (const key of ['intraOpNumThreads', 'interOpNumThreads'] as const) {
      const n = options.session?.[key];
      if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n <= 64)) throw new OptionsError(`session.${key} ${n} must be a whole number from 0 (ONNX Runtime's choice) to 64`);
    }
    const { bytes, source } = await readModelBytes(options.model);
    const info = parseModelMetadata(bytes, source);
    const choice = options.backend ?? 'auto';
    const [backend, session, speechCore] = await Promise.all([
      loadFeatureBackend({ backend: choice }),
      createSession(bytes, source, options.session),
      info.speechTrim ? loadStreamCore(choice === 'auto' ? undefined : choice) : null,
    ]);
    try {
      await checkSession(session, info, source, options.threshold !== undefined);
    } catch (err) {
      await session.release();
      throw err;
    }
    warnOnceOfInt8Range(source, info.int8WeightPeak);
    return new DigitRecognizer({ info, source, backend, session, bytes, speechCore, options });
  }

  get labels(): readonly string[] {
    return this.info.labels;
  }

  /** Recognizes one clip. */
  async predict(input: AudioInput): Promise<Prediction> {
    const [prediction] = await this.predictBatch([input]);
    return prediction;
  }

  /** The k most probable labels for one clip, most probable first. */
  async topK(input: AudioInput, k: number): Promise<{ label: string; probability: number }[]> {
    if (!(Number.isInteger(k) && k >= 1)) throw new AudioInputError(`topK: k ${k} must be a positive integer`);
    const { probabilities } = await this.predict(input);
    return topLabels(probabilities, this.labels, k);
  }

  /** Recognizes several clips with one ONNX Runtime run (much higher throughput than one by one). */
  async predictBatch(inputs: readonly AudioInput[]): Promise<Prediction[]> {
    if (!Array.isArray(inputs)) throw new AudioInputError('predictBatch takes an array of clips');
    if (inputs.length === 0) return [];
    this.refuseWhenDisposed();
    const started = performance.now();
    return this.predictDecoded(await this.decodeForModel(inputs), started);
  }

  /** Inputs decoded and cut to speech, as the model was trained on them. */
  private async decodeForModel(inputs: readonly AudioInput[]): Promise<DecodedClip[]> {
    const decoded = await Promise.all(
      inputs.map((input, i) =>
        decodeAudioInput(input, this.maxDurationSec).catch((err: unknown) => {
          // A file names itself; samples or bytes in a batch are named by their place in it.
          if (inputs.length > 1 && typeof input !== 'string' && err instanceof Error) err.message = `clip ${i} of the batch: ${err.message}`;
          throw err;
        }),
      ),
    );
    for (const clip of decoded) warnOnceOfLowRate(clip.sampleRate, this.info.featureConfig.sampleRate);
    // A clip as recorded is measured for clipping; a stream's piece, cut already, is not (no one reads it there).
    return decoded.map((clip, i) => (isCutAlready(inputs[i]) ? clip : this.cutToSpeech({ ...clip, clipped: clippedShare(clip.samples) })));
  }

  /**
   * A clip at the model's rate. Resampled before it is cut, as training does: cut first, the
   * resampler's edges fall on the speech, and the model reads it otherwise (one 48 kHz clip of a
   * custom test set changed its answer, so `digits eval` and the training run disagreed).
   */
  private atModelRate(clip: DecodedClip): DecodedClip {
    const rate = this.info.featureConfig.sampleRate;
    return clip.sampleRate === rate ? clip : { ...clip, samples: this.backend.resample(clip.samples, clip.sampleRate, rate), sampleRate: rate };
  }

  /**
   * One clip heard at several voice shifts (instead of the recognizer's own), in one model run: what
   * `VoiceAdapter` compares. Predictions in `factors` order.
   */
  async predictShifted(input: AudioInput, factors: readonly number[]): Promise<Prediction[]> {
    if (factors.length === 0) return [];
    factors.forEach(checkVoiceShift);
    const started = performance.now();
    const decoded = await decodeAudioInput(input, this.maxDurationSec);
    warnOnceOfLowRate(decoded.sampleRate, this.info.featureConfig.sampleRate);
    const clip = this.cutToSpeech(decoded);
    return this.predictDecoded(
      factors.map((shift) => ({ ...clip, shift })),
      started,
    );
  }

  /**
   * A clip cut to its speech the way the model's training clips were (and the stream segmenter
   * cuts its pieces), so silence before or after a word does not move it in the model's window.
   */
  private cutToSpeech(clip: DecodedClip): DecodedClip {
    const trim = this.info.speechTrim;
    if (!trim || !this.speechCore) return clip;
    const atRate = this.atModelRate(clip);
    return { ...atRate, ...cutClipToSpeech(this.speechCore, atRate.samples, atRate.sampleRate, trim) };
  }

  /**
   * Recognizes a clip already decoded to mono float PCM as it is: no file or WAV handling and no
   * cut to speech, just features (at the recognizer's voiceShift) and the model (benchmarks of the model itself use it). `predict`
   * takes decoded PCM too and cuts it as the model was trained.
   */
  async predictSamples(samples: Float32Array, sampleRate: number): Promise<Prediction> {
    checkSamples(samples, sampleRate, this.maxDurationSec);
    // Not clamped (as it is), but never garbage: NaN, Inf and floats beyond ±16 are refused as everywhere else.
    refuseUnusableSamples(samples);
    const [prediction] = await this.predictDecoded([{ samples, sampleRate, decodeMs: 0 }], performance.now());
    return prediction;
  }

  /**
   * Named outputs of the model's graph for each input, fed exactly as predictBatch feeds it (decoded,
   * cut to speech, features): e.g. a layer's activations, for analysis. Each name must be one of the
   * graph's outputs. One row per input, one array per name, in the given orders.
   */
  async graphOutputs(inputs: readonly AudioInput[], names: readonly string[]): Promise<Float32Array[][]> {
    if (!Array.isArray(inputs) || !Array.isArray(names) || names.length === 0) throw new AudioInputError('graphOutputs takes an array of clips and at least one output name');
    const { outputNames } = this.sessions.current;
    const missing = names.filter((n) => !outputNames.includes(n));
    if (missing.length) throw new ModelError(`${this.source} has no output ${missing.join(', ')} (has ${outputNames.join(', ')})`);
    if (inputs.length === 0) return [];
    const { output } = await this.runModel(await this.decodeForModel(inputs), names);
    return rowsOf(output, names, inputs.length);
  }

  /**
   * Adapts the model's internal normalization to one speaker's voice from unlabeled clips of it (see
   * `norm-adapt.ts`): every conv output channel is re-standardized to its training-clip statistics
   * over these clips, and the recognizer uses the adapted model from then on. Each call starts again
   * from the model as loaded; of calls that overlap (and resetNormalization), the last one made wins.
   * The clips are taken as predict takes them (decoded, cut to speech, at the recognizer's voice
   * shift); at least 2. Needs a model with normalization targets.
   */
  async adaptNormalization(inputs: readonly AudioInput[], options: NormAdaptOptions = {}): Promise<NormAdaptResult> {
    checkNormAdaptOptions(options, 'adaptNormalization');
    if (inputs.length < 2) throw new AudioInputError(`adapting to a voice needs at least 2 clips, got ${inputs.length}`);
    const call = this.sessions.beginCancellable();
    const worker = options.offThread ? this.adaptWorker() : null;
    let adapted: AdaptedBytes;
    try {
      adapted = worker ? await worker.adapt(inputs, this.shift, options.selfEnroll ?? false) : await this.adaptedModel(inputs, options);
    } catch (err) {
      if (err instanceof AdaptCancelledError) return { superseded: true, selfEnrolled: false, offThread: true };
      throw err;
    }
    const installed = await this.useModel(adapted.model, call, inputs.length);
    return { ...(installed ? {} : { superseded: true }), selfEnrolled: adapted.selfEnrolled, offThread: worker !== null };
  }

  /**
   * Abandons the normalization adaptations under way (resets are left alone): each adaptNormalization
   * call resolves `superseded` without installing its model (the model in use stays), and a worker
   * process computing one is ended in its run (the next adaptation starts another), so a listener that
   * stops need not wait the 0.2-3 s it takes. One computing in line runs to its end first. Every
   * adaptation of this recognizer, whoever asked for it (listeners sharing it included). Resolves once
   * the worker has gone.
   */
  async cancelAdaptation(): Promise<void> {
    this.sessions.cancel();
    await this.worker?.cancel();
  }

  /**
   * Clips as an adaptation takes them: decoded, cut to speech and at the model's rate (PCM marked
   * `cutToSpeech: false`, which later calls take as they are). What a listener keeps of a voice for
   * adapting on: a sixth of the memory of 48 kHz pieces, and no decoding or cutting at each adaptation.
   */
  async prepareClips(inputs: readonly AudioInput[]): Promise<PcmClip[]> {
    return (await this.decodeForModel(inputs)).map((c) => {
      const { samples, sampleRate } = this.atModelRate(c);
      return { samples, sampleRate, cutToSpeech: false };
    });
  }

  /**
   * The model (bytes) adapted to the clips as adaptNormalization adapts it, without using it: e.g. to
   * save a speaker's adapted model. `selfEnrolled`: the last layers were refitted too.
   */
  async adaptedModel(inputs: readonly AudioInput[], options: Pick<NormAdaptOptions, 'selfEnroll'> = {}): Promise<{ model: Uint8Array; selfEnrolled: boolean }> {
    if (inputs.length < 2) throw new AudioInputError(`adapting to a voice needs at least 2 clips, got ${inputs.length}`);
    // Heard at the voice shift of now throughout, should a VoiceAdapter move it while this runs.
    const shift = this.shift;
    const clips = (await this.decodeForModel(inputs)).map((c) => ({ ...c, shift: c.shift ?? shift }));
    const { model } = await adaptNormalization(this.modelBytes, async (probe, names) => {
      const session = await createSession(probe, this.source, this.sessionOptions);
      try {
        const { output } = await this.runModel(clips, names, session);
        return Object.fromEntries(names.map((n) => [n, output[n].data as Float32Array]));
      } finally {
        await session.release();
      }
    });
    const enrolled = options.selfEnroll ? await selfEnroll(model, this.source, clips, this.decodedRuntime(), shift) : null;
    // Its passes over the clips freed tens of MB the C heap would otherwise keep.
    releaseFreeMemory();
    return { model: enrolled ?? model, selfEnrolled: enrolled !== null };
  }

  /** The worker process that adapts off the event loop (made at the first offThread adaptation), or null where there can be none. */
  private adaptWorker(): AdaptProcess | null {
    if (this.worker === undefined) this.worker = AdaptProcess.start({ model: this.modelBytes, source: this.source, backend: this.backend.name, session: this.sessionOptions, maxDurationSec: this.maxDurationSec });
    return this.worker;
  }

  /** Back to the model as loaded. */
  async resetNormalization(): Promise<void> {
    const call = this.sessions.begin();
    if (this.adaptedOn === 0) return this.sessions.keep(call);
    await this.useModel(this.modelBytes, call, 0);
  }

  /**
   * A session of `model`, run once on silence, becomes the one in use (true; `adaptedOn` clips its
   * normalization was adapted on, 0 for the model as loaded), unless a later adaptation or reset
   * (`call`: SessionSwap.begin) is in use already (false); the old one is released when its runs end.
   * Disposed meanwhile (an adaptation that ended after dispose()): released, never installed, and a
   * ModelError.
   */
  private async useModel(model: Uint8Array, call: number, adaptedOn: number): Promise<boolean> {
    if (this.isDisposed) throw new ModelError('the recognizer was disposed during a normalization adaptation');
    // A later adaptation or reset is in use already: a session of this one would only be made and released.
    if (this.sessions.superseded(call)) return false;
    const session = await createSession(model, this.source, this.sessionOptions);
    const outcome = await this.sessions.install(session, (s) => runOnSilence(s, this.info), call, () => (this.adaptedOn = adaptedOn));
    if (outcome === 'closed') throw new ModelError('the recognizer was disposed during a normalization adaptation');
    return outcome === 'installed';
  }

  /** Whether the model carries normalization targets (metadata), which adaptNormalization needs. */
  get canAdaptNormalization(): boolean {
    return this.info.normTargets;
  }

  /** How many clips the normalization in use was adapted on (0: the model as loaded). */
  get normalizationClips(): number {
    return this.adaptedOn;
  }

  /** dispose() was called: the recognizer recognizes nothing more. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  private refuseWhenDisposed(): void {
    if (this.isDisposed) throw new SpokenDigitsError('ERR_DISPOSED', `this DigitRecognizer (${this.source}) was disposed; load a new one`);
  }

  /** Releases the ONNX Runtime session and the feature extractor (once; a second call does nothing). */
  async dispose(): Promise<void> {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.extractor.dispose();
    await this.worker?.close();
    await this.sessions.close();
  }

  private async predictDecoded(clips: DecodedClip[], started: number): Promise<Prediction[]> {
    const { output, featuresMs, modelMs } = await this.runModel(clips, [MODEL_OUTPUT_NAME]);
    const probs = output[MODEL_OUTPUT_NAME].data as Float32Array;
    const nLabels = this.labels.length;
    if (probs.length !== clips.length * nLabels) {
      throw new ModelError(`${this.source} returned ${probs.length} values for ${clips.length} clips and ${nLabels} labels`);
    }
    if (!probs.every(isProbability)) throw new ModelError(`${this.source} returned values that are not probabilities (${probs.find((p) => !isProbability(p))}) for this input`);
    const totalMs = (performance.now() - started) / clips.length;
    return clips.map((clip, i) => {
      const probabilities = probs.slice(i * nLabels, (i + 1) * nLabels);
      // No word heard, whatever the model says: silence, then too little sound.
      const decision: Decision = rejectUnheard(decide(probabilities, this.labels, this.threshold), clip.samples, clip.speechMs, this.silenceDb);
      return {
        ...decision,
        probabilities,
        labels: this.labels,
        timings: { decodeMs: clip.decodeMs, featuresMs, modelMs: modelMs / clips.length, totalMs },
        ...(clip.truncated ? { truncated: true } : {}),
        ...(clip.clipped !== undefined && clip.clipped >= CLIPPED_NOTE_SHARE ? { clipped: clip.clipped } : {}),
        ...(clip.speechMs !== undefined ? { speechMs: clip.speechMs } : {}),
      };
    });
  }

  /** Features of the clips (at their voice shift) in one batch, and the model's named outputs for it. */
  /**
   * Models (bytes) run over clips as this recognizer holds them once decoded and cut (features at the
   * given voice shift): what enrollment needs of a runtime, without a recognizer loaded per run.
   */
  private decodedRuntime(): EnrollmentRuntime {
    const run = async (model: Uint8Array, names: readonly string[], clips: readonly PcmClip[], shift: number) => {
      const session = await createSession(model, this.source, this.sessionOptions);
      const rows: Float32Array[][] = [];
      try {
        for (let i = 0; i < clips.length; i += 64) {
          const batch = clips.slice(i, i + 64).map((c) => ({ samples: c.samples, sampleRate: c.sampleRate, decodeMs: 0, shift }));
          const { output } = await this.runModel(batch, names, session);
          rows.push(...rowsOf(output, names, batch.length));
        }
      } finally {
        await session.release();
      }
      return rows;
    };
    return {
      probe: async (model, names, clips, shift) => {
        const { withGraphOutputs } = await import('../train/onnx/graph.js');
        return run(withGraphOutputs(model, names), [MODEL_OUTPUT_NAME, ...names], clips, shift);
      },
      probabilities: async (model, clips, shift) => (await run(model, [MODEL_OUTPUT_NAME], clips, shift)).map((r) => r[0]),
    };
  }

  private async runModel(clips: DecodedClip[], names: readonly string[], session = this.sessions.current): Promise<{ output: ort.InferenceSession.OnnxValueMapType; featuresMs: number; modelMs: number }> {
    this.refuseWhenDisposed();
    const { numFrames } = this.info.featureConfig;
    const featuresStart = performance.now();
    const matrices = clips.map((clip) => {
      const rate = this.info.featureConfig.sampleRate;
      const samples = clip.sampleRate === rate ? clip.samples : this.backend.resample(clip.samples, clip.sampleRate, rate);
      const shift = clip.shift ?? this.shift;
      return this.extractor.compute(shift === 1 ? samples : voiceShift(samples, rate, shift, this.backend));
    });
    const featuresMs = (performance.now() - featuresStart) / clips.length;
    const { frames, dims } = matrices[0];
    if (numFrames > 0 && frames !== numFrames) throw new ModelError(`feature extractor returned ${frames} frames, model expects ${numFrames}`);
    const run = (group: FeatureMatrix[]) => {
      const n = group[0].frames;
      const batch = new Float32Array(group.length * n * dims);
      group.forEach((m, i) => batch.set(m.data, i * n * dims));
      // ONNX Runtime's own failure (a graph whose input shape its metadata misstates) as the library's error kind.
      return this.sessions.run((s) => s.run({ [MODEL_INPUT_NAME]: new ort.Tensor('float32', batch, [group.length, n, dims]) }, [...names]), session).catch((err: unknown) => {
        if (err instanceof SpokenDigitsError) throw err;
        throw new ModelError(`${this.source} does not run on [${group.length}, ${n}, ${dims}] features: ${String((err as Error)?.message ?? err).split('\n')[0]}`, { cause: err });
      });
    };
    const modelStart = performance.now();
    // A natural-length model (numFrames 0) gets clips of different lengths: one run per length, its rows put back in order.
    const lengths = [...new Set(matrices.map((m) => m.frames))];
    const output = lengths.length === 1 ? await run(matrices) : await this.runByLength(matrices, lengths, names, run);
    return { output, featuresMs, modelMs: performance.now() - modelStart };
  }

  private async runByLength(
    matrices: FeatureMatrix[],
    lengths: number[],
    names: readonly string[],
    run: (group: FeatureMatrix[]) => Promise<ort.InferenceSession.OnnxValueMapType>,
  ): Promise<ort.InferenceSession.OnnxValueMapType> {
    const joined: Record<string, Float32Array> = {};
    for (const length of lengths) {
      const at = matrices.flatMap((m, i) => (m.frames === length ? [i] : []));
      const output = await run(at.map((i) => matrices[i]));
      for (const name of names) {
        const data = output[name].data as Float32Array;
        const width = data.length / at.length;
        joined[name] ??= new Float32Array(width * matrices.length);
        if (joined[name].length !== width * matrices.length) throw new ModelError(`${this.source}: output '${name}' has ${width} values per clip for ${length} frames, another number for other lengths; it cannot be batched`);
        at.forEach((i, k) => joined[name].set(data.subarray(k * width, (k + 1) * width), i * width));
      }
    }
    return Object.fromEntries(names.map((n) => [n, { data: joined[n] }])) as unknown as ort.InferenceSession.OnnxValueMapType;
  }
}

/** Per clip of a batch run, its slice of each named output, in `names` order. */
function rowsOf(output: ort.InferenceSession.OnnxValueMapType, names: readonly string[], clips: number): Float32Array[][] {
  return Array.from({ length: clips }, (_, i) =>
    names.map((n) => {
      const data = output[n].data as Float32Array;
      const width = data.length / clips;
      return data.slice(i * width, (i + 1) * width);
    }),
  );
}

/** The code of the process warning for an int8 file that saturates on this CPU (see int8-cpu.ts). */
export const INT8_RANGE_WARNING = 'SPOKEN_DIGITS_INT8_RANGE';
const warnedOfInt8Range = new Set<string>();

/**
 * A process warning when the model's 8-bit weights saturate this CPU's int8 kernels, once per source
 * (a file's path; "model bytes" for every model given as bytes, which includes the ones enrollment and
 * adaptation derive from a file: one warning says it).
 */
function warnOnceOfInt8Range(source: string, peak: number): void {
  if (warnedOfInt8Range.has(source)) return;
  const message = int8RangeWarning(source, peak);
  if (!message) return;
  warnedOfInt8Range.add(source);
  process.emitWarning(message, { code: INT8_RANGE_WARNING });
}

/**
 * Whether the model in `bytes` would load as DigitRecognizer.load checks it (metadata, input and
 * output, labels, threshold, one run), without the rest of a recognizer: a ModelError naming `source`
 * if not; its metadata if so. For tools that write a model from others (ensemble, quantize), so that a
 * member that cannot run is named before a file that cannot load is written.
 */
export async function checkModelLoads(bytes: Uint8Array, source: string): Promise<ModelMetadata> {
  const info = parseModelMetadata(bytes, source);
  const session = await createSession(bytes, source);
  try {
    await checkSession(session, info, source, false);
  } finally {
    await session.release();
  }
  return info;
}

/** DigitRecognizer.load's checks of a session made from a model file (`thresholdGiven`: its own threshold is not used). */
async function checkSession(session: ort.InferenceSession, info: ModelMetadata, source: string, thresholdGiven: boolean): Promise<void> {
  if (!session.inputNames.includes(MODEL_INPUT_NAME) || !session.outputNames.includes(MODEL_OUTPUT_NAME)) {
    throw new ModelError(`${source} must have input '${MODEL_INPUT_NAME}' and output '${MODEL_OUTPUT_NAME}' (has ${session.inputNames.join(', ')} → ${session.outputNames.join(', ')})`);
  }
  checkLabels(info.labels, source);
  if (!thresholdGiven && !(info.rejection.threshold >= 0 && info.rejection.threshold <= 1)) {
    throw new ModelError(`${source}: its calibrated rejection threshold ${info.rejection.threshold} is not between 0 and 1`);
  }
  await checkModelRuns(session, info, source);
}

/** A model output value that is a probability (float32 softmax rounding allowed for). */
const isProbability = (p: number) => p >= -1e-6 && p <= 1 + 1e-6;

/** The labels a recognizer decides over: the digits 0-9, each once, and optionally "none". */
/**
 * One run on silence-level features at load: a model whose graph does not take the feature shape its
 * metadata names, or that does not return one probability per label, is refused now with a
 * ModelError rather than failing (or answering garbage) on every clip.
 */
async function checkModelRuns(session: ort.InferenceSession, info: ModelMetadata, source: string): Promise<void> {
  let out: Float32Array;
  try {
    out = await runOnSilence(session, info);
  } catch (err) {
    const { frames, dims } = silenceShape(info);
    throw new ModelError(`${source} does not run on the [1, ${frames}, ${dims}] features its metadata describes: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (out.length !== info.labels.length) throw new ModelError(`${source} returns ${out.length} values per clip, its metadata names ${info.labels.length} labels`);
  // Each a probability; not necessarily summing to 1 (a novelty gate moves the digits' share to "none" without renormalizing).
  if (!out.every(isProbability)) throw new ModelError(`${source} does not return probabilities (got ${Array.from(out.slice(0, 4), (p) => +p.toPrecision(3)).join(', ')}, ...)`);
}

/** The model input shape of one clip (a natural-length model gets 64 frames). */
function silenceShape(info: ModelMetadata): { frames: number; dims: number } {
  return { frames: info.featureConfig.numFrames > 0 ? info.featureConfig.numFrames : 64, dims: featureDimension(info.featureConfig) };
}

/** The model's probabilities for one clip of all-zero (normalized: average) features. */
async function runOnSilence(session: ort.InferenceSession, info: ModelMetadata): Promise<Float32Array> {
  const { frames, dims } = silenceShape(info);
  const result = await session.run({ [MODEL_INPUT_NAME]: new ort.Tensor('float32', new Float32Array(frames * dims), [1, frames, dims]) }, [MODEL_OUTPUT_NAME]);
  return result[MODEL_OUTPUT_NAME].data as Float32Array;
}

/** Reads/decodes any AudioInput to mono float PCM (validated; too-long input refused). */
export async function decodeAudioInput(input: AudioInput, maxDurationSec = 60): Promise<DecodedClip> {
  const start = performance.now();
  if (typeof input === 'string') {
    const audio = await readWavFile(input, { maxDurationSec });
    return { samples: audio.samples, sampleRate: audio.sampleRate, decodeMs: performance.now() - start, ...(audio.truncated ? { truncated: true } : {}) };
  }
  if (input instanceof Uint8Array) {
    const audio = decodeWav(input, { maxDurationSec });
    return { samples: audio.samples, sampleRate: audio.sampleRate, decodeMs: performance.now() - start, ...(audio.truncated ? { truncated: true } : {}) };
  }
  if (input && typeof input === 'object' && 'samples' in input) {
    const samples = pcmToFloat32(input.samples, input.sampleRate);
    return { samples: checkSamples(samples, input.sampleRate, maxDurationSec), sampleRate: input.sampleRate, decodeMs: performance.now() - start };
  }
  throw new AudioInputError('input must be a file path, WAV bytes, or { samples, sampleRate }');
}

function isCutAlready(input: AudioInput): boolean {
  return typeof input === 'object' && !(input instanceof Uint8Array) && input.cutToSpeech === false;
}

export interface DecodedClip {
  samples: Float32Array;
  sampleRate: number;
  decodeMs: number;
  /** Voice shift for this clip instead of the recognizer's (predictShifted). */
  shift?: number;
  /** A WAV shorter than its header claimed. */
  truncated?: boolean;
  /** clippedShare of the decoded clip (before any cut). */
  clipped?: number;
  /** Its speech without margins when the recognizer cut it (rejectTooShort), null when nothing stood out. */
  speechMs?: number | null;
}

function checkSamples(samples: Float32Array, sampleRate: number, maxDurationSec: number): Float32Array {
  if (!(samples instanceof Float32Array)) throw new AudioInputError('samples must be a Float32Array');
  if (samples.length === 0) throw new AudioInputError('audio is empty (0 samples)');
  // Before the length check, which divides by the rate (0 Hz read as "Infinity s long").
  validateSampleRate(sampleRate);
  if (samples.length > maxDurationSec * sampleRate) {
    throw new AudioInputError(
      `audio is ${(samples.length / sampleRate).toFixed(1)} s long; single-clip recognition takes at most ${maxDurationSec} s — use the streaming Listener (digits listen --input FILE) for long recordings`,
    );
  }
  return samples;
}

async function createSession(bytes: Uint8Array, source: string, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: options.interOpNumThreads ?? 1,
      executionMode: options.executionMode ?? 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new ModelError(`ONNX Runtime cannot load ${source}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}
