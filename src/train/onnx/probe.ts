import { MODEL_OUTPUT_NAME } from '../../model/metadata.js';
import type { BackendChoice } from '../../features/index.js';
import { type AudioInput, DigitRecognizer } from '../../model/recognizer.js';
import { withGraphOutputs } from './graph.js';

/**
 * Each input's class probabilities and the named inner values of the model (e.g. its members'
 * pooled embeddings), fed as the recognizer feeds the model: the names become extra graph outputs
 * of a copy of the model (inputs heard at `voiceShift`, default 1). One row per input: [probabilities, ...values in `names` order].
 */
export async function probeModel(model: Uint8Array, names: readonly string[], inputs: readonly AudioInput[], options: { backend?: BackendChoice; voiceShift?: number } = {}): Promise<Float32Array[][]> {
  const recognizer = await DigitRecognizer.load({ model: withGraphOutputs(model, names), backend: options.backend, voiceShift: options.voiceShift });
  const rows: Float32Array[][] = [];
  try {
    for (let i = 0; i < inputs.length; i += 64) rows.push(...(await recognizer.graphOutputs(inputs.slice(i, i + 64), [MODEL_OUTPUT_NAME, ...names])));
  } finally {
    await recognizer.dispose();
  }
  return rows;
}
