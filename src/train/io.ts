import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import './zoo.js'; // registers the zoo's custom layers before any model is deserialized

/**
 * tfjs "layers-model" format on the local file system (model.json + weights.bin), which the
 * browser-only build of tfjs we depend on cannot write by itself.
 */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData ? Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData)) : Buffer.alloc(0);
      const json = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      writeAtomic(path.join(dir, 'weights.bin'), weights);
      writeAtomic(path.join(dir, 'model.json'), Buffer.from(JSON.stringify(json)));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
    }),
  );
}

/**
 * A tfjs Layers model from its folder (model.json + weights), from the model.json itself, or from the
 * run folder `digits train` writes (its tfjs/ folder).
 */
export async function loadLayersModel(where: string): Promise<tf.LayersModel> {
  const dir = path.basename(where) === 'model.json' && fs.statSync(where, { throwIfNoEntry: false })?.isFile() ? path.dirname(where) : fs.existsSync(path.join(where, 'model.json')) ? where : path.join(where, 'tfjs');
  const jsonPath = path.join(dir, 'model.json');
  if (!fs.existsSync(jsonPath)) throw new ModelError(`${where} has no model.json (nor tfjs/model.json); pass a \`digits train\` run's folder or its tfjs/ folder`);
  let json: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  } catch (err) {
    throw new ModelError(`${jsonPath} is not valid JSON`, { cause: err });
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

/** Write-then-rename, so an interrupted save never leaves a half-written checkpoint behind. */
export function writeAtomic(file: string, data: Buffer | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * How the weights of `saved` differ in shape from `model`'s (null when they fit): the counts and the
 * first shapes, instead of tfjs' own message, which prints the tensors.
 */
export function weightShapeMismatch(saved: tf.LayersModel, model: tf.LayersModel): string | null {
  const theirs = saved.weights.map((w) => w.shape.join('x'));
  const ours = model.weights.map((w) => w.shape.join('x'));
  if (theirs.join(',') === ours.join(',')) return null;
  return `${theirs.length} weight tensors, the first ${theirs.slice(0, 3).join(', ')}; this model's ${ours.length}, ${ours.slice(0, 3).join(', ')}`;
}
