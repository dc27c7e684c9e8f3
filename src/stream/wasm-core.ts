// Browser-safe (the kiosk uses the same endpointer): no Node imports here.
import createSdDsp from '../../wasm/dist/sd_dsp.mjs';
import { AudioInputError, BackendUnavailableError, OptionsError, type EveryKey } from '../errors.js';
import type { ContourPart, StreamCore, Valley, VadEvent, VadHandle, VadOptions, VadState } from './core.js';

type Fn = (...args: number[]) => number;
interface VadModule {
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  HEAPF64: Float64Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _sd_vad_create: Fn;
  _sd_vad_last_error: Fn;
  _sd_vad_destroy: Fn;
  _sd_vad_reset: Fn;
  _sd_vad_process: Fn;
  _sd_vad_flush: Fn;
  _sd_vad_state: Fn;
  _sd_find_valleys: Fn;
  _sd_band_contour: Fn;
  _sd_contour_valleys: Fn;
  _sd_speech_extent: Fn;
  _sd_contour_speech_extent: Fn;
}

const TYPES: VadEvent['type'][] = ['start', 'end', 'abort'];
const REASONS: VadEvent['reason'][] = ['none', 'silence', 'max-length', 'flush', 'too-short', 'unvoiced', 'tonal'];
const MAX_EVENTS = 64;
/** The settings sd_vad_create takes after the sample rate, in its order (native/dsp/vad_c.h). */
const VAD_SETTING_KEYS = ['sensitivity', 'onsetMs', 'hangoverMs', 'minSpeechMs', 'maxSpeechMs', 'minVoicedMs', 'preRollMs', 'postRollMs', 'minLevelDb', 'initialNoiseDb'] as const;
const VAD_SETTINGS: EveryKey<Omit<VadOptions, 'sampleRate'>, typeof VAD_SETTING_KEYS> = VAD_SETTING_KEYS;

// A VAD nobody disposed is released when it is collected (if the collector ever gets to it: it sees
// a small object, not the module heap it holds). What it holds, in the module's heap.
interface VadMemory {
  handle: number;
  eventsPtr: number;
  statePtr: number;
  samplesPtr: number;
}
function freeVad(m: VadModule, mem: VadMemory): void {
  if (!mem.handle) return;
  m._sd_vad_destroy(mem.handle);
  m._free(mem.eventsPtr);
  m._free(mem.statePtr);
  if (mem.samplesPtr) m._free(mem.samplesPtr);
  mem.handle = mem.eventsPtr = mem.statePtr = mem.samplesPtr = 0;
}
const registry = typeof FinalizationRegistry !== 'undefined' ? new FinalizationRegistry<() => void>((free) => free()) : null;

function cString(m: VadModule, ptr: number): string {
  let end = ptr;
  while (m.HEAPU8[end] !== 0) end++;
  return new TextDecoder().decode(m.HEAPU8.subarray(ptr, end));
}

class WasmVad implements VadHandle {
  private capacity = 0;
  private readonly mem: VadMemory;
  constructor(
    private readonly m: VadModule,
    handle: number,
  ) {
    const mem: VadMemory = { handle, eventsPtr: m._malloc(MAX_EVENTS * 4 * 8), statePtr: m._malloc(8 * 8), samplesPtr: 0 };
    this.mem = mem;
    registry?.register(this, () => freeVad(m, mem), this);
  }

  /** The core's handle; a disposed VAD's calls throw here rather than reach freed memory. */
  private get handle(): number {
    if (!this.mem.handle) throw new TypeError('Vad was disposed');
    return this.mem.handle;
  }

  dispose(): void {
    registry?.unregister(this);
    freeVad(this.m, this.mem);
  }

  private read(count: number): VadEvent[] {
    const out: VadEvent[] = [];
    const base = this.mem.eventsPtr >> 3;
    for (let i = 0; i < Math.min(count, MAX_EVENTS); i++) {
      const f = this.m.HEAPF64.subarray(base + 4 * i, base + 4 * i + 4);
      out.push({ type: TYPES[f[0]] ?? 'abort', reason: REASONS[f[1]] ?? 'none', startSample: f[2], endSample: f[3] });
    }
    return out;
  }

  process(samples: Float32Array): VadEvent[] {
    if (!(samples instanceof Float32Array)) throw new AudioInputError('Vad.process expects a Float32Array');
    const handle = this.handle;
    if (samples.length === 0) return [];
    const mem = this.mem;
    if (samples.length > this.capacity) {
      if (mem.samplesPtr) this.m._free(mem.samplesPtr);
      mem.samplesPtr = this.m._malloc(samples.length * 4);
      this.capacity = samples.length;
    }
    this.m.HEAPF32.set(samples, mem.samplesPtr >> 2);
    return this.read(this.m._sd_vad_process(handle, mem.samplesPtr, samples.length, mem.eventsPtr, MAX_EVENTS));
  }

  flush(): VadEvent[] {
    return this.read(this.m._sd_vad_flush(this.handle, this.mem.eventsPtr, MAX_EVENTS));
  }

  reset(): void {
    // As the addon's: nothing to reset once disposed.
    if (this.mem.handle) this.m._sd_vad_reset(this.mem.handle);
  }

  state(): VadState {
    const statePtr = this.mem.statePtr;
    this.m._sd_vad_state(this.handle, statePtr);
    const f = this.m.HEAPF64.subarray(statePtr >> 3, (statePtr >> 3) + 7);
    return { levelDb: f[0], noiseDb: f[1], inSpeech: f[2] !== 0, samplesSeen: f[3], bandDb: f[4], segmentAccepted: f[5] !== 0, silentSamples: f[6] };
  }
}

/**
 * A contour frame (32 ms) reaches 11 ms before its 10 ms hop, so a signal cut this many hops before
 * a hop frames that hop and the ones after it exactly as the whole signal does.
 */
const CONTOUR_LEAD_HOPS = 4;

/**
 * Copies `input` (4-byte values) into the module and reads back the [start, end) `run` finds, or
 * null; `run` returning -1 (arguments the core refused) throws RangeError(`refused`).
 */
function extentOf(m: VadModule, input: Float32Array, run: (inputPtr: number, outPtr: number) => number, refused = ''): [number, number] | null {
  const sp = m._malloc(input.length * 4);
  const op = m._malloc(16);
  try {
    m.HEAPF32.set(input, sp >> 2);
    const found = run(sp, op);
    if (found < 0) throw new RangeError(refused);
    if (found === 0) return null;
    return [m.HEAPF64[op >> 3], m.HEAPF64[(op >> 3) + 1]];
  } finally {
    m._free(sp);
    m._free(op);
  }
}

/** Copies `input` (4-byte values) into the module and reads back the valleys `run` finds. */
function valleysOf(m: VadModule, input: Float32Array, run: (inputPtr: number, outPtr: number, max: number) => number): Valley[] {
  const max = 64;
  const sp = m._malloc(input.length * 4);
  const op = m._malloc(max * 3 * 8);
  try {
    m.HEAPF32.set(input, sp >> 2);
    const n = Math.min(max, run(sp, op, max));
    const out: Valley[] = [];
    for (let i = 0; i < n; i++) {
      const f = m.HEAPF64.subarray((op >> 3) + 3 * i, (op >> 3) + 3 * i + 3);
      out.push({ sample: f[0], depthDb: f[1], lowMs: f[2] });
    }
    return out;
  } finally {
    m._free(sp);
    m._free(op);
  }
}

/** The endpointer from wasm/dist (same C++ as the addon), for the browser and addon-less installs. */
export async function loadWasmStreamCore(): Promise<StreamCore> {
  let m: VadModule;
  try {
    m = (await createSdDsp()) as unknown as VadModule;
  } catch (err) {
    throw new BackendUnavailableError(`wasm core failed to load: ${(err as Error)?.message ?? err}`, { cause: err });
  }
  if (typeof m._sd_vad_create !== 'function' || typeof m._sd_contour_speech_extent !== 'function') throw new BackendUnavailableError('wasm/dist was built without the VAD exports; run npm run build:wasm');
  return {
    name: 'wasm',
    createVad(o: VadOptions): VadHandle {
      // Every setting, in the C API's order; NaN keeps the core's default (so a NaN given is refused here, as the addon does).
      const settings = VAD_SETTINGS.map((key) => {
        const v = o[key];
        if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v))) throw new OptionsError(`Vad option ${key} must be a number`);
        return v ?? NaN;
      });
      // Checked before it becomes a C int, as the addon checks it (2^32 + 8000 would be 8000; 8000.9, 8000).
      if (!(Number.isInteger(o.sampleRate) && o.sampleRate >= 1 && o.sampleRate <= 1e9)) throw new OptionsError('invalid VAD options: sampleRate must be an integer in 4000..192000');
      const h = m._sd_vad_create(o.sampleRate, ...settings);
      if (!h) throw new OptionsError(`invalid VAD options: ${cString(m, m._sd_vad_last_error())}`);
      return new WasmVad(m, h);
    },
    speechExtent(samples: Float32Array, sampleRate: number, dropDb: number, marginMs: number, keepWithinDb = 0): [number, number] | null {
      checkContourArgs('speechExtent', sampleRate, 1, { dropDb, marginMs, keepWithinDb }, { marginMs });
      if (samples.length === 0) return null;
      return extentOf(m, samples, (sp, op) => m._sd_speech_extent(sp, samples.length, sampleRate, dropDb, marginMs, keepWithinDb, op));
    },
    contourSpeechExtent(bandDb: Float32Array, samples: number, sampleRate: number, dropDb: number, marginMs: number, keepWithinDb: number): [number, number] | null {
      checkContourArgs('contourSpeechExtent', sampleRate, 4000, { dropDb, marginMs, keepWithinDb }, { marginMs });
      if (!Number.isSafeInteger(samples) || samples > 2 ** 31 - 1) throw new RangeError('contourSpeechExtent: samples must be an integer below 2^31 in the wasm core');
      return extentOf(
        m,
        bandDb,
        (sp, op) => m._sd_contour_speech_extent(sp, bandDb.length, samples, sampleRate, dropDb, marginMs, keepWithinDb, op),
        'contourSpeechExtent: bandDb must hold the contour of all `samples` samples (samples / (sampleRate / 100) hops, sampleRate an integer in 4000..192000)',
      );
    },
    findValleys(samples: Float32Array, sampleRate: number, minDepthDb: number, minPieceMs: number): Valley[] {
      checkContourArgs('findValleys', sampleRate, 1, { minDepthDb, minPieceMs }, { minPieceMs });
      if (samples.length === 0) return [];
      return valleysOf(m, samples, (sp, op, max) => m._sd_find_valleys(sp, samples.length, sampleRate, minDepthDb, minPieceMs, op, max));
    },
    contourValleys(bandDb: Float32Array, sampleRate: number, minDepthDb: number, minPieceMs: number): Valley[] {
      checkContourArgs('contourValleys', sampleRate, 1, { minDepthDb, minPieceMs }, { minPieceMs });
      if (bandDb.length === 0) return [];
      return valleysOf(m, bandDb, (sp, op, max) => m._sd_contour_valleys(sp, bandDb.length, sampleRate, minDepthDb, minPieceMs, op, max));
    },
    bandContour(samples: Float32Array, sampleRate: number, firstHop: number): ContourPart {
      if (!isRate(sampleRate, 4000) || !(Number.isInteger(firstHop) && firstHop >= 0 && firstHop <= 2 ** 31 - 1)) throw new RangeError('bandContour: sampleRate must be an integer in 4000..192000, firstHop an integer >= 0');
      // Only the samples the asked hops' frames reach are copied in (a stream asks for its newest
      // hops at every hop): a signal that starts CONTOUR_LEAD_HOPS hops before them frames them alike.
      const hop = Math.max(1, Math.floor(sampleRate / 100));
      // A firstHop past the end asks for no hop: the settled hops are still the whole signal's, as in the addon.
      const skip = Math.max(0, Math.min(firstHop, Math.floor(samples.length / hop)) - CONTOUR_LEAD_HOPS);
      const part = samples.subarray(skip * hop);
      const count = Math.max(0, Math.floor(part.length / hop) - (firstHop - skip));
      const sp = m._malloc(Math.max(1, part.length) * 4);
      const op = m._malloc(Math.max(1, count) * 4);
      try {
        m.HEAPF32.set(part, sp >> 2);
        const settled = m._sd_band_contour(sp, part.length, sampleRate, firstHop - skip, op, count);
        if (settled < 0) throw new RangeError('bandContour: the core refused its arguments');
        return { bandDb: m.HEAPF32.slice(op >> 2, (op >> 2) + count), settledHops: settled + skip };
      } finally {
        m._free(sp);
        m._free(op);
      }
    },
  };
}

/**
 * The contour functions' rates: integers up to the endpointer's 192 kHz (native/dsp/vad.h kMaxContourRate; under
 * 4000 they find nothing, and a contour itself needs 4000 and up), checked as the addon checks them.
 */
const isRate = (rate: number, min: number) => Number.isInteger(rate) && rate >= min && rate <= 192000;

/** The addon's argument checks, so that both cores refuse the same calls alike (wasm would wrap 2^32 + 8000 to 8000). */
function checkContourArgs(what: string, sampleRate: number, minRate: number, numbers: Record<string, number>, nonNegative: Record<string, number>): void {
  // NaN is refused; Infinity is a limit turned off, as in the addon.
  for (const [name, v] of Object.entries(numbers)) if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${what}: ${name} must be a number`);
  if (!isRate(sampleRate, minRate)) throw new RangeError(`${what}: sampleRate must be an integer in ${minRate}..192000`);
  for (const [name, v] of Object.entries(nonNegative)) if (v < 0) throw new RangeError(`${what}: ${name} must be >= 0`);
}
