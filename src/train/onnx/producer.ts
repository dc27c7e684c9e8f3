import { name, version } from '../../../package.json';

/** What a model this package writes (exported or fused) says made it: ONNX's producer_name and producer_version. */
export const PRODUCER = { producer: name, producerVersion: version };
