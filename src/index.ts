export * from './errors.js';
export * from './features/config.js';
export type { FeatureBackend, FeatureExtractor, FeatureMatrix } from './features/backend.js';
