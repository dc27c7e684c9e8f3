import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../errors.js';
import { type FeatureConfig, featureDimension, resolveFeatureConfig } from '../../features/config.js';
import { METADATA_FORMAT_VERSION, METADATA_KEYS, MODEL_INPUT_NAME, MODEL_OUTPUT_NAME, OPTIONAL_METADATA_KEYS, type SpeechTrim } from '../../model/metadata.js';
import { Emitter, type Val } from './emitter.js';
import { type Graph, OPSET, encodeModel, int, producers } from './graph.js';
import { type LayerContext, emitActivation, layerConverter, supportedLayerClasses } from './layers.js';
import { identity } from './layout.js';
import { optimizeGraph } from './optimize.js';
// The zoo's custom layers (transformer) register their converters on import.
import './zoo-layers.js';
import { PRODUCER } from './producer.js';

/** What goes into the model file's metadata_props besides the graph (see src/model/metadata.ts). */
export interface ExportMetadata {
  featureConfig: FeatureConfig;
  labels: string[];
  /** Zoo architecture name: mlp | cnn | dscnn | resnet-se | transformer | ensemble | ... */
  modelType: string;
  precision?: 'fp32' | 'int8';
  rejection?: { threshold: number };
  training?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  /** Set when the model was trained on clips cut to their speech (inference then cuts them alike). */
  speechTrim?: SpeechTrim | null;
}

export interface ExportOptions {
  /**
   * Whether the tfjs model already ends in softmax. 'auto' (default) looks at the last op and
   * appends a Softmax when the model outputs logits.
   */
  output?: 'auto' | 'probabilities' | 'logits';
}

export function buildMetadataProps(meta: ExportMetadata): Record<string, string> {
  const props: Record<string, string> = {
    [METADATA_KEYS.formatVersion]: String(METADATA_FORMAT_VERSION),
    [METADATA_KEYS.featureConfig]: JSON.stringify(meta.featureConfig),
    [METADATA_KEYS.labels]: JSON.stringify(meta.labels),
    [METADATA_KEYS.modelType]: meta.modelType,
    [METADATA_KEYS.precision]: meta.precision ?? 'fp32',
    [METADATA_KEYS.rejection]: JSON.stringify(meta.rejection ?? { threshold: 0 }),
    [METADATA_KEYS.training]: JSON.stringify(meta.training ?? {}),
    [METADATA_KEYS.metrics]: JSON.stringify(meta.metrics ?? {}),
  };
  if (meta.speechTrim) {
    const { dropDb, marginMs, keepWithinDb } = meta.speechTrim;
    props[OPTIONAL_METADATA_KEYS.speechTrim] = JSON.stringify({ dropDb, marginMs, keepWithinDb: keepWithinDb ?? 0 });
  }
  return props;
}

function checkMetadata(meta: ExportMetadata): FeatureConfig {
  const config = resolveFeatureConfig(meta.featureConfig);
  const labels = meta.labels;
  if (!Array.isArray(labels) || labels.length < 2 || labels.some((l) => typeof l !== 'string' || l.length === 0))
    throw new ModelError('export metadata: labels must be an array of at least two non-empty strings, e.g. ["0",...,"9"]');
  if (new Set(labels).size !== labels.length) throw new ModelError(`export metadata: labels must be unique, got ${JSON.stringify(labels)}`);
  if (!meta.modelType || typeof meta.modelType !== 'string') throw new ModelError('export metadata: modelType (the zoo architecture name) is required');
  const t = meta.rejection?.threshold;
  if (t !== undefined && !(t >= 0 && t <= 1)) throw new ModelError(`export metadata: rejection.threshold ${t} must be in [0, 1]`);
  return config;
}

const shapeOf = (s: (number | null)[]): number[] => s.map((d) => (d == null ? -1 : d));

/**
 * Walks a (possibly nested, branched) LayersModel from its outputs back to its inputs and emits
 * each layer call once. Nested models (ensembles, Sequential blocks) are walked recursively.
 */
class Walker {
  private done = new Map<string, Val[]>();
  private nested = 0;
  constructor(private em: Emitter) {}

  model(model: tf.LayersModel, inputs: Val[]): Val[] {
    const prefix = `m${this.nested++}`;
    const bound = new Map<tf.SymbolicTensor, Val>();
    model.inputs.forEach((t, i) => bound.set(t, inputs[i]));
    const visit = (t: tf.SymbolicTensor): Val => {
      const b = bound.get(t);
      if (b) return b;
      const layer = t.sourceLayer;
      const node = layer.inboundNodes[t.nodeIndex];
      const key = `${prefix}/${layer.name}/${t.nodeIndex}`;
      let outs = this.done.get(key);
      if (!outs) {
        const ins = node.inputTensors.map(visit);
        outs = this.layer(layer, ins, node.outputTensors.map((o) => shapeOf(o.shape)));
        this.done.set(key, outs);
      }
      return outs[t.tensorIndex];
    };
    return model.outputs.map(visit);
  }

  private layer(layer: tf.layers.Layer, inputs: Val[], outputShapes: number[][]): Val[] {
    const cls = layer.getClassName();
    if (layer instanceof tf.LayersModel) return this.model(layer, inputs);
    if (cls === 'InputLayer') return inputs;
    const fn = layerConverter(cls);
    if (!fn)
      throw new ModelError(
        `cannot export layer '${layer.name}': class ${cls} is not supported. Supported: ${supportedLayerClasses().join(', ')}. ` +
          'Custom layers can be taught with registerLayerConverter().',
      );
    const config = layer.getConfig() as Record<string, unknown>;
    const em = this.em;
    const ctx: LayerContext = {
      layer,
      config,
      inputs,
      outputShapes,
      em,
      weight(short) {
        const w = layer.weights.find((v) => v.name.split('/').pop()?.replace(/_\d+$/, '') === short || v.name.split('/').pop() === short);
        if (!w) return null;
        return { data: Float32Array.from(w.read().dataSync() as Float32Array), shape: [...w.shape] as number[] };
      },
      activation(v, name) {
        return emitActivation(em, v, name, `${layer.name}_act`, `layer '${layer.name}' (${cls})`);
      },
    };
    return fn(ctx);
  }
}

/** Whether a value is already a probability distribution (softmax, or an average of softmaxes). */
function endsInSoftmax(g: Graph, name: string): boolean {
  const prod = producers(g);
  const isProb = (n: string, depth: number): boolean => {
    const p = prod.get(n);
    if (!p || depth > 4) return false;
    if (p.op === 'Softmax') return true;
    if (p.op === 'Mean' || p.op === 'Identity') return p.inputs.every((i) => isProb(i, depth + 1));
    return false;
  };
  return isProb(name, 0);
}

/**
 * Converts a trained tfjs LayersModel to ONNX bytes that follow the model contract: input
 * "features" float32 [batch, numFrames, dims], output "probabilities" [batch, nLabels] (softmax in
 * the graph), opset 17, metadata_props from `metadata`.
 */
export function exportToOnnx(model: tf.LayersModel, metadata: ExportMetadata, options: ExportOptions = {}): Uint8Array {
  const config = checkMetadata(metadata);
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new ModelError(`the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; export needs exactly one of each`);
  const tfIn = shapeOf(model.inputs[0].shape);
  const tfOut = shapeOf(model.outputs[0].shape);
  const dims = featureDimension(config);
  const frames = config.numFrames > 0 ? config.numFrames : -1;
  const featureCount = tfIn.slice(1).reduce((a, b) => a * b, 1);
  if (frames > 0 && featureCount !== frames * dims)
    throw new ModelError(
      `the model input [${tfIn.slice(1)}] does not hold numFrames x dims = ${frames} x ${dims} features of the feature config; ` +
        'export with the feature config the model was trained on',
    );
  if (tfOut.length !== 2 || tfOut[1] !== metadata.labels.length)
    throw new ModelError(`the model output [${tfOut.slice(1)}] does not match the ${metadata.labels.length} labels; it must be [batch, nLabels]`);

  const graph: Graph = { name: metadata.modelType, nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  const em = new Emitter(graph);
  em.names.reserve(MODEL_INPUT_NAME);
  em.names.reserve(MODEL_OUTPUT_NAME);
  graph.inputs.push({ name: MODEL_INPUT_NAME, type: 'float', shape: ['batch', frames > 0 ? frames : 'frames', dims] });

  // The contract input is [batch, frames, dims]; models that take another arrangement of the same
  // numbers (e.g. [frames, dims, 1] or flat) get one Reshape.
  let input: Val = { name: MODEL_INPUT_NAME, tfShape: [-1, frames, dims], perm: [0, 1, 2] };
  const sameShape = tfIn.length === 3 && tfIn[2] === dims && (tfIn[1] === frames || tfIn[1] === -1);
  if (!sameShape) {
    if (tfIn.slice(1).some((d) => d < 0)) throw new ModelError(`the model input [${tfIn.slice(1)}] must be static to be reshaped from [frames, dims]`);
    const shape = em.int64Const('input_shape', [0, ...tfIn.slice(1)]);
    input = { name: em.one('Reshape', [MODEL_INPUT_NAME, shape], {}, 'features_reshaped'), tfShape: tfIn, perm: identity(tfIn.length) };
  }

  const walker = new Walker(em);
  let out = em.plain(walker.model(model, [input])[0]);
  const hasSoftmax = endsInSoftmax(graph, out.name);
  // Said to be logits where the graph ends in softmax, it would get a second one: flat probabilities that reject nearly everything.
  if (options.output === 'logits' && hasSoftmax) throw new ModelError("the model already ends in softmax: output 'logits' would apply it twice; export with 'auto' or 'probabilities'");
  const wantSoftmax = options.output === 'logits' || ((options.output ?? 'auto') === 'auto' && !hasSoftmax);
  if (wantSoftmax) out = { ...out, name: em.one('Softmax', [out.name], { axis: int(-1) }, 'softmax') };
  const last = producers(graph).get(out.name);
  if (!last) throw new ModelError('the model output is its input; there is nothing to export');
  // Name the final value after the contract; anything else reading it reads the renamed value.
  for (const n of graph.nodes) n.inputs = n.inputs.map((i) => (i === out.name ? MODEL_OUTPUT_NAME : i));
  last.outputs = last.outputs.map((o) => (o === out.name ? MODEL_OUTPUT_NAME : o));
  graph.outputs.push({ name: MODEL_OUTPUT_NAME, type: 'float', shape: ['batch', metadata.labels.length] });

  optimizeGraph(graph);
  return encodeModel({ graph, opset: OPSET, metadata: buildMetadataProps({ ...metadata, featureConfig: config }), ...PRODUCER });
}
