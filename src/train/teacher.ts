import { readFile } from 'node:fs/promises';
import { ort } from '../model/ort.js';
import { ModelError } from '../errors.js';
import { featureDimension } from '../features/config.js';
import { MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '../model/metadata.js';
import { type ModelMetadata, parseModelMetadata } from '../model/read-metadata.js';

/**
 * Knowledge distillation (Hinton et al. 2015): a trained model — typically a fused ensemble, more
 * accurate than one network but too big or slow to ship — whose class probabilities on the
 * student's input become part of the student's targets. The trainer gives the teacher the very
 * batch the student sees, augmentation and SpecAugment included ("consistent teaching", Beyer et
 * al. 2022), so the soft targets describe that exact view rather than the clean clip.
 */
export interface Teacher {
  readonly source: string;
  readonly metadata: ModelMetadata;
  /** Class probabilities, [batch x labels] row-major, for features [batch x frames x dims]. */
  predict(features: Float32Array, batch: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/**
 * A spoken-digits ONNX model (fp32 or int8, one model or a fused ensemble) as a teacher, run by
 * ONNX Runtime on the CPU beside the tfjs student. Its metadata fixes the student's features:
 * the teacher only knows its own input, normalization statistics included.
 */
export async function loadOnnxTeacher(file: string): Promise<Teacher> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ModelError(`cannot read the teacher model ${file}: ${(err as Error).message}`, { cause: err });
  }
  const metadata = parseModelMetadata(bytes, file);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  } catch (err) {
    throw new ModelError(`ONNX Runtime cannot load the teacher ${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const frames = metadata.featureConfig.numFrames;
  const dims = featureDimension(metadata.featureConfig);
  const classes = metadata.labels.length;
  return {
    source: file,
    metadata,
    async predict(features: Float32Array, batch: number): Promise<Float32Array> {
      if (features.length !== batch * frames * dims)
        throw new ModelError(`the teacher ${file} takes ${frames}x${dims} features per example; got ${features.length} values for ${batch} examples`);
      const out = await session.run({ [MODEL_INPUT_NAME]: new ort.Tensor('float32', features, [batch, frames, dims]) });
      const probs = out[MODEL_OUTPUT_NAME].data as Float32Array;
      if (probs.length !== batch * classes) throw new ModelError(`the teacher ${file} returned ${probs.length} values for ${batch} examples of ${classes} classes`);
      return probs;
    },
    async dispose(): Promise<void> {
      await session.release();
    },
  };
}
