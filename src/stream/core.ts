import { createRequire } from 'node:module';
import { BackendUnavailableError, OptionsError, oneLine } from '../errors.js';
import { loadNativeBinding } from '../features/native.js';
import type { SpeechTrim } from '../model/metadata.js';
import { cutToSpeech, type SpeechExtentFinder } from './speech-cut.js';

/** VAD/endpointer settings (native/dsp/vad.h). Durations in milliseconds. */
export interface VadOptions {
  sampleRate: number;
  /** 0 = only clear, loud speech opens a segment; 1 = anything a little above the noise. Default 0.5. */
  sensitivity?: number;
  onsetMs?: number;
  /** Silence that closes a segment. Default 120. */
  hangoverMs?: number;
  minSpeechMs?: number;
  maxSpeechMs?: number;
  minVoicedMs?: number;
  preRollMs?: number;
  postRollMs?: number;
  minLevelDb?: number;
  initialNoiseDb?: number;
}

export interface VadEvent {
  type: 'start' | 'end' | 'abort';
  reason: 'none' | 'silence' | 'max-length' | 'flush' | 'too-short' | 'unvoiced' | 'tonal';
  /** Absolute sample positions in the stream (pre/post-roll included). */
  startSample: number;
  endSample: number;
}

export interface VadState {
  /** Loudest 10 ms hop since the previous call, dBFS. */
  levelDb: number;
  noiseDb: number;
  bandDb: number;
  inSpeech: boolean;
  samplesSeen: number;
  /** The open segment would be kept, not aborted (too short, unvoiced, tonal), if it ended now. */
  segmentAccepted: boolean;
  /** Samples since the open segment's speech last was heard (0 outside a segment). */
  silentSamples: number;
}

export interface VadHandle {
  process(samples: Float32Array): VadEvent[];
  flush(): VadEvent[];
  reset(): void;
  state(): VadState;
  /**
   * Frees the endpointer's memory now (the wasm core's lives in the module's heap, where the garbage
   * collector does not see it). Safe to call twice; process, flush and state throw after it. Optional
   * for a core of your own (ListenerOptions.core): one without it is left to the garbage collector.
   */
  dispose?(): void;
}

export interface Valley {
  /** Offset into the analysed samples. */
  sample: number;
  depthDb: number;
  lowMs: number;
}

/** Native capture surface (native/addon/capture_binding.cpp). */
export interface CaptureDevice {
  index: number;
  name: string;
  hostApi: string;
  maxInputChannels: number;
  defaultSampleRate: number;
  defaultLowInputLatency: number;
  isDefault: boolean;
  supportedRates: number[];
}

export interface CaptureStats {
  framesCaptured: number;
  framesRead: number;
  droppedFrames: number;
  overflows: number;
  inputOverflows: number;
  callbacks: number;
  active: boolean;
  latencyMeanMs: number;
  latencyMaxMs: number;
  latencyBlocks: number;
}

export interface NativeCaptureStream {
  readonly sampleRate: number;
  start(): void;
  stop(): void;
  close(): void;
  read(target: Float32Array): number;
  available(): number;
  stats(): CaptureStats;
}

export interface NativeCaptureOptions {
  device?: number;
  sampleRate?: number;
  channels?: number;
  framesPerBuffer?: number;
  bufferSeconds?: number;
  /** Driver-side buffering in seconds (0: the device's low-latency default). */
  latency?: number;
}

export interface NativeCaptureBinding {
  CaptureStream: new (options: NativeCaptureOptions) => NativeCaptureStream;
  listCaptureDevices(): CaptureDevice[];
  findCaptureDevice(query: string): number;
  portAudioVersion: string;
  /** Set in a prebuilt addon, which loads PortAudio at run time: the library it loaded (e.g. libportaudio.so.2). */
  portAudioLibrary?: string;
}

/** Part of a band contour (native/dsp/vad.h bandContourHops). */
export interface ContourPart {
  /** Band energy (dB, 300-3400 Hz) of the 10 ms hops firstHop .. floor(samples / hop) - 1. */
  bandDb: Float32Array;
  /** The first hop that changes when samples are appended (those before it never do). */
  settledHops: number;
}

/** The streaming half of the C++ core: the endpointer and the valley finder, native or wasm. */
export interface StreamCore extends SpeechExtentFinder {
  readonly name: 'native' | 'wasm';
  createVad(options: VadOptions): VadHandle;
  findValleys(samples: Float32Array, sampleRate: number, minDepthDb: number, minPieceMs: number): Valley[];
  /** The band contour of `samples` from hop `firstHop` on (what findValleys analyses, before smoothing). */
  bandContour(samples: Float32Array, sampleRate: number, firstHop: number): ContourPart;
  /** findValleys on a contour made by bandContour from hop 0 (positions are offsets into its samples). */
  contourValleys(bandDb: Float32Array, sampleRate: number, minDepthDb: number, minPieceMs: number): Valley[];
  /**
   * speechExtent of `samples` samples from the contour bandContour made of all of them (from hop 0),
   * without analysing them again: the same answer.
   */
  contourSpeechExtent(bandDb: Float32Array, samples: number, sampleRate: number, dropDb: number, marginMs: number, keepWithinDb: number): [number, number] | null;
}

/**
 * A function that cuts clips at `sampleRate` to their speech as `trim` says (with the native core,
 * else the wasm one), or leaves them whole when `trim` is null.
 */
export async function speechCutter(trim: SpeechTrim | null, sampleRate: number, prefer?: 'native' | 'wasm'): Promise<(samples: Float32Array) => Float32Array> {
  if (!trim) return (samples) => samples;
  const core = await loadStreamCore(prefer);
  return (samples) => cutToSpeech(core, samples, sampleRate, trim);
}

interface NativeVadBinding {
  Vad: new (options: VadOptions) => VadHandle;
  findValleys(samples: Float32Array, sampleRate: number, minDepthDb: number, minPieceMs: number): Valley[];
  bandContour(samples: Float32Array, sampleRate: number, firstHop: number): ContourPart;
  contourValleys(bandDb: Float32Array, sampleRate: number, minDepthDb: number, minPieceMs: number): Valley[];
  speechExtent(samples: Float32Array, sampleRate: number, dropDb: number, marginMs: number, keepWithinDb?: number): [number, number] | null;
  contourSpeechExtent(bandDb: Float32Array, samples: number, sampleRate: number, dropDb: number, marginMs: number, keepWithinDb: number): [number, number] | null;
  CaptureStream?: NativeCaptureBinding['CaptureStream'];
  captureUnavailable?: string;
}

function nativeCore(addon: NativeVadBinding): StreamCore {
  return {
    name: 'native',
    createVad: (options) => {
      try {
        return new addon.Vad(options);
      } catch (err) {
        throw new OptionsError((err as Error).message);
      }
    },
    findValleys: (samples, rate, depth, piece) => addon.findValleys(samples, rate, depth, piece),
    bandContour: (samples, rate, firstHop) => addon.bandContour(samples, rate, firstHop),
    contourValleys: (bandDb, rate, depth, piece) => addon.contourValleys(bandDb, rate, depth, piece),
    speechExtent: (samples, rate, drop, margin, keep) => addon.speechExtent(samples, rate, drop, margin, keep ?? 0),
    contourSpeechExtent: (bandDb, samples, rate, drop, margin, keep) => addon.contourSpeechExtent(bandDb, samples, rate, drop, margin, keep),
  };
}

// One core per choice, loaded once: a wasm core is a module instance with its own 16 MB heap, and
// making one per Listener kept the garbage collector busy (a full collection every ~80 ms of a
// benchmark's strings, each holding up a segment's recognition by ~10 ms).
const loaded = new Map<'native' | 'wasm' | 'any', Promise<StreamCore>>();

/**
 * Loads the endpointer from the native addon, else from the WebAssembly build (the same C++).
 * `prefer` forces one; the error lists why each candidate failed.
 */
export function loadStreamCore(prefer?: 'native' | 'wasm'): Promise<StreamCore> {
  // Same switch as the feature backend's 'auto', so SPOKEN_DIGITS_BACKEND=wasm exercises the wasm build end to end.
  const env = typeof process !== 'undefined' ? process.env?.SPOKEN_DIGITS_BACKEND : undefined;
  if (!prefer && (env === 'native' || env === 'wasm')) prefer = env;
  else if (!prefer && env && env !== 'auto') return Promise.reject(new BackendUnavailableError(`SPOKEN_DIGITS_BACKEND='${env}' is not a backend; use auto, native or wasm`));
  const key = prefer ?? 'any';
  const known = loaded.get(key);
  if (known) return known;
  const p = (async () => {
    const reasons: string[] = [];
    if (prefer !== 'wasm') {
      try {
        const addon = loadNativeBinding() as unknown as NativeVadBinding;
        if (typeof addon.Vad !== 'function' || typeof addon.Vad.prototype.dispose !== 'function' || typeof addon.contourSpeechExtent !== 'function') throw new Error('the addon has no VAD, or an older one (built from older sources?)');
        return nativeCore(addon);
      } catch (err) {
        reasons.push(`native: ${(err as Error).message}`);
      }
    }
    if (prefer !== 'native') {
      try {
        const { loadWasmStreamCore } = await import('./wasm-core.js');
        return await loadWasmStreamCore();
      } catch (err) {
        reasons.push(`wasm: ${(err as Error).message}`);
      }
    }
    throw new BackendUnavailableError(
      `no streaming core could be loaded (${reasons.join('; ')}); build the addon with \`npm run build:native\` or the wasm module with \`npm run build:wasm\``,
    );
  })();
  loaded.set(key, p);
  p.catch(() => loaded.delete(key));
  return p;
}

/** The addon's capture functions, or the reason there are none. */
export function loadNativeCapture(): { binding: NativeCaptureBinding } | { unavailable: string } {
  let addon: NativeVadBinding & Partial<NativeCaptureBinding>;
  try {
    addon = loadNativeBinding() as unknown as NativeVadBinding & Partial<NativeCaptureBinding>;
  } catch (err) {
    return { unavailable: `the native addon is not available (${oneLine((err as Error).message)})` };
  }
  if (typeof addon.CaptureStream !== 'function' || typeof addon.listCaptureDevices !== 'function') {
    return { unavailable: addon.captureUnavailable ?? 'the native addon has no capture support' };
  }
  return { binding: addon as NativeCaptureBinding };
}

/** naudiodon2 (optional dependency with its own PortAudio), or why it cannot be used. */
export function loadNaudiodon(): { module: typeof import('naudiodon2') } | { unavailable: string } {
  try {
    const require = createRequire(import.meta.url);
    return { module: require('naudiodon2') as typeof import('naudiodon2') };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && /'naudiodon2'/.test(e.message)) return { unavailable: 'naudiodon2 (an optional dependency) is not installed' };
    // The `bindings` package's "Could not locate the bindings file. Tried: <20 paths>": its build did not run or failed.
    if (/Could not locate the bindings file/.test(e.message)) return { unavailable: 'naudiodon2 is installed but its native part was not built (it needs a compiler when installed)' };
    return { unavailable: `naudiodon2 did not load (${e.message.split('\n')[0]})` };
  }
}
