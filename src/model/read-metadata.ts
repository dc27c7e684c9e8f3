import { readFile } from 'node:fs/promises';
import onnxProto, { type onnx as pb } from 'onnx-proto';
import { ModelError } from '../errors.js';
import { type FeatureConfig, resolveFeatureConfig } from '../features/config.js';
import { METADATA_FORMAT_VERSION, METADATA_KEYS, MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from './metadata.js';

const { onnx } = onnxProto;

/** The parsed, checked metadata_props of a spoken-digits model file. */
export interface ModelMetadata {
  formatVersion: number;
  featureConfig: FeatureConfig;
  labels: string[];
  modelType: string;
  precision: 'fp32' | 'int8';
  rejection: { threshold: number };
  training: Record<string, unknown>;
  metrics: Record<string, unknown>;
  /** ONNX opset of the default domain. */
  opset: number;
}

function parseJson(key: string, text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelError(`${source}: metadata '${key}' is not valid JSON (${(err as Error).message}); re-export the model`, { cause: err });
  }
}

/**
 * Reads and checks the spoken-digits metadata of an ONNX model. `source` names the file in
 * messages. Throws ModelError when the bytes are not ONNX, the graph does not have the contract's
 * input/output, or a metadata key is missing or malformed.
 */
export function parseModelMetadata(bytes: Uint8Array, source = 'model'): ModelMetadata {
  let proto: pb.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelError(`${source} is not an ONNX model (${(err as Error).message}); pass a .onnx file made by \`digits export\``, { cause: err });
  }
  if (!proto.graph || !proto.graph.node?.length || !proto.opsetImport?.length)
    throw new ModelError(`${source} is not an ONNX model (no graph); pass a .onnx file made by \`digits export\``);
  const props = new Map((proto.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const missing = Object.values(METADATA_KEYS).filter((k) => !props.has(k));
  if (missing.length)
    throw new ModelError(
      `${source} is an ONNX model without spoken-digits metadata (missing ${missing.join(', ')}); export it with \`digits export\`, which records the feature config and labels`,
    );
  const get = (k: string) => props.get(k) as string;
  const formatVersion = Number(get(METADATA_KEYS.formatVersion));
  if (formatVersion !== METADATA_FORMAT_VERSION)
    throw new ModelError(`${source}: metadata format version ${get(METADATA_KEYS.formatVersion)} is not supported (expected ${METADATA_FORMAT_VERSION}); update spoken-digits or re-export`);
  const featureConfig = resolveFeatureConfig(parseJson(METADATA_KEYS.featureConfig, get(METADATA_KEYS.featureConfig), source) as Partial<FeatureConfig>);
  const labels = parseJson(METADATA_KEYS.labels, get(METADATA_KEYS.labels), source);
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === 'string'))
    throw new ModelError(`${source}: metadata labels must be a JSON array of strings`);
  const precision = get(METADATA_KEYS.precision);
  if (precision !== 'fp32' && precision !== 'int8') throw new ModelError(`${source}: metadata precision '${precision}' must be fp32 or int8`);
  const rejection = parseJson(METADATA_KEYS.rejection, get(METADATA_KEYS.rejection), source) as { threshold?: unknown };
  if (typeof rejection?.threshold !== 'number') throw new ModelError(`${source}: metadata rejection must be {"threshold": number}`);
  const inputs = (proto.graph.input ?? []).map((i) => i.name);
  const outputs = (proto.graph.output ?? []).map((o) => o.name);
  if (!inputs.includes(MODEL_INPUT_NAME) || !outputs.includes(MODEL_OUTPUT_NAME))
    throw new ModelError(`${source}: the graph must have input '${MODEL_INPUT_NAME}' and output '${MODEL_OUTPUT_NAME}', it has inputs [${inputs}] and outputs [${outputs}]`);
  const opsetEntry = proto.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    formatVersion,
    featureConfig,
    labels: labels as string[],
    modelType: get(METADATA_KEYS.modelType),
    precision,
    rejection: { threshold: rejection.threshold },
    training: parseJson(METADATA_KEYS.training, get(METADATA_KEYS.training), source) as Record<string, unknown>,
    metrics: parseJson(METADATA_KEYS.metrics, get(METADATA_KEYS.metrics), source) as Record<string, unknown>,
    opset: Number(opsetEntry?.version ?? 0),
  };
}

/** parseModelMetadata for a file path or bytes. */
export async function readModelMetadata(pathOrBytes: string | Uint8Array): Promise<ModelMetadata> {
  if (typeof pathOrBytes !== 'string') return parseModelMetadata(pathOrBytes);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(pathOrBytes);
  } catch (err) {
    throw new ModelError(`cannot read model file ${pathOrBytes}: ${(err as Error).message}`, { cause: err });
  }
  return parseModelMetadata(bytes, pathOrBytes);
}
