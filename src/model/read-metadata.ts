import protobuf from 'protobufjs/minimal.js';
import { ModelError } from '../errors.js';
import { type FeatureConfig, resolveFeatureConfig } from '../features/config.js';
import { MAX_VOICE_SHIFT, MIN_VOICE_SHIFT } from '../audio/voice-shift.js';
import { readRegularFile } from '../files.js';
import { MAX_MODEL_BYTES, METADATA_FORMAT_VERSION, METADATA_KEYS, MODEL_INPUT_NAME, MODEL_OUTPUT_NAME, OPTIONAL_METADATA_KEYS, type SpeechTrim } from './metadata.js';

/** The parts of an onnx.ModelProto that inference checks. */
interface ModelOutline {
  metadata: Map<string, string>;
  nodeCount: number;
  inputs: string[];
  outputs: string[];
  /** opset_import entries: domain -> version. */
  opsets: Map<string, number>;
  /** The largest magnitude of the int8 weight initializers' values (2+ dims; 0: none). */
  int8Peak: number;
}

// Field numbers from onnx.proto (ModelProto, GraphProto, ValueInfoProto, OperatorSetIdProto,
// StringStringEntryProto, TensorProto). Reading only these keeps `digits predict` start-up fast: of the
// weights only the int8 initializers are read (their peak; not Constant nodes, sparse initializers,
// subgraphs or external data, which spoken-digits files do not use), and the full ONNX schema is
// never loaded on the inference path.
const LEN = 2;
const VARINT = 0;
const TENSOR_INT8 = 3;

/** The largest magnitude of bytes [from, end) read as int8 (one pass, no calls: a model load reads ~100 KB of them). */
function int8BytesPeak(buf: Uint8Array, from: number, end: number): number {
  let positive = 0;
  let negative = 256;
  for (let i = from; i < end; i++) {
    const b = buf[i];
    if (b < 128) {
      if (b > positive) positive = b;
    } else if (b < negative) negative = b;
  }
  return Math.max(positive, 256 - negative);
}

/**
 * The largest magnitude of an int8 weight TensorProto's values (raw_data or int32_data); 0 for any
 * other type, and for tensors of fewer than 2 dimensions (zero points, which a file made elsewhere may
 * hold asymmetric, are not weights). data_type comes first in a serialized tensor, so values of other
 * types are skipped, not read.
 */
function int8PeakOf(t: protobuf.Reader): number {
  let type = 0;
  let dims = 0;
  let peak = 0;
  const mayBeInt8 = () => type === 0 || type === TENSOR_INT8;
  while (t.pos < t.len) {
    const tag = t.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === VARINT) (t.int64(), dims++);
    else if (field === 1 && wire === LEN) {
      const end = t.uint32() + t.pos;
      for (; t.pos < end; dims++) t.int64();
    } else if (field === 2 && wire === VARINT) type = t.int32();
    else if (field === 9 && wire === LEN) {
      const end = t.uint32() + t.pos;
      // Read in place, not copied.
      if (mayBeInt8()) peak = Math.max(peak, int8BytesPeak(t.buf, t.pos, end));
      t.pos = end;
    } else if (field === 5 && wire === LEN && mayBeInt8()) {
      const end = t.uint32() + t.pos;
      while (t.pos < end) peak = Math.max(peak, Math.abs(t.int32()));
    } else if (field === 5 && wire === VARINT && mayBeInt8()) peak = Math.max(peak, Math.abs(t.int32()));
    else t.skipType(wire);
  }
  return type === TENSOR_INT8 && dims >= 2 ? peak : 0;
}

function readOutline(bytes: Uint8Array): ModelOutline {
  const outline: ModelOutline = { metadata: new Map(), nodeCount: 0, inputs: [], outputs: [], opsets: new Map(), int8Peak: 0 };
  let sawGraph = false;
  const fields = (r: protobuf.Reader, visit: (field: number, wire: number) => boolean) => {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (!visit(tag >>> 3, tag & 7)) r.skipType(tag & 7);
    }
  };
  const sub = (r: protobuf.Reader) => protobuf.Reader.create(r.bytes());
  const nameOf = (r: protobuf.Reader) => {
    let name = '';
    fields(r, (f, w) => (f === 1 && w === LEN ? ((name = r.string()), true) : false));
    return name;
  };
  const model = protobuf.Reader.create(bytes);
  fields(model, (field, wire) => {
    if (wire !== LEN) return false;
    if (field === 7) {
      sawGraph = true;
      const g = sub(model);
      fields(g, (f, w) => {
        if (w !== LEN) return false;
        if (f === 1) (g.skipType(w), outline.nodeCount++);
        else if (f === 11) outline.inputs.push(nameOf(sub(g)));
        else if (f === 12) outline.outputs.push(nameOf(sub(g)));
        else if (f === 5) outline.int8Peak = Math.max(outline.int8Peak, int8PeakOf(sub(g)));
        else return false;
        return true;
      });
    } else if (field === 8) {
      const o = sub(model);
      let domain = '';
      let version = 0;
      fields(o, (f, w) => (f === 1 && w === LEN ? ((domain = o.string()), true) : f === 2 && w === 0 ? ((version = Number(o.int64())), true) : false));
      outline.opsets.set(domain, version);
    } else if (field === 14) {
      const e = sub(model);
      let key = '';
      let value = '';
      fields(e, (f, w) => (w !== LEN ? false : f === 1 ? ((key = e.string()), true) : f === 2 ? ((value = e.string()), true) : false));
      outline.metadata.set(key, value);
    } else return false;
    return true;
  });
  if (!sawGraph) outline.nodeCount = 0;
  return outline;
}

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
  /** How clips are cut to their speech before features; null: the model takes whole clips. */
  speechTrim: SpeechTrim | null;
  /**
   * How the model was personalized to a speaker (`digits enroll`, an EnrollmentRecord); null: it was
   * not. Its voiceShift is the shift recognizers hear every input at unless told otherwise.
   */
  enrollment: ({ voiceShift: number } & Record<string, unknown>) | null;
  /** Whether the file carries normalization targets (speaker adaptation, src/model/norm-adapt.ts). */
  normTargets: boolean;
  /** ONNX opset of the default domain. */
  opset: number;
  /**
   * The largest magnitude of the file's int8 weights (0: none): 63 for 8-bit weights in the reduced
   * range, 127 at the full range, which saturates on x86 CPUs without VNNI (see int8-cpu.ts).
   */
  int8WeightPeak: number;
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
  let outline: ModelOutline;
  try {
    outline = readOutline(bytes);
  } catch (err) {
    throw new ModelError(`${source} is not an ONNX model (${(err as Error).message}); pass a .onnx file made by \`digits export\``, { cause: err });
  }
  if (!outline.nodeCount || !outline.opsets.size)
    throw new ModelError(`${source} is not an ONNX model (no graph); pass a .onnx file made by \`digits export\``);
  const props = outline.metadata;
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
  const { inputs, outputs } = outline;
  if (!inputs.includes(MODEL_INPUT_NAME) || !outputs.includes(MODEL_OUTPUT_NAME))
    throw new ModelError(`${source}: the graph must have input '${MODEL_INPUT_NAME}' and output '${MODEL_OUTPUT_NAME}', it has inputs [${inputs}] and outputs [${outputs}]`);
  let speechTrim: SpeechTrim | null = null;
  if (props.has(OPTIONAL_METADATA_KEYS.speechTrim)) {
    const t = parseJson(OPTIONAL_METADATA_KEYS.speechTrim, get(OPTIONAL_METADATA_KEYS.speechTrim), source) as Partial<SpeechTrim> | null;
    const keepWithinDb = t?.keepWithinDb ?? 0;
    if (
      !t ||
      !(typeof t.dropDb === 'number' && t.dropDb > 0 && t.dropDb <= 120) ||
      !(typeof t.marginMs === 'number' && t.marginMs >= 0 && t.marginMs <= 1000) ||
      !(typeof keepWithinDb === 'number' && keepWithinDb >= 0 && keepWithinDb <= 120)
    )
      throw new ModelError(
        `${source}: metadata speech_trim must be {"dropDb": (0, 120], "marginMs": [0, 1000], "keepWithinDb": [0, 120] (optional)}, got ${get(OPTIONAL_METADATA_KEYS.speechTrim)}`,
      );
    speechTrim = { dropDb: t.dropDb, marginMs: t.marginMs, keepWithinDb };
  }
  let enrollment: ModelMetadata['enrollment'] = null;
  if (props.has(OPTIONAL_METADATA_KEYS.enrollment)) {
    const e = parseJson(OPTIONAL_METADATA_KEYS.enrollment, get(OPTIONAL_METADATA_KEYS.enrollment), source) as Record<string, unknown> | null;
    const shift = e?.voiceShift ?? 1;
    if (!e || typeof e !== 'object' || Array.isArray(e) || !(typeof shift === 'number' && shift >= MIN_VOICE_SHIFT && shift <= MAX_VOICE_SHIFT))
      throw new ModelError(`${source}: metadata enrollment must be a JSON object whose voiceShift is from ${MIN_VOICE_SHIFT} to ${MAX_VOICE_SHIFT}`);
    enrollment = { ...e, voiceShift: shift };
  }
  const opset = outline.opsets.get('') ?? outline.opsets.get('ai.onnx') ?? 0;
  return {
    formatVersion,
    featureConfig,
    labels: labels as string[],
    modelType: get(METADATA_KEYS.modelType),
    precision,
    rejection: { threshold: rejection.threshold },
    training: parseJson(METADATA_KEYS.training, get(METADATA_KEYS.training), source) as Record<string, unknown>,
    metrics: parseJson(METADATA_KEYS.metrics, get(METADATA_KEYS.metrics), source) as Record<string, unknown>,
    speechTrim,
    enrollment,
    normTargets: props.has(OPTIONAL_METADATA_KEYS.normTargets),
    opset,
    int8WeightPeak: outline.int8Peak,
  };
}

/** parseModelMetadata for a file path or bytes. */
export async function readModelMetadata(pathOrBytes: string | Uint8Array): Promise<ModelMetadata> {
  if (typeof pathOrBytes !== 'string') return parseModelMetadata(pathOrBytes);
  const bytes = await readRegularFile(pathOrBytes, MAX_MODEL_BYTES, (why, cause) => new ModelError(`cannot read model file ${pathOrBytes}: ${why}`, { cause }));
  return parseModelMetadata(bytes, pathOrBytes);
}
