import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../errors.js';

/** Resolves a tfjs model directory or model.json path to the model.json path. */
export async function modelJsonPath(dirOrJson: string): Promise<string> {
  let s;
  try {
    s = await stat(dirOrJson);
  } catch {
    throw new ModelError(`tfjs model not found: ${dirOrJson} (pass a directory holding model.json, or the model.json itself)`);
  }
  return s.isDirectory() ? path.join(dirOrJson, 'model.json') : dirOrJson;
}

/**
 * Loads a tfjs LayersModel saved as model.json + weight shards from the local file system
 * (tfjs itself only loads files over HTTP or with tfjs-node, which this project does not need).
 */
export async function loadLayersModelFromFiles(dirOrJson: string): Promise<tf.LayersModel> {
  const jsonPath = await modelJsonPath(dirOrJson);
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
  } catch (err) {
    throw new ModelError(`cannot read tfjs model ${jsonPath}: ${(err as Error).message}`, { cause: err });
  }
  if (!json || typeof json !== 'object' || !json.modelTopology)
    throw new ModelError(`${jsonPath} is not a tfjs LayersModel model.json (no modelTopology)`);
  const dir = path.dirname(jsonPath);
  const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs = manifest.flatMap((g) => g.weights);
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest)
      for (const p of group.paths) {
        try {
          const b = await readFile(path.join(dir, p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        } catch (err) {
          throw new ModelError(`weight file ${p} of ${jsonPath} cannot be read: ${(err as Error).message}`, { cause: err });
        }
      }
    return [specs, tf.io.concatenateArrayBuffers(buffers)];
  });
  // The zoo's custom layers (transformer) must be registered before deserializing.
  await import('../zoo.js');
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new ModelError(
      `cannot build the tfjs model from ${jsonPath}: ${(err as Error).message}` +
        (/Unknown layer/i.test((err as Error).message) ? ' (a custom layer class must be registered before loading)' : ''),
      { cause: err },
    );
  }
}
