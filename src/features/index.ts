import { BackendUnavailableError, checkOptions } from '../errors.js';
import type { FeatureBackend } from './backend.js';

export type BackendChoice = 'auto' | 'native' | 'wasm';

export interface LoadFeatureBackendOptions {
  /**
   * 'auto' (default): the environment variable SPOKEN_DIGITS_BACKEND (auto|native|wasm) when it is
   * set, else the native addon when it loads, else WebAssembly. 'native' or 'wasm' force one.
   */
  backend?: BackendChoice;
}

function envChoice(): BackendChoice | undefined {
  const v = typeof process !== 'undefined' ? process.env?.SPOKEN_DIGITS_BACKEND : undefined;
  if (v === undefined || v === '') return undefined;
  if (v === 'auto' || v === 'native' || v === 'wasm') return v;
  throw new BackendUnavailableError(`SPOKEN_DIGITS_BACKEND='${v}' is not a backend; use auto, native or wasm`);
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** Loads the feature backend: native addon when available (in Node), WebAssembly otherwise. */
export async function loadFeatureBackend(options: LoadFeatureBackendOptions = {}): Promise<FeatureBackend> {
  checkOptions(options, ['backend'], 'loadFeatureBackend', `loadFeatureBackend({ backend: ${JSON.stringify(options)} })`);
  const choice = options.backend === undefined || options.backend === 'auto' ? (envChoice() ?? 'auto') : options.backend;
  if (choice !== 'auto' && choice !== 'native' && choice !== 'wasm') {
    throw new BackendUnavailableError(`backend '${String(choice)}' is not a backend; use auto, native or wasm`);
  }
  if (choice === 'wasm') return (await import('./wasm.js')).createWasmBackend();
  if (choice === 'native') {
    if (!isNode) throw new BackendUnavailableError('the native feature backend needs Node.js; use { backend: "wasm" } in browsers');
    return (await import('./native.js')).createNativeBackend();
  }
  if (isNode) {
    try {
      return (await import('./native.js')).createNativeBackend();
    } catch (err) {
      // By code, not instanceof: a second copy of errors.ts (ESM and CJS builds side by side, or a
      // test loader) must not turn "no addon here" into a crash instead of the wasm fallback.
      if ((err as { code?: unknown })?.code !== 'ERR_BACKEND_UNAVAILABLE') throw err;
    }
  }
  return (await import('./wasm.js')).createWasmBackend();
}

export type { FeatureBackend, FeatureExtractor, FeatureMatrix } from './backend.js';
