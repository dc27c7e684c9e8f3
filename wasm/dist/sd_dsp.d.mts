// Types for sd_dsp.mjs (built by wasm/build.sh from native/dsp; C API in native/dsp/sd_dsp.h).
export interface SdDspModule {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPF32: Float32Array;
  HEAPF64: Float64Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _sd_extractor_create(params: number, nParams: number, err: number): number;
  _sd_extractor_destroy(ex: number): void;
  _sd_extractor_dims(ex: number): number;
  _sd_extractor_frames(ex: number, nSamples: number): number;
  _sd_extractor_compute(ex: number, samples: number, nSamples: number, out: number, outCapacity: number, err: number): number;
  _sd_resampler_create(fromRate: number, toRate: number, err: number): number;
  _sd_resampler_destroy(rs: number): void;
  _sd_resampler_output_length(rs: number, nSamples: number): number;
  _sd_resampler_process(rs: number, input: number, nIn: number, out: number, outCapacity: number, err: number): number;
  _sd_wsola_stretch(input: number, nIn: number, sampleRate: number, out: number, outLength: number, err: number): number;
  _sd_wsola_max_samples(): number;
  [name: `_${string}`]: ((...args: number[]) => number) | unknown;
}
declare function createSdDsp(overrides?: Record<string, unknown>): Promise<SdDspModule>;
export default createSdDsp;
