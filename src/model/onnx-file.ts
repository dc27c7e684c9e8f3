import protobuf from 'protobufjs/minimal.js';
import { ModelError } from '../errors.js';
import { METADATA_KEYS, METADATA_FORMAT_VERSION, NOT_A_DIGIT_LABEL } from './metadata.js';
import { featureConfigFromJSON, type FeatureConfig } from '../features/config.js';

/** What inference needs from a model file, read from its ONNX metadata_props. */
export interface ModelInfo {
  featureConfig: FeatureConfig;
  labels: string[];
  modelType: string;
  precision: string;
  /** Confidence below this means "not a digit"; 0 when the model carries no calibration. */
  rejectionThreshold: number;
  training: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
  /** Every metadata_props entry as stored. */
  raw: Record<string, string>;
}

// Field numbers of onnx.ModelProto (onnx.proto): only the ones we look at.
const MODEL_IR_VERSION = 1;
const MODEL_GRAPH = 7;
const MODEL_METADATA_PROPS = 14;
const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;

/**
 * Reads ModelProto.metadata_props without decoding the weights (fast, and safe on garbage: any
 * malformed protobuf becomes a ModelError). onnxruntime does not expose metadata_props, so we read
 * the file ourselves.
 */
export function readOnnxMetadataProps(bytes: Uint8Array, source = 'model'): Record<string, string> {
  const props: Record<string, string> = {};
  let sawIrVersion = false;
  let sawGraph = false;
  try {
    const reader = protobuf.Reader.create(bytes);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === MODEL_IR_VERSION && wire === WIRE_VARINT) {
        reader.int64();
        sawIrVersion = true;
      } else if (field === MODEL_GRAPH && wire === WIRE_LENGTH_DELIMITED) {
        reader.skipType(wire);
        sawGraph = true;
      } else if (field === MODEL_METADATA_PROPS && wire === WIRE_LENGTH_DELIMITED) {
        const entry = protobuf.Reader.create(reader.bytes());
        let key = '';
        let value = '';
        while (entry.pos < entry.len) {
          const t = entry.uint32();
          if (t >>> 3 === 1 && (t & 7) === WIRE_LENGTH_DELIMITED) key = entry.string();
          else if (t >>> 3 === 2 && (t & 7) === WIRE_LENGTH_DELIMITED) value = entry.string();
          else entry.skipType(t & 7);
        }
        props[key] = value;
      } else {
        reader.skipType(wire);
      }
    }
  } catch (err) {
    throw new ModelError(`${source} is not an ONNX model (its protobuf structure is invalid)`, { cause: err });
  }
  if (!sawIrVersion || !sawGraph) {
    throw new ModelError(`${source} is not an ONNX model (no ir_version or graph found)`);
  }
  return props;
}

function parseJsonProp<T>(raw: Record<string, string>, key: string, source: string): T | null {
  const text = raw[key];
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ModelError(`${source}: metadata '${key}' is not valid JSON`, { cause: err });
  }
}

/** Parses and checks the spoken-digits metadata of a model file. */
export function readModelInfo(bytes: Uint8Array, source = 'model'): ModelInfo {
  const raw = readOnnxMetadataProps(bytes, source);
  const configText = raw[METADATA_KEYS.featureConfig];
  if (configText === undefined) {
    throw new ModelError(
      `${source} is an ONNX model without spoken-digits metadata ('${METADATA_KEYS.featureConfig}' is missing); ` +
        'export models with `digits export` so they carry their feature configuration',
    );
  }
  const version = raw[METADATA_KEYS.formatVersion];
  if (version !== undefined && Number(version) > METADATA_FORMAT_VERSION) {
    throw new ModelError(`${source} uses metadata format ${version}; this version of spoken-digits reads up to ${METADATA_FORMAT_VERSION} — upgrade spoken-digits`);
  }
  let featureConfig: FeatureConfig;
  try {
    featureConfig = featureConfigFromJSON(configText);
  } catch (err) {
    throw new ModelError(`${source}: its feature configuration is invalid: ${(err as Error).message}`, { cause: err });
  }
  const labels = parseJsonProp<unknown>(raw, METADATA_KEYS.labels, source);
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === 'string')) {
    throw new ModelError(`${source}: metadata '${METADATA_KEYS.labels}' must be a JSON array of label strings`);
  }
  const unknownLabel = labels.find((l) => l !== NOT_A_DIGIT_LABEL && !/^[0-9]$/.test(l));
  if (unknownLabel !== undefined) {
    throw new ModelError(`${source}: label '${unknownLabel}' is neither a digit 0-9 nor '${NOT_A_DIGIT_LABEL}'`);
  }
  const rejection = parseJsonProp<{ threshold?: unknown }>(raw, METADATA_KEYS.rejection, source);
  const threshold = typeof rejection?.threshold === 'number' && rejection.threshold >= 0 && rejection.threshold <= 1 ? rejection.threshold : 0;
  return {
    featureConfig,
    labels: labels as string[],
    modelType: raw[METADATA_KEYS.modelType] ?? 'unknown',
    precision: raw[METADATA_KEYS.precision] ?? 'fp32',
    rejectionThreshold: threshold,
    training: parseJsonProp(raw, METADATA_KEYS.training, source),
    metrics: parseJsonProp(raw, METADATA_KEYS.metrics, source),
    raw,
  };
}
