import createSdDsp, { type SdDspModule } from '../../../wasm/dist/sd_dsp.mjs';
import { AudioInputError, BackendUnavailableError } from '../../errors.js';
import type { Endpointer, SegmentEvent } from './endpointer.js';

/*
 * The page's side of the C VAD API (native/dsp/vad_c.h) in the wasm module. The VAD keeps its own
 * wasm instance: it runs on every 20 ms block and owns no state shared with feature extraction.
 */
type VadModule = SdDspModule & {
  _sd_vad_create(rate: number, sensitivity: number, hangoverMs: number, minSpeechMs: number, maxSpeechMs: number): number;
  _sd_vad_last_error(): number;
  _sd_vad_destroy(h: number): void;
  _sd_vad_reset(h: number): void;
  _sd_vad_process(h: number, samples: number, n: number, events: number, maxEvents: number): number;
  _sd_vad_flush(h: number, events: number, maxEvents: number): number;
  _sd_vad_state(h: number, out: number): void;
  _sd_find_valleys(samples: number, n: number, rate: number, minDepthDb: number, minPieceMs: number, out: number, maxValleys: number): number;
};

const MAX_EVENTS = 16;
const TYPES: SegmentEvent['type'][] = ['start', 'end', 'abort'];
let modulePromise: Promise<VadModule> | undefined;

function loadModule(): Promise<VadModule> {
  modulePromise ??= createSdDsp().then((m) => {
    if (typeof (m as Partial<VadModule>)._sd_vad_create !== 'function') {
      throw new BackendUnavailableError('this build of the wasm DSP core has no VAD (sd_vad_*); rebuild it with `npm run build:wasm`');
    }
    return m as VadModule;
  });
  return modulePromise;
}

function cString(m: VadModule, ptr: number): string {
  let end = ptr;
  while (m.HEAPU8[end] !== 0 && end - ptr < 512) end++;
  return new TextDecoder().decode(m.HEAPU8.subarray(ptr, end));
}

export async function loadEndpointer(sampleRate: number, sensitivity: number): Promise<Endpointer> {
  const m = await loadModule();
  const h = m._sd_vad_create(sampleRate, sensitivity, -1, -1, -1);
  if (!h) throw new AudioInputError(`VAD rejected its settings: ${cString(m, m._sd_vad_last_error())}`);
  const events = m._malloc(MAX_EVENTS * 4 * 8);
  const state = m._malloc(5 * 8);
  let input = 0;
  let capacity = 0;
  const stage = (samples: Float32Array): number => {
    if (samples.length > capacity) {
      if (input) m._free(input);
      capacity = Math.max(samples.length, 4096);
      input = m._malloc(capacity * 4);
    }
    m.HEAPF32.set(samples, input >> 2);
    return input;
  };
  const readEvents = (n: number): SegmentEvent[] => {
    const out: SegmentEvent[] = [];
    const base = events >> 3;
    for (let i = 0; i < Math.min(n, MAX_EVENTS); i++) {
      const f = m.HEAPF64.subarray(base + 4 * i, base + 4 * i + 4);
      out.push({ type: TYPES[f[0]] ?? 'abort', reason: f[1], startSample: f[2], endSample: f[3] });
    }
    return out;
  };
  return {
    sampleRate,
    process(samples) {
      if (samples.length === 0) return [];
      const ptr = stage(samples);
      return readEvents(m._sd_vad_process(h, ptr, samples.length, events, MAX_EVENTS));
    },
    flush() {
      return readEvents(m._sd_vad_flush(h, events, MAX_EVENTS));
    },
    reset() {
      m._sd_vad_reset(h);
    },
    level() {
      m._sd_vad_state(h, state);
      const s = m.HEAPF64.subarray(state >> 3, (state >> 3) + 5);
      return { peakDb: s[0], noiseDb: s[1], inSpeech: s[2] === 1 };
    },
    valleys(samples) {
      const ptr = stage(samples);
      const max = 16;
      const out = m._malloc(max * 3 * 8);
      try {
        // 6 dB dips, pieces of at least 250 ms: a digit is rarely shorter, a pause between digits rarely shallower.
        const n = Math.min(max, m._sd_find_valleys(ptr, samples.length, sampleRate, 6, 250, out, max));
        const cuts: number[] = [];
        for (let i = 0; i < n; i++) cuts.push(m.HEAPF64[(out >> 3) + 3 * i]);
        return cuts.sort((a, b) => a - b);
      } finally {
        m._free(out);
      }
    },
    dispose() {
      m._sd_vad_destroy(h);
      m._free(events);
      m._free(state);
      if (input) m._free(input);
    },
  };
}
