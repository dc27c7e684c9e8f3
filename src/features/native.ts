import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { BackendUnavailableError, SpokenDigitsError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { FeatureBackend, FeatureExtractor, FeatureMatrix } from './backend.js';
import { asSamples, checkRates, checkStretch, coreError, encodeFeatureConfig, FEATURE_PARAM_COUNT } from './core-abi.js';
import type { FeatureConfig } from './config.js';

/** The typed surface of build/Release/spoken_digits.node (native/addon/features_binding.cpp). */
export interface NativeBinding {
  Extractor: new (params: Float64Array) => NativeExtractorHandle;
  Resampler: new (fromRate: number, toRate: number) => NativeResamplerHandle;
  wsolaStretch(samples: Float32Array, outLength: number, sampleRate: number): Float32Array;
  WSOLA_MAX_SAMPLES: number;
  hasCapture: boolean;
  /** Absent from addons built before stop 34 (a prebuilt one may be older than the library). */
  releaseFreeMemory?: () => boolean;
  /** How many fixed feature parameters the addon's core reads (SD_P_COUNT). */
  SD_P_COUNT: number;
  [other: string]: unknown;
}
interface NativeExtractorHandle {
  compute(samples: Float32Array): Float32Array;
  dims(): number;
  dispose(): void;
}
interface NativeResamplerHandle {
  process(samples: Float32Array): Float32Array;
  dispose(): void;
}

const ADDON_FILE = 'spoken_digits.node';

/** Names the addon file to load instead of looking for one (e.g. to try a prebuilt one beside a local build). */
export const ADDON_ENV = 'SPOKEN_DIGITS_ADDON';

/**
 * Where the addon may be, in order: a local build, then the prebuilt binary for this platform
 * (scripts/prebuild.sh; it loads PortAudio at run time). $SPOKEN_DIGITS_ADDON alone when set.
 */
function nativeAddonCandidates(): string[] {
  const given = process.env[ADDON_ENV];
  if (given) return [resolve(given)];
  let root: string;
  try {
    root = packageRoot();
  } catch (err) {
    throw new BackendUnavailableError(`native backend: ${(err as Error).message}`, { cause: err });
  }
  const platformArch = `${process.platform}-${process.arch}`;
  return [join(root, 'build', 'Release', ADDON_FILE), join(root, 'prebuilds', platformArch, ADDON_FILE)];
}

let cached: NativeBinding | undefined;
let cachedPath: string | undefined;

/** The addon file loadNativeBinding() loaded, or undefined before it did. */
export function loadedAddonPath(): string | undefined {
  return cachedPath;
}

/**
 * Why an addon cannot serve this version of the library, or null when it can: one built from older
 * sources reads a shorter feature parameter list, and would refuse every config as "invalid".
 */
export function staleAddonReason(binding: Pick<NativeBinding, 'SD_P_COUNT'>): string | null {
  if (binding.SD_P_COUNT === FEATURE_PARAM_COUNT) return null;
  return `built from older sources: its core reads ${String(binding.SD_P_COUNT)} feature parameters, this library passes ${FEATURE_PARAM_COUNT}; rebuild it with \`npm run build:native\``;
}

/** Loads the Node-API addon, or throws BackendUnavailableError listing what was tried and how to fix it. */
export function loadNativeBinding(): NativeBinding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  let candidates: string[];
  try {
    candidates = nativeAddonCandidates();
  } catch (err) {
    throw new BackendUnavailableError(`native backend unavailable: ${(err as Error).message}`, { cause: err });
  }
  for (const file of candidates) {
    if (!existsSync(file)) {
      tried.push(`${file} (not found)`);
      continue;
    }
    try {
      const binding = require(file) as NativeBinding;
      const stale = staleAddonReason(binding);
      if (stale) {
        tried.push(`${file} (${stale})`);
        continue;
      }
      cached = binding;
      cachedPath = file;
      return cached;
    } catch (err) {
      tried.push(`${file} (${(err as Error).message.split('\n')[0]})`);
    }
  }
  throw new BackendUnavailableError(
    `native feature backend unavailable; tried:\n  ${tried.join('\n  ')}\n` +
      'Fix: build it with `npm run build:native` (needs cmake, a C++17 compiler and kissfft sources from ' +
      '`bash scripts/fetch-kissfft.sh`), or use the wasm backend ({ backend: "wasm" } or SPOKEN_DIGITS_BACKEND=wasm).',
  );
}

/**
 * Hands the C heap's free pages back to the system (glibc's malloc_trim, through the addon; see
 * native/addon/memory_binding.cpp), after work that allocated and freed tens of MB (a normalization
 * adaptation's model passes): glibc would otherwise keep them, and the process's resident memory
 * would stay at that peak. Only through an addon already loaded (the native feature backend, or
 * capture), never loading one for it (the wasm backend may be in use because it does not load);
 * false without one, or when nothing was released.
 */
export function releaseFreeMemory(): boolean {
  return cached?.releaseFreeMemory?.() ?? false;
}

function translate(err: unknown): unknown {
  if (err instanceof Error && typeof (err as { sdStatus?: unknown }).sdStatus === 'number') {
    return coreError((err as unknown as { sdStatus: number }).sdStatus, err.message);
  }
  return err;
}

class NativeExtractor implements FeatureExtractor {
  readonly config: FeatureConfig;
  private handle: NativeExtractorHandle | null;
  private readonly dims: number;

  constructor(binding: NativeBinding, config: FeatureConfig) {
    this.config = config;
    try {
      this.handle = new binding.Extractor(encodeFeatureConfig(config));
    } catch (err) {
      throw translate(err);
    }
    this.dims = this.handle.dims();
  }

  compute(samples: Float32Array): FeatureMatrix {
    if (!this.handle) throw new SpokenDigitsError('ERR_DISPOSED', 'feature extractor was disposed; create a new one');
    let data: Float32Array;
    try {
      data = this.handle.compute(asSamples(samples));
    } catch (err) {
      throw translate(err);
    }
    return { data, frames: data.length / this.dims, dims: this.dims };
  }

  dispose(): void {
    this.handle?.dispose();
    this.handle = null;
  }
}

/** The feature backend running the C++ core as a Node-API addon. */
export function createNativeBackend(binding: NativeBinding = loadNativeBinding()): FeatureBackend {
  const resamplers = new Map<string, NativeResamplerHandle>();
  return {
    name: 'native',
    createExtractor: (config) => new NativeExtractor(binding, config),
    resample(samples, fromRate, toRate) {
      asSamples(samples);
      checkRates(fromRate, toRate);
      if (fromRate === toRate) return samples;
      const key = `${fromRate}:${toRate}`;
      try {
        let rs = resamplers.get(key);
        if (!rs) {
          rs = new binding.Resampler(fromRate, toRate);
          resamplers.set(key, rs);
        }
        return rs.process(samples);
      } catch (err) {
        throw translate(err);
      }
    },
    wsolaStretch(samples, outLength, sampleRate) {
      checkStretch(samples, outLength, sampleRate, binding.WSOLA_MAX_SAMPLES);
      try {
        return binding.wsolaStretch(samples, outLength, sampleRate);
      } catch (err) {
        throw translate(err);
      }
    },
  };
}
