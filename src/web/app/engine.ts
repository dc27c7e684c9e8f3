import * as ort from 'onnxruntime-web/wasm';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { createWasmBackend } from '../../features/wasm.js';
import type { FeatureBackend, FeatureExtractor, FeatureMatrix } from '../../features/backend.js';
import { parseModelMetadata, type ModelMetadata } from '../../model/read-metadata.js';
import { decide, topLabels, type Decision } from '../../model/decision.js';
import { MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '../../model/metadata.js';
import { ModelError } from '../../errors.js';
import { checkVoiceShift, voiceShift } from '../../audio/voice-shift.js';

// ORT's wasm binary comes from our own build output (never a CDN). One thread: the models are tiny,
// worker start-up would cost more than it saves, and threads need cross-origin isolation.
ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

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

let backendPromise: Promise<FeatureBackend> | undefined;
export function featureBackend(): Promise<FeatureBackend> {
  backendPromise ??= createWasmBackend();
  return backendPromise;
}

/** A clip for `recognizeBatch`, heard at `shift` instead of the recognizer's voice shift if given. */
export interface ClipInput {
  samples: Float32Array;
  sampleRate: number;
  shift?: number;
}

/**
 * One loaded model: its metadata (the feature config comes from the file), extractor and ORT session.
 * Like DigitRecognizer, it can hear every input at a voice shift (`voiceShift`, set by a VoiceAdapter).
 */
export class Recognizer {
  private shift = 1;

  private constructor(
    readonly url: string,
    readonly info: ModelMetadata,
    readonly bytes: number,
    private readonly backend: FeatureBackend,
    private readonly extractor: FeatureExtractor,
    private readonly session: ort.InferenceSession,
  ) {}

  static async load(url: string): Promise<Recognizer> {
    const [backend, response] = await Promise.all([featureBackend(), fetch(url)]);
    if (!response.ok) throw new ModelError(`cannot load model ${url}: HTTP ${response.status}; check the model name in Settings`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const info = parseModelMetadata(bytes, url);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    if (!session.inputNames.includes(MODEL_INPUT_NAME) || !session.outputNames.includes(MODEL_OUTPUT_NAME)) {
      throw new ModelError(`${url} has inputs [${session.inputNames}] and outputs [${session.outputNames}]; expected '${MODEL_INPUT_NAME}' -> '${MODEL_OUTPUT_NAME}'`);
    }
    const extractor = backend.createExtractor(info.featureConfig);
    const r = new Recognizer(url, info, bytes.length, backend, extractor, session);
    // One warm-up run so the first spoken digit does not pay for ORT's lazy initialisation.
    await r.recognize(new Float32Array(info.featureConfig.sampleRate / 2), info.featureConfig.sampleRate, 0.5);
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

  /** One clip, heard at `shift` (default: the recognizer's voice shift). */
  async recognize(samples: Float32Array, sampleRate: number, threshold: number, shift = this.shift): Promise<Recognition> {
    const t0 = performance.now();
    const audio = sampleRate === this.sampleRate ? samples : this.resample(samples, sampleRate);
    const features = this.features(audio, shift);
    const t1 = performance.now();
    const input = new ort.Tensor('float32', features.data, [1, features.frames, features.dims]);
    const out = await this.session.run({ [MODEL_INPUT_NAME]: input });
    const probabilities = out[MODEL_OUTPUT_NAME].data as Float32Array;
    const t2 = performance.now();
    const decision = decide(probabilities, this.info.labels, threshold);
    input.dispose();
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
  async recognizeBatch(clips: readonly ClipInput[], threshold: number): Promise<Recognition[]> {
    if (clips.length === 0) return [];
    const t0 = performance.now();
    const audios = clips.map((c) => (c.sampleRate === this.sampleRate ? c.samples : this.resample(c.samples, c.sampleRate)));
    const feats = audios.map((a, i) => this.features(a, clips[i].shift ?? this.shift));
    const { frames, dims } = feats[0];
    // Fixed-length models (numFrames > 0) give equal shapes; natural-length ones cannot be stacked.
    if (feats.some((f) => f.frames !== frames)) {
      const out: Recognition[] = [];
      for (const c of clips) out.push(...(await this.recognizeBatch([c], threshold)));
      return out;
    }
    const t1 = performance.now();
    const data = new Float32Array(clips.length * frames * dims);
    feats.forEach((f, i) => data.set(f.data, i * frames * dims));
    const input = new ort.Tensor('float32', data, [clips.length, frames, dims]);
    const out = await this.session.run({ [MODEL_INPUT_NAME]: input });
    const all = out[MODEL_OUTPUT_NAME].data as Float32Array;
    const t2 = performance.now();
    input.dispose();
    const k = this.info.labels.length;
    return feats.map((features, i) => {
      const probabilities = all.slice(i * k, (i + 1) * k);
      return {
        ...decide(probabilities, this.info.labels, threshold),
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

  async dispose(): Promise<void> {
    this.extractor.dispose();
    this.melExtractor?.dispose();
    await this.session.release();
  }
}
