export * from './errors.js';
export * from './features/config.js';
export type { FeatureBackend, FeatureExtractor, FeatureMatrix } from './features/backend.js';
export * from './audio/index.js';
export * from './data/index.js';
export { readModelMetadata, parseModelMetadata, type ModelMetadata } from './model/read-metadata.js';
export { loadFeatureBackend, type BackendChoice, type LoadFeatureBackendOptions } from './features/index.js';
export { createWasmBackend } from './features/wasm.js';
export { createNativeBackend, loadNativeBinding } from './features/native.js';
