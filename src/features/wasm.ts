// Browser-safe: the kiosk bundles this file with Vite, so no Node imports here or in what it imports.
import createSdDsp, { type SdDspModule } from '../../wasm/dist/sd_dsp.mjs';
import { BackendUnavailableError, SpokenDigitsError } from '../errors.js';
import type { FeatureBackend, FeatureExtractor, FeatureMatrix } from './backend.js';
import { asSamples, checkRates, checkStretch, coreError, encodeFeatureConfig } from './core-abi.js';
import type { FeatureConfig } from './config.js';

const ERROR_STRUCT_BYTES = 4 + 256; // sd_error: int32 code + char message[256]

/** The instantiated core plus one reusable sd_error slot (JS is single-threaded per module). */
class WasmCore {
  readonly err: number;
  private readonly decoder = new TextDecoder();

  constructor(readonly m: SdDspModule) {
    this.err = m._malloc(ERROR_STRUCT_BYTES);
  }

  error(): SpokenDigitsError {
    const heap = this.m.HEAPU8;
    const status = this.m.HEAP32[this.err >> 2];
    const start = this.err + 4;
    let end = start;
    while (end < start + 256 && heap[end] !== 0) end++;
    return coreError(status, this.decoder.decode(heap.subarray(start, end)));
  }

  /** malloc that reports exhaustion as an error instead of returning 0. */
  alloc(bytes: number): number {
    const ptr = this.m._malloc(Math.max(bytes, 4));
    if (!ptr) throw new SpokenDigitsError('ERR_DSP_CORE', `wasm heap exhausted allocating ${bytes} bytes`);
    return ptr;
  }

  /** Copies samples into a heap buffer, growing it when needed; returns the (possibly new) buffer. */
  stage(samples: Float32Array, buf: { ptr: number; capacity: number }): void {
    if (samples.length > buf.capacity) {
      if (buf.ptr) this.m._free(buf.ptr);
      buf.ptr = 0;
      buf.capacity = 0;
      buf.ptr = this.alloc(samples.length * 4);
      buf.capacity = samples.length;
    }
    this.m.HEAPF32.set(samples, buf.ptr >> 2);
  }
}

let corePromise: Promise<WasmCore> | undefined;

async function loadCore(): Promise<WasmCore> {
  corePromise ??= createSdDsp().then(
    (m) => new WasmCore(m),
    (err: unknown) => {
      corePromise = undefined;
      throw new BackendUnavailableError(`wasm feature backend failed to load: ${(err as Error)?.message ?? err}`, { cause: err });
    },
  );
  return corePromise;
}

class WasmExtractor implements FeatureExtractor {
  private ex: number;
  private readonly dims: number;
  private readonly input = { ptr: 0, capacity: 0 };
  private readonly output = { ptr: 0, capacity: 0 };

  constructor(private readonly core: WasmCore, readonly config: FeatureConfig) {
    const params = encodeFeatureConfig(config);
    const m = core.m;
    const p = core.alloc(params.length * 8);
    try {
      m.HEAPF64.set(params, p >> 3);
      this.ex = m._sd_extractor_create(p, params.length, core.err);
    } finally {
      m._free(p);
    }
    if (!this.ex) throw core.error();
    this.dims = m._sd_extractor_dims(this.ex);
  }

  compute(samples: Float32Array): FeatureMatrix {
    if (!this.ex) throw new SpokenDigitsError('ERR_DISPOSED', 'feature extractor was disposed; create a new one');
    asSamples(samples);
    const { core } = this;
    const m = core.m;
    const frames = m._sd_extractor_frames(this.ex, samples.length);
    if (frames <= 0) {
      // Let the core say what is wrong with this input (empty, too long).
      m._sd_extractor_compute(this.ex, 0, Math.min(samples.length, 0x7fffffff), 0, 0, core.err);
      throw core.error();
    }
    core.stage(samples, this.input);
    const count = frames * this.dims;
    if (count > this.output.capacity) {
      if (this.output.ptr) m._free(this.output.ptr);
      this.output.ptr = 0;
      this.output.ptr = core.alloc(count * 4);
      this.output.capacity = count;
    }
    const written = m._sd_extractor_compute(this.ex, this.input.ptr, samples.length, this.output.ptr, count, core.err);
    if (written < 0) throw core.error();
    // HEAPF32 is re-read after the call: memory growth replaces the view.
    const data = m.HEAPF32.slice(this.output.ptr >> 2, (this.output.ptr >> 2) + written * this.dims);
    return { data, frames: written, dims: this.dims };
  }

  dispose(): void {
    const m = this.core.m;
    if (this.ex) m._sd_extractor_destroy(this.ex);
    if (this.input.ptr) m._free(this.input.ptr);
    if (this.output.ptr) m._free(this.output.ptr);
    this.ex = 0;
    this.input.ptr = this.output.ptr = 0;
    this.input.capacity = this.output.capacity = 0;
  }
}

/** The feature backend running the C++ core compiled to WebAssembly (Node 20 and browsers). */
export async function createWasmBackend(): Promise<FeatureBackend> {
  const core = await loadCore();
  const m = core.m;
  const resamplers = new Map<string, number>();
  const input = { ptr: 0, capacity: 0 };
  const wsolaMaxSamples = m._sd_wsola_max_samples();
  return {
    name: 'wasm',
    createExtractor: (config) => new WasmExtractor(core, config),
    resample(samples, fromRate, toRate) {
      asSamples(samples);
      checkRates(fromRate, toRate);
      if (fromRate === toRate) return samples;
      const key = `${fromRate}:${toRate}`;
      let rs = resamplers.get(key);
      if (!rs) {
        rs = m._sd_resampler_create(fromRate, toRate, core.err);
        if (!rs) throw core.error();
        resamplers.set(key, rs);
      }
      const nOut = m._sd_resampler_output_length(rs, samples.length);
      if (samples.length === 0 || nOut <= 0) {
        m._sd_resampler_process(rs, 0, samples.length, 0, 0, core.err);
        throw core.error();
      }
      core.stage(samples, input);
      const out = core.alloc(nOut * 4);
      try {
        const written = m._sd_resampler_process(rs, input.ptr, samples.length, out, nOut, core.err);
        if (written < 0) throw core.error();
        return m.HEAPF32.slice(out >> 2, (out >> 2) + written);
      } finally {
        m._free(out);
      }
    },
    wsolaStretch(samples, outLength, sampleRate) {
      checkStretch(samples, outLength, sampleRate, wsolaMaxSamples);
      core.stage(samples, input);
      const out = core.alloc(outLength * 4);
      try {
        if (m._sd_wsola_stretch(input.ptr, samples.length, sampleRate, out, outLength, core.err) < 0) throw core.error();
        return m.HEAPF32.slice(out >> 2, (out >> 2) + outLength);
      } finally {
        m._free(out);
      }
    },
  };
}
