export { exportToOnnx, buildMetadataProps, type ExportMetadata, type ExportOptions } from './export.js';
export { registerLayerConverter, supportedLayerClasses, type LayerContext, type LayerConverter } from './layers.js';
export type { Val } from './emitter.js';
