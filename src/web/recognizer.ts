import * as ort from 'onnxruntime-web/wasm';
import { createWasmBackend } from '../features/wasm.js';
import type { FeatureBackend, FeatureExtractor, FeatureMatrix } from '../features/backend.js';
import { parseModelMetadata, type ModelMetadata } from '../model/read-metadata.js';
import { decide, rejectUnheard, topLabels, type Decision } from '../model/decision.js';
import { MAX_MODEL_BYTES, MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '../model/metadata.js';
import { AudioInputError, BackendUnavailableError, checkOptions, checkOptionTypes, ModelError, OptionsError, type EveryKey } from '../errors.js';
import { checkVoiceShift, voiceShift } from '../audio/voice-shift.js';
import { refuseUnusableSamples } from '../audio/pcm.js';
import { loadWasmStreamCore } from '../stream/wasm-core.js';
import type { StreamCore } from '../stream/core.js';
import type { SegmentPrediction } from '../stream/segmenter.js';
import type { AudioInput } from '../model/recognizer.js';
import { cutClipToSpeech } from '../stream/speech-cut.js';
import { SessionSwap } from '../model/session-swap.js';
import { checkNormAdaptOptions, type NormAdaptOptions, type NormAdaptResult } from '../model/norm-adapter.js';
import { AdaptWorkerUnavailable, WebAdaptWorker } from './adapt-web-worker.js';
import { AdaptCancelledError } from '../model/adapt-client.js';

// One thread unless the page chose otherwise before loading us: the models are tiny, worker start-up
// would cost more than it saves, and threads need cross-origin isolation. ORT finds its .wasm next to
// its own module (the embedder's bundler copies it); a page that serves it elsewhere sets
// `ort.env.wasm.wasmPaths` (see `ort`, exported below).
ort.env.wasm.numThreads ||= 1;
export { ort };

export interface Recognition extends Decision {
  probabilities: Float32Array;
  top: { label: string; probability: number }[];
  features: FeatureMatrix;
  /** resample + features + ONNX run, ms. */
  computeMs: number;
  featureMs: number;
  inferenceMs: number;
  /** Seconds of audio recognized. */
  durationSec: number;
  /** The audio at the model's rate (for display). */
  audio?: Float32Array;
}

/** `load` run once per page and shared; a failed load is tried again at the next call. */
function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((err) => {
      loading = undefined;
      throw err;
    }));
}

/** The wasm DSP core's feature backend. */
export const featureBackend: () => Promise<FeatureBackend> = loadOnce(() => createWasmBackend());
/** The wasm stream core (endpointer, energy valleys, speech extent). */
export const streamCore: () => Promise<StreamCore> = loadOnce(loadWasmStreamCore);

export interface WebRecognizerOptions {
  /**
   * How adaptNormalization's `offThread` starts its Web Worker: a function that returns a new module
   * worker running the package's `adapt-worker.js` (for a bundler that does not follow the default
   * `new Worker(new URL('./adapt-worker.js', import.meta.url), { type: 'module' })`), or false to
   * adapt in line always.
   */
  adaptWorker?: (() => Worker) | false;
  /** What errors and a personal model's metadata call a model given as bytes (default "(model bytes)"). */
  name?: string;
}

const WEB_RECOGNIZER_KEYS = ['adaptWorker', 'name'] as const;
const WEB_RECOGNIZER_OPTIONS: EveryKey<WebRecognizerOptions, typeof WEB_RECOGNIZER_KEYS> = WEB_RECOGNIZER_KEYS;

/**
 * Whether this is a browser page or worker, which can start the package's Web Worker. Not Node, even
 * where a library (onnxruntime-web, loaded there) has put a `Worker` of its own on the global object.
 */
function webWorkers(): boolean {
  const g = globalThis as { Worker?: unknown; window?: unknown; WorkerGlobalScope?: unknown };
  return typeof g.Worker === 'function' && (g.window !== undefined || g.WorkerGlobalScope !== undefined);
}

/** The package's adaptation worker, beside this module (bundlers that follow `new URL(..., import.meta.url)` copy it). */
const defaultAdaptWorker = () => new Worker(new URL('./adapt-worker.js', import.meta.url), { type: 'module' });

/**
 * Where the page told ORT its .wasm is, for a worker whose own URL is elsewhere: `wasmPaths` made
 * absolute against the page's base URL (strings and URLs alike), and `wasmBinary` as given. Unset:
 * ORT looks beside its own module, in the worker too.
 */
function workerOrtSettings(): { wasmPaths?: string | Record<string, string>; wasmBinary?: ArrayBufferLike | Uint8Array } {
  const { wasmPaths: paths, wasmBinary } = ort.env.wasm;
  const base = typeof document !== 'undefined' ? document.baseURI : typeof location !== 'undefined' ? location.href : undefined;
  const absolute = (p: string | URL) => (base ? new URL(p, base).href : String(p));
  const out: ReturnType<typeof workerOrtSettings> = {};
  if (typeof paths === 'string' || paths instanceof URL) out.wasmPaths = absolute(paths);
  else if (paths && typeof paths === 'object') {
    out.wasmPaths = Object.fromEntries(Object.entries(paths as Record<string, unknown>).filter(([, v]) => typeof v === 'string' || v instanceof URL).map(([k, v]) => [k, absolute(v as string | URL)]));
  }
  if (wasmBinary) out.wasmBinary = wasmBinary as ArrayBufferLike | Uint8Array;
  return out;
}

/** A recognition of a stream piece, with the labels the stream decoder's checks read. */
export type PieceRecognition = Recognition & SegmentPrediction;

/** A clip for `recognizeBatch`, heard at `shift` instead of the recognizer's voice shift if given. */
export interface ClipInput {
  samples: Float32Array;
  sampleRate: number;
  shift?: number;
  /** false: already cut to its speech as the model's speechTrim says (recognizePieces leaves it as it is). */
  cutToSpeech?: boolean;
  /** Its speech without margins, as cutPieces measured it: under MIN_DIGIT_SPEECH_MS it is rejected as 'too-short'. */
  speechMs?: number | null;
}

/**
 * One loaded model in the browser: its metadata (the feature config comes from the file), the wasm
 * DSP core's extractor and an onnxruntime-web session. DigitRecognizer's counterpart: the same
 * features, model and decision rule. Like it, it can hear every input at a voice shift (`voiceShift`,
 * set by a VoiceAdapter; a model personalized by `digits enroll` starts at the shift it was enrolled at).
 */
export class WebRecognizer {
  private shift: number;
  /** The session in use: the model's own, or one adapted to a speaker (adaptNormalization). */
  private readonly sessions: SessionSwap<ort.InferenceSession>;
  private adaptedOn = 0;
  /** The adaptation worker: undefined until the first offThread adaptation asks for it, null where none can run. */
  private worker: WebAdaptWorker | null | undefined;
  /** dispose() under way or done. */
  private disposing: Promise<void> | undefined;

  private constructor(
    readonly url: string,
    readonly info: ModelMetadata,
    readonly bytes: number,
    /** The DSP core (wasm): features, resampling. */
    readonly backend: FeatureBackend,
    private readonly extractor: FeatureExtractor,
    session: ort.InferenceSession,
    private readonly model: Uint8Array,
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
    private readonly adaptOptions: WebRecognizerOptions,
  ) {
    this.shift = info.enrollment?.voiceShift ?? 1;
    this.sessions = new SessionSwap(session, () => new ModelError(`the recognizer of ${this.url} was disposed; load a new one`));
  }

  /**
   * Loads a spoken-digits ONNX model: a URL to fetch (e.g. a copy of the package's
   * `models/default.int8.onnx` served with the page) or the file's bytes. Throws ModelError for a
   * model that cannot be fetched or is not a spoken-digits model.
   */
  static async load(model: string | URL | Uint8Array | ArrayBuffer, loadOptions: WebRecognizerOptions = {}): Promise<WebRecognizer> {
    if (!(typeof model === 'string' || model instanceof URL || model instanceof Uint8Array || model instanceof ArrayBuffer)) {
      throw new ModelError(`WebRecognizer.load takes the model's URL or its bytes (Uint8Array, ArrayBuffer), got ${model === null ? 'null' : typeof model}`);
    }
    checkOptions(loadOptions, WEB_RECOGNIZER_OPTIONS, 'WebRecognizer.load');
    checkOptionTypes(loadOptions, { name: 'string' }, 'WebRecognizer.load');
    const url = model instanceof Uint8Array || model instanceof ArrayBuffer ? (loadOptions.name ?? '(model bytes)') : String(model);
    const [backend, bytes] = await Promise.all([featureBackend(), typeof model === 'string' || model instanceof URL ? fetchModel(url) : new Uint8Array(model)]);
    const info = parseModelMetadata(bytes, url);
    const options: ort.InferenceSession.SessionOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, options);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      // ORT's own .wasm could not be fetched or compiled (a wrong wasmPaths, a CSP without 'wasm-unsafe-eval'): not the model's fault.
      if (/no available backend|magic word|WebAssembly/i.test(message)) {
        throw new BackendUnavailableError(`ONNX Runtime Web did not start: ${message} (its .wasm must be served beside its module, which a bundle must be an ES module to know — esbuild: --format=esm —, or set ort.env.wasm.wasmPaths = { wasm: URL of ort-wasm-simd-threaded.wasm }; a CSP needs 'wasm-unsafe-eval')`, { cause: err });
      }
      throw new ModelError(`${url} could not be loaded by ONNX Runtime Web: ${message}`, { cause: err });
    }
    if (!session.inputNames.includes(MODEL_INPUT_NAME) || !session.outputNames.includes(MODEL_OUTPUT_NAME)) {
      await session.release();
      throw new ModelError(`${url} has inputs [${session.inputNames}] and outputs [${session.outputNames}]; expected '${MODEL_INPUT_NAME}' -> '${MODEL_OUTPUT_NAME}'`);
    }
    const extractor = backend.createExtractor(info.featureConfig);
    const r = new WebRecognizer(url, info, bytes.length, backend, extractor, session, bytes, options, loadOptions);
    try {
      // One warm-up run so the first spoken digit does not pay for ORT's lazy initialisation.
      await r.recognize(new Float32Array(info.featureConfig.sampleRate / 2), info.featureConfig.sampleRate, 0.5);
    } catch (err) {
      await r.dispose();
      throw new ModelError(`${url} failed its first run: ${(err as Error)?.message ?? err}`, { cause: err });
    }
    return r;
  }

  /** Runs the pipeline once at the microphone's rate, so the first spoken digit pays no set-up cost. */
  async prepareFor(inputRate: number): Promise<void> {
    if (this.prepared.has(inputRate)) return;
    this.prepared.add(inputRate);
    await this.recognize(new Float32Array(Math.round(inputRate / 2)), inputRate, 0.5);
  }

  private readonly prepared = new Set<number>();
  private melExtractor: FeatureExtractor | undefined;

  /**
   * A log-mel spectrogram of the audio for the screen, from the same DSP core and the model's own
   * framing (natural length, no normalization), whatever features the model itself takes.
   */
  melSpectrogram(audio: Float32Array): FeatureMatrix {
    const c = this.info.featureConfig;
    this.melExtractor ??= this.backend.createExtractor({
      ...c,
      kind: 'logmel',
      nMels: Math.min(c.nMels || 40, c.nFft / 2 + 1),
      deltas: 0,
      numFrames: 0,
      normalization: null,
      log: { type: 'db', amin: 1e-10, topDb: 80, ref: 'max' },
    });
    return this.melExtractor.compute(audio);
  }

  /** The pitch and formant factor applied to every input (1: none), as DigitRecognizer's. */
  get voiceShift(): number {
    return this.shift;
  }

  set voiceShift(factor: number) {
    this.shift = checkVoiceShift(factor);
  }

  /** Model input for audio already at the model's rate, heard at `shift` (checked). */
  private features(audio: Float32Array, shift: number): FeatureMatrix {
    return this.extractor.compute(checkVoiceShift(shift) === 1 ? audio : voiceShift(audio, this.sampleRate, shift, this.backend));
  }

  get sampleRate(): number {
    return this.info.featureConfig.sampleRate;
  }

  resample(samples: Float32Array, fromRate: number): Float32Array {
    return this.backend.resample(samples, fromRate, this.sampleRate);
  }

  /** `samples` at the model's rate: as they are when they already are. */
  private atModelRate(samples: Float32Array, rate: number): Float32Array {
    return rate === this.sampleRate ? samples : this.resample(samples, rate);
  }

  /** A clip given to recognize: at the model's rate, and never garbage (NaN, Inf and floats beyond ±16 refused, as Node's recognizer refuses them). */
  private clipAtModelRate(samples: Float32Array, rate: number): Float32Array {
    if (samples instanceof Float32Array) refuseUnusableSamples(samples);
    return this.atModelRate(samples, rate);
  }

  /** One clip, heard at `shift` (default: the recognizer's voice shift). */
  async recognize(samples: Float32Array, sampleRate: number, threshold: number = this.info.rejection.threshold, shift = this.shift): Promise<Recognition> {
    checkThreshold(threshold);
    this.checkNotDisposed();
    const t0 = performance.now();
    const audio = this.clipAtModelRate(samples, sampleRate);
    const features = this.features(audio, shift);
    const t1 = performance.now();
    const probabilities = (await this.runModel([features], [MODEL_OUTPUT_NAME]))[MODEL_OUTPUT_NAME];
    const t2 = performance.now();
    // A silent clip is silence whatever the model says, as in recognizeBatch and Node's predict.
    const decision = rejectUnheard(decide(probabilities, this.info.labels, threshold), audio, undefined);
    return {
      ...decision,
      probabilities,
      top: topLabels(probabilities, this.info.labels, 3),
      features,
      computeMs: t2 - t0,
      featureMs: t1 - t0,
      inferenceMs: t2 - t1,
      durationSec: audio.length / this.sampleRate,
      audio,
    };
  }

  /** Several clips in one ORT run (the splitter scores candidate pieces this way). */
  async recognizeBatch(clips: readonly ClipInput[], threshold: number = this.info.rejection.threshold): Promise<Recognition[]> {
    if (!Array.isArray(clips)) throw new AudioInputError(`recognizeBatch takes an array of clips, got ${clips === null ? 'null' : typeof clips}`);
    checkThreshold(threshold);
    this.checkNotDisposed();
    if (clips.length === 0) return [];
    const t0 = performance.now();
    const audios = clips.map((c) => this.clipAtModelRate(c.samples, c.sampleRate));
    const feats = audios.map((a, i) => this.features(a, clips[i].shift ?? this.shift));
    // Fixed-length models (numFrames > 0) give equal shapes; natural-length ones cannot be stacked.
    if (feats.some((f) => f.frames !== feats[0].frames)) {
      const out: Recognition[] = [];
      for (const c of clips) out.push(...(await this.recognizeBatch([c], threshold)));
      return out;
    }
    const t1 = performance.now();
    const all = (await this.runModel(feats, [MODEL_OUTPUT_NAME]))[MODEL_OUTPUT_NAME];
    const t2 = performance.now();
    const k = this.info.labels.length;
    return feats.map((features, i) => {
      const probabilities = all.slice(i * k, (i + 1) * k);
      return {
        ...rejectUnheard(decide(probabilities, this.info.labels, threshold), audios[i], clips[i].speechMs),
        probabilities,
        top: topLabels(probabilities, this.info.labels, 3),
        features,
        computeMs: (t2 - t0) / clips.length,
        featureMs: (t1 - t0) / clips.length,
        inferenceMs: (t2 - t1) / clips.length,
        durationSec: audios[i].length / this.sampleRate,
        audio: audios[i],
      };
    });
  }

  /**
   * Clips or stream pieces cut to their speech when the model was trained on clips cut so (as
   * DigitRecognizer does), except those the segmenter cut so already (`cutToSpeech: false`); each cut
   * one carries how long its speech is (`speechMs`), so that recognizeBatch rejects a click as
   * 'too-short' as DigitRecognizer does.
   */
  async cutPieces<T extends { samples: Float32Array; sampleRate: number; cutToSpeech?: boolean; speechMs?: number | null }>(pieces: T[]): Promise<T[]> {
    const trim = this.info.speechTrim;
    if (!trim) return pieces;
    const core = await streamCore();
    // Resampled before the cut, as training does (see DigitRecognizer's atModelRate).
    return pieces.map((c) => {
      if (c.cutToSpeech === false) return c;
      const samples = this.atModelRate(c.samples, c.sampleRate);
      return { ...c, sampleRate: this.sampleRate, ...cutClipToSpeech(core, samples, this.sampleRate, trim) };
    });
  }

  /** The named outputs of one ORT run over stacked feature matrices of one shape. */
  private async runModel(feats: readonly FeatureMatrix[], names: readonly string[], session = this.sessions.current): Promise<Record<string, Float32Array>> {
    const { frames, dims } = feats[0];
    const data = new Float32Array(feats.length * frames * dims);
    feats.forEach((f, i) => data.set(f.data, i * frames * dims));
    const input = new ort.Tensor('float32', data, [feats.length, frames, dims]);
    try {
      const out = await this.sessions.run((s) => s.run({ [MODEL_INPUT_NAME]: input }, [...names]), session);
      return Object.fromEntries(names.map((n) => [n, out[n].data as Float32Array]));
    } finally {
      input.dispose();
    }
  }

  /** Whether the model carries normalization targets, which adaptNormalization needs. */
  get canAdaptNormalization(): boolean {
    return this.info.normTargets;
  }

  /** How many clips the normalization in use was adapted on (0: the model as loaded). */
  get normalizationClips(): number {
    return this.adaptedOn;
  }

  /**
   * DigitRecognizer.adaptNormalization in the page: the model's normalization adapted to the voice of
   * `clips` (unlabeled pieces of one speaker, cut and heard as recognizePieces takes them; at least
   * 2), used from then on. With `offThread` the work runs in a Web Worker (WebAdaptWorker) and the
   * page only loads the result; where no worker can run (no Worker here, its script not served, a
   * CSP), in line, as without it, and the result's `offThread` says false. The graph code loads on
   * first use.
   */
  async adaptNormalization(clips: readonly ClipInput[], options: NormAdaptOptions = {}): Promise<NormAdaptResult> {
    checkNormAdaptOptions(options, 'adaptNormalization');
    const call = this.sessions.beginCancellable();
    let adapted: Awaited<ReturnType<WebRecognizer['adaptedModel']>>;
    try {
      adapted = await this.adaptedModelFor(clips, options, () => this.sessions.superseded(call));
    } catch (err) {
      if (err instanceof AdaptCancelledError) return { superseded: true, selfEnrolled: false, offThread: true };
      throw err;
    }
    const installed = await this.useModel(adapted.model, call, clips.length);
    return { ...(installed ? {} : { superseded: true }), selfEnrolled: adapted.selfEnrolled, offThread: adapted.offThread };
  }

  /**
   * DigitRecognizer.cancelAdaptation in the page: the adaptations under way (not resets) resolve
   * `superseded` without installing their model, and the Web Worker computing one is terminated in its
   * run (the next adaptation starts another). One computing in line runs to its end first.
   */
  async cancelAdaptation(): Promise<void> {
    this.sessions.cancel();
    await this.worker?.cancel();
  }

  /**
   * Pieces as an adaptation takes them: cut to speech and at the model's rate (marked `cutToSpeech:
   * false`, which later calls take as they are). What a listener keeps of a voice for adapting on: a
   * sixth of the memory of 48 kHz pieces.
   */
  async prepareClips(clips: readonly ClipInput[]): Promise<ClipInput[]> {
    return (await this.cutPieces([...clips])).map((c) => ({ ...c, samples: this.atModelRate(c.samples, c.sampleRate), sampleRate: this.sampleRate, cutToSpeech: false }));
  }

  /**
   * The model (bytes) adapted to the clips as adaptNormalization adapts it, without using it.
   * `selfEnrolled`: the last layers were refitted too; `offThread`: a Web Worker computed it.
   */
  adaptedModel(clips: readonly ClipInput[], options: NormAdaptOptions = {}): Promise<{ model: Uint8Array; selfEnrolled: boolean; offThread: boolean }> {
    return this.adaptedModelFor(clips, options, () => false);
  }

  /** adaptedModel, given up (AdaptCancelledError) when `cancelled` says so once the clips are cut, before any worker is asked. */
  private async adaptedModelFor(clips: readonly ClipInput[], options: NormAdaptOptions, cancelled: () => boolean): Promise<{ model: Uint8Array; selfEnrolled: boolean; offThread: boolean }> {
    if (this.disposed) throw new ModelError('the recognizer was disposed; load a new one to adapt');
    if (clips.length < 2) throw new AudioInputError(`adapting to a voice needs at least 2 clips, got ${clips.length}`);
    // Cut to speech and at the model's rate, wherever they are adapted on (to a worker: a sixth of the bytes of 48 kHz pieces).
    const cut = await this.prepareClips(clips);
    if (cancelled()) throw new AdaptCancelledError();
    const worker = options.offThread ? this.adaptWorker() : null;
    if (worker) {
      try {
        return { ...(await worker.adapt(cut, this.shift, options.selfEnroll ?? false)), offThread: true };
      } catch (err) {
        if (!(err instanceof AdaptWorkerUnavailable)) throw err;
      }
    }
    return { ...(await this.adaptInLine(cut, options.selfEnroll ?? false)), offThread: false };
  }

  /** Why adaptations asked to run off the thread run in line in this page (null: they run in a worker, or have not been tried). */
  get adaptWorkerUnavailable(): string | null {
    const given = this.adaptOptions.adaptWorker;
    if (given === false) return 'adaptWorker: false';
    if (!given && !webWorkers()) return 'this environment has no Web Worker';
    return this.worker?.unavailable ?? null;
  }

  /** The adapted model, computed here: `cut` as adaptedModel prepares them (cut to speech, at the model's rate). */
  private async adaptInLine(cut: readonly ClipInput[], selfEnroll: boolean): Promise<{ model: Uint8Array; selfEnrolled: boolean }> {
    const { adaptNormalization } = await import('../model/norm-adapt.js');
    // Heard at the voice shift of now throughout, should a VoiceAdapter move it while this runs.
    const shift = this.shift;
    const feats = cut.map((c) => this.features(c.samples, c.shift ?? shift));
    const { model } = await adaptNormalization(this.model, async (probe, names) => {
      const session = await ort.InferenceSession.create(probe, this.sessionOptions);
      try {
        return await this.runModel(feats, names, session);
      } finally {
        await session.release();
      }
    });
    if (!selfEnroll) return { model, selfEnrolled: false };
    const [{ selfEnroll: refit }, { webRuntime }] = await Promise.all([import('../model/self-enroll.js'), import('./enroll.js')]);
    const pieces = cut.map((c) => ({ samples: c.samples, sampleRate: c.sampleRate, cutToSpeech: false }));
    const enrolled = await refit(model, this.url, pieces, webRuntime, shift);
    return { model: enrolled ?? model, selfEnrolled: enrolled !== null };
  }

  /** The Web Worker that adapts off the page's thread (made at the first offThread adaptation), or null where there can be none. */
  private adaptWorker(): WebAdaptWorker | null {
    if (this.worker !== undefined) return this.worker;
    const create = this.adaptOptions.adaptWorker ?? (webWorkers() ? defaultAdaptWorker : false);
    return (this.worker = create === false ? null : new WebAdaptWorker({ model: this.model, name: this.url, ...workerOrtSettings() }, create));
  }

  /** Back to the model as loaded. */
  async resetNormalization(): Promise<void> {
    const call = this.sessions.begin();
    if (this.adaptedOn === 0) return this.sessions.keep(call);
    await this.useModel(this.model, call, 0);
  }

  /**
   * A session of `bytes`, run once on silence, becomes the one in use (true; `adaptedOn` clips its
   * normalization was adapted on, 0 for the model as loaded), unless a later adaptation or reset
   * (`call`: SessionSwap.begin) is in use already (false); the old one is released when its runs end.
   * Disposed meanwhile (an adaptation's result arriving after the page moved on): the new session is
   * released, never installed, and a ModelError.
   */
  private async useModel(bytes: Uint8Array, call: number, adaptedOn: number): Promise<boolean> {
    if (this.disposed) throw new ModelError('the recognizer was disposed during a normalization adaptation');
    // A later adaptation or reset is in use already: a session of this one would only be made and released.
    if (this.sessions.superseded(call)) return false;
    const next = await ort.InferenceSession.create(bytes, this.sessionOptions);
    const silence = () => this.runModel([this.features(new Float32Array(this.sampleRate / 2), 1)], [MODEL_OUTPUT_NAME], next);
    const outcome = await this.sessions.install(next, silence, call, () => (this.adaptedOn = adaptedOn));
    if (outcome === 'closed') throw new ModelError('the recognizer was disposed during a normalization adaptation');
    return outcome === 'installed';
  }

  /**
   * Named outputs of the model's graph per clip, fed as recognizePieces feeds it (cut to speech,
   * heard at each clip's shift): e.g. a layer's activations, for analysis and enrollment. Each name
   * must be one of the graph's outputs. One row per clip, one array per name, in the given orders.
   */
  async graphOutputs(clips: readonly ClipInput[], names: readonly string[]): Promise<Float32Array[][]> {
    const missing = names.filter((n) => !this.sessions.current.outputNames.includes(n));
    if (missing.length) throw new ModelError(`${this.url} has no output ${missing.join(', ')} (has ${this.sessions.current.outputNames.join(', ')})`);
    const rows: Float32Array[][] = [];
    for (const clip of await this.cutPieces([...clips])) {
      const out = await this.runModel([this.features(this.atModelRate(clip.samples, clip.sampleRate), clip.shift ?? this.shift)], names);
      rows.push(names.map((n) => out[n]));
    }
    return rows;
  }

  /**
   * Stream pieces as the stream decoder's classifier wants them, answering as DigitRecognizer does
   * for `digits listen`: every piece cut to its speech when the model says so, decided with
   * `threshold`, with the labels the splitter's checks need.
   */
  async recognizePieces(pieces: readonly ClipInput[], threshold: number = this.info.rejection.threshold): Promise<PieceRecognition[]> {
    const labels = this.info.labels;
    return (await this.recognizeBatch(await this.cutPieces([...pieces]), threshold)).map((r) => ({ ...r, labels }));
  }

  /**
   * One stream piece heard at each of several voice shifts (what a VoiceAdapter asks, see
   * ShiftableRecognizer): float PCM only, cut to its speech as every stream piece is.
   */
  async predictShifted(input: AudioInput, factors: readonly number[]): Promise<Recognition[]> {
    if (typeof input === 'string' || input instanceof Uint8Array || !(input.samples instanceof Float32Array)) {
      throw new ModelError('the browser recognizer adapts to float PCM pieces of a stream only');
    }
    const [piece] = await this.cutPieces([{ samples: input.samples, sampleRate: input.sampleRate }]);
    return this.recognizeBatch(
      factors.map((shift) => ({ ...piece, shift })),
      // Only the probabilities matter to the adapter.
      0,
    );
  }

  /** Releases the model, its extractors and the adaptation worker. Safe to call twice (the second waits for the first). */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      await this.worker?.close();
      this.worker = null;
      this.extractor.dispose();
      this.melExtractor?.dispose();
      await this.sessions.close();
    })();
    return this.disposing;
  }

  /** dispose() was called: the recognizer answers no more. */
  get disposed(): boolean {
    return this.disposing !== undefined;
  }

  private checkNotDisposed(): void {
    if (this.disposed) throw new ModelError(`the recognizer of ${this.url} was disposed; load a new one`);
  }
}

/** A model download that delivers nothing for this long has stalled (a server that keeps the connection open and sends no more). */
const MODEL_STALL_MS = 30_000;

/**
 * The bytes of a model URL: a ModelError when it cannot be fetched, answers other than 2xx, is larger
 * than a model may be (MAX_MODEL_BYTES, as in Node), or stalls (`stallMs` without a byte), so a page's
 * retry runs instead of waiting for ever.
 */
export async function fetchModel(url: string, { stallMs = MODEL_STALL_MS }: { stallMs?: number } = {}): Promise<Uint8Array> {
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(), stallMs);
  // A shipped model's name is a model in Node (DigitRecognizer.load), a relative URL in a page.
  const shipped = /^(default|small)(\.int8)?(\.onnx)?$/.exec(url)?.[1];
  const shippedName = shipped
    ? `; '${url}' names a shipped model in Node only: a page gives the model's URL (the package's models/${shipped}.int8.onnx served with it; with Vite, its URL is the default export of spoken-digits/models/${shipped}.int8.onnx?url)`
    : '';
  const failed = (err: unknown) =>
    new ModelError(`cannot load model ${url}: ${abort.signal.aborted ? `nothing arrived for ${stallMs / 1000} s (the download stalled)` : ((err as Error)?.message ?? err)}${shippedName}`, { cause: err });
  const tooBig = (bytes: number) => new ModelError(`cannot load model ${url}: ${bytes} bytes or more, larger than a model may be (${MAX_MODEL_BYTES} bytes)`);
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: abort.signal });
    } catch (err) {
      throw failed(err);
    }
    if (!response.ok) throw new ModelError(`cannot load model ${url}: HTTP ${response.status}${shippedName}`);
    const declared = Number(response.headers.get('content-length'));
    if (declared > MAX_MODEL_BYTES) {
      abort.abort(); // the connection goes too, not only the promise
      throw tooBig(declared);
    }
    const reader = response.body?.getReader();
    if (!reader) return new Uint8Array(await response.arrayBuffer());
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw failed(err);
      }
      if (chunk.done) break;
      total += chunk.value.length;
      if (total > MAX_MODEL_BYTES) {
        abort.abort();
        throw tooBig(total);
      }
      chunks.push(chunk.value);
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(), stallMs);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return bytes;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A rejection threshold as recognize() takes it: a number 0..1. `''`, NaN, null or -1 compared as
 * `p < threshold` turn rejection off, and a noisy clip came back as a wrong digit.
 */
function checkThreshold(threshold: unknown): void {
  if (!(typeof threshold === 'number' && threshold >= 0 && threshold <= 1)) throw new OptionsError(`threshold must be a number 0..1 (leave it out for the model's own), got ${typeof threshold === 'string' ? JSON.stringify(threshold) : String(threshold)}`);
}
