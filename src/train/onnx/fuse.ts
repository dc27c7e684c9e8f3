import { createHash } from 'node:crypto';
import { ModelError, OptionsError } from '../../errors.js';
import { featureDimension, type FeatureConfig } from '../../features/config.js';
import { METADATA_KEYS, MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '../../model/metadata.js';
import { parseModelMetadata, type ModelMetadata } from '../../model/read-metadata.js';
import { NORM_TARGETS_KEY } from '../../model/norm-adapt.js';
import { type GraphNode, type Initializer, type OnnxModel, decodeModel, encodeModel, sortTopologically } from './graph.js';
import { PRODUCER } from './producer.js';

/**
 * One ONNX model out of several trained members that average their probabilities.
 *
 * Members may differ in feature kind: log-mel or MFCC over the same front end (rate, FFT, window,
 * hop, mel bank, log, frame count). An MFCC is the DCT of the log-mel frame, so the fused model takes
 * the first member's normalized log-mel features and gives every other member its own features
 * through one per-frame affine map (MatMul + Add: undo the first member's normalization, DCT, apply
 * the member's normalization). The result keeps the one-file model contract (one feature config,
 * input "features", output "probabilities"), so the recognizer, the listener and the kiosk run it
 * like any model; features are computed once.
 */

/** Front-end settings every member must share (everything but kind, nMfcc and normalization). */
const SHARED_FRONT_END: (keyof FeatureConfig)[] = [
  'sampleRate', 'nFft', 'winLength', 'hopLength', 'window', 'center', 'padMode', 'preEmphasis', 'power',
  'nMels', 'fMin', 'fMax', 'melScale', 'melNorm', 'log', 'numFrames', 'deltas',
];

export interface FuseOptions {
  /** Names for error messages, one per member (default "member 1", ...). */
  sources?: string[];
}

/** The DSP core's DCT-II (orthonormal, as scipy's dct(norm='ortho')): rows are coefficients. */
function dctMatrix(nOut: number, nIn: number): Float64Array {
  const d = new Float64Array(nOut * nIn);
  for (let k = 0; k < nOut; k++) {
    const scale = Math.sqrt((k === 0 ? 1 : 2) / nIn);
    for (let n = 0; n < nIn; n++) d[k * nIn + n] = scale * Math.cos((Math.PI * k * (2 * n + 1)) / (2 * nIn));
  }
  return d;
}

/**
 * The affine map from the front end's normalized log-mel frame to a member's normalized feature
 * frame: y = x K + b with K [nMels, dims]. Null when it is the identity.
 */
function adapter(front: FeatureConfig, member: FeatureConfig): { kernel: Float32Array; bias: Float32Array; dims: number } | null {
  const nMels = front.nMels;
  const dims = featureDimension(member);
  const transform = member.kind === 'mfcc' ? dctMatrix(dims, nMels) : null; // logmel: identity
  const fm = front.normalization?.mean ?? new Array<number>(nMels).fill(0);
  const fs = front.normalization?.std ?? new Array<number>(nMels).fill(1);
  const mm = member.normalization?.mean ?? new Array<number>(dims).fill(0);
  const ms = member.normalization?.std ?? new Array<number>(dims).fill(1);
  const t = (j: number, m: number) => (transform ? transform[j * nMels + m] : j === m ? 1 : 0);
  const kernel = new Float32Array(nMels * dims);
  const bias = new Float32Array(dims);
  let identity = true;
  for (let j = 0; j < dims; j++) {
    let offset = -mm[j];
    for (let m = 0; m < nMels; m++) {
      const w = t(j, m);
      kernel[m * dims + j] = (w * fs[m]) / ms[j];
      offset += w * fm[m];
      if (Math.abs(kernel[m * dims + j] - (j === m ? 1 : 0)) > 1e-7) identity = false;
    }
    bias[j] = offset / ms[j];
    if (Math.abs(bias[j]) > 1e-7) identity = false;
  }
  return identity ? null : { kernel, bias, dims };
}

function checkCompatible(metas: ModelMetadata[], sources: string[]): void {
  const [first] = metas;
  if (first.featureConfig.kind !== 'logmel')
    throw new ModelError(`${sources[0]}: the first member sets the fused model's features and must be a log-mel model (it is ${first.featureConfig.kind}); list a log-mel member first`);
  metas.forEach((m, i) => {
    const src = sources[i];
    if (m.precision !== 'fp32') throw new ModelError(`${src} is ${m.precision}; fuse the fp32 members, then quantize the fused model`);
    if (m.featureConfig.kind === 'spectrogram') throw new ModelError(`${src}: spectrogram members cannot share a log-mel front end`);
    if (m.featureConfig.deltas !== 0) throw new ModelError(`${src}: members with deltas cannot be fused (deltas ${m.featureConfig.deltas})`);
    for (const key of SHARED_FRONT_END)
      if (JSON.stringify(m.featureConfig[key]) !== JSON.stringify(first.featureConfig[key]))
        throw new ModelError(`${src}: feature setting ${key} ${JSON.stringify(m.featureConfig[key])} differs from ${sources[0]}'s ${JSON.stringify(first.featureConfig[key])}; members must share one front end`);
    if (JSON.stringify(m.labels) !== JSON.stringify(first.labels))
      throw new ModelError(`${src}: labels ${JSON.stringify(m.labels)} differ from ${sources[0]}'s ${JSON.stringify(first.labels)}`);
    if (JSON.stringify(m.speechTrim) !== JSON.stringify(first.speechTrim))
      throw new ModelError(`${src}: speech trim ${JSON.stringify(m.speechTrim)} differs from ${sources[0]}'s ${JSON.stringify(first.speechTrim)}; members must be fed the same clips`);
  });
}

/** One model given as two members: by one file twice, or by two byte-identical files. */
export class DuplicateMemberError extends OptionsError {}

/** Each key given more than once, with the places it was given at (in order). */
export function repeated(keys: readonly string[]): [string, number[]][] {
  const at = new Map<string, number[]>();
  keys.forEach((k, i) => at.set(k, [...(at.get(k) ?? []), i]));
  return [...at].filter(([, places]) => places.length > 1);
}

/**
 * Members that hold the same bytes (a copy, a second download) are one model given twice: their
 * mean is that model at twice its cost, which whoever lists them does not mean. Names each such group.
 */
export function checkDistinctMembers(sources: readonly string[], members: readonly Uint8Array[]): void {
  const same = repeated(members.map((b) => createHash('sha256').update(b).digest('hex')));
  if (same.length === 0) return;
  const names = (at: number[]) => `${at.slice(0, -1).map((i) => sources[i]).join(', ')} and ${sources[at[at.length - 1]]}`;
  throw new DuplicateMemberError(
    `${same.map(([hash, at]) => `${names(at)} are the same model (byte-identical files, sha256 ${hash.slice(0, 12)})`).join('; ')}: ` +
      'an ensemble of one model with itself only doubles its cost; fuse models trained apart (another seed, architecture or features)',
  );
}

/** Fused model type, e.g. "ensemble(resnet-se logmel, resnet-se mfcc)". */
function ensembleModelType(metas: Pick<ModelMetadata, 'modelType' | 'featureConfig'>[]): string {
  return `ensemble(${metas.map((m) => `${m.modelType} ${m.featureConfig.kind}`).join(', ')})`;
}

/** Fuses fp32 member models (ONNX bytes) into one fp32 model; see the module comment. Byte-identical members are refused (DuplicateMemberError). */
export function fuseEnsemble(members: Uint8Array[], options: FuseOptions = {}): Uint8Array {
  if (members.length < 2) throw new ModelError(`an ensemble needs at least two members (got ${members.length})`);
  const sources = members.map((_, i) => options.sources?.[i] ?? `member ${i + 1}`);
  checkDistinctMembers(sources, members);
  const metas = members.map((b, i) => parseModelMetadata(b, sources[i]));
  checkCompatible(metas, sources);
  const front = metas[0].featureConfig;
  const models: OnnxModel[] = members.map((b) => decodeModel(b));
  // One opset for all: a node is only valid at its own (ReduceMean's axes moved from attribute to input at 18).
  const opsets = [...new Set(models.map((m) => m.opset))];
  if (opsets.length > 1) throw new ModelError(`members have different opsets (${models.map((m, i) => `${sources[i]}: ${m.opset}`).join(', ')}); export them at one opset to fuse them`);
  const opset = opsets[0];

  const nodes: GraphNode[] = [];
  const initializers = new Map<string, Initializer>();
  const memberOutputs: string[] = [];
  models.forEach((model, i) => {
    const prefix = `m${i}/`;
    const g = model.graph;
    const rename = (name: string) => (name === '' ? '' : `${prefix}${name}`);
    let input: string = MODEL_INPUT_NAME;
    const map = adapter(front, metas[i].featureConfig);
    if (map) {
      const k = `${prefix}adapter/kernel`;
      const b = `${prefix}adapter/bias`;
      initializers.set(k, { name: k, type: 'float', dims: [front.nMels, map.dims], data: map.kernel });
      initializers.set(b, { name: b, type: 'float', dims: [map.dims], data: map.bias });
      nodes.push({ name: `${prefix}adapter/MatMul`, op: 'MatMul', inputs: [MODEL_INPUT_NAME, k], outputs: [`${prefix}adapter/mapped`], attrs: {} });
      nodes.push({ name: `${prefix}adapter/Add`, op: 'Add', inputs: [`${prefix}adapter/mapped`, b], outputs: [rename(MODEL_INPUT_NAME)], attrs: {} });
      input = rename(MODEL_INPUT_NAME);
    }
    const resolve = (name: string) => (name === MODEL_INPUT_NAME ? input : rename(name));
    for (const init of g.initializers.values()) initializers.set(rename(init.name), { ...init, name: rename(init.name) });
    for (const n of g.nodes) nodes.push({ ...n, name: rename(n.name), inputs: n.inputs.map(resolve), outputs: n.outputs.map(rename) });
    memberOutputs.push(rename(MODEL_OUTPUT_NAME));
  });
  nodes.push({ name: 'ensemble/Mean', op: 'Mean', inputs: memberOutputs, outputs: [MODEL_OUTPUT_NAME], attrs: {} });

  const first = models[0];
  // A member's normalization targets name its own values, which fusing renames: measure them again on the fused model.
  const { [NORM_TARGETS_KEY]: _targets, ...firstMetadata } = first.metadata;
  const metadata: Record<string, string> = {
    ...firstMetadata,
    [METADATA_KEYS.modelType]: ensembleModelType(metas),
    [METADATA_KEYS.rejection]: JSON.stringify({ threshold: Math.max(...metas.map((m) => m.rejection.threshold)) }),
    [METADATA_KEYS.training]: JSON.stringify({ ensemble: 'mean of the members\' probabilities', members: metas.map((m) => ({ modelType: m.modelType, features: m.featureConfig.kind, training: m.training })) }),
    [METADATA_KEYS.metrics]: JSON.stringify({}),
  };
  const fused: OnnxModel = {
    graph: { name: 'ensemble', nodes, initializers, inputs: first.graph.inputs, outputs: first.graph.outputs },
    opset,
    metadata,
    ...PRODUCER,
  };
  sortTopologically(fused.graph);
  return encodeModel(fused);
}
