import { onnx } from './onnx-codec.js';

/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto, IR version 8) that the exporter writes
 * and the quantizer, ensemble and enrollment tools read back: models, graphs, nodes, attributes of
 * plain values, tensors and value infos (onnx-subset.json). Field numbers are the schema's; fields
 * left out are skipped when decoding (a model that needs them, e.g. a tensor attribute, is refused
 * by graph.ts with a clear message). Each field has explicit presence (proto2's, as ONNX's own
 * schema declares it: a value is written whenever it is set, zero included, so an attribute's i = 0
 * survives) and repeated numbers are packed. TensorTypeProto is the schema's TypeProto.Tensor and
 * DimensionProto its TensorShapeProto.Dimension (message names are not part of the encoding); a
 * dimension's dimValue and dimParam are a oneof: set one.
 *
 * The codec (onnx-codec.js) is static code that protobufjs-cli generated from the schema
 * (`bash scripts/gen-onnx-codec.sh`; test/onnx-codec.test.ts checks it against protobufjs'
 * reflection on the schema): it runs on protobufjs/minimal and compiles nothing at run time, so a
 * page whose Content-Security-Policy forbids eval can edit a model (the kiosk's enrollment).
 * Inference never loads it: it reads what it needs with protobufjs/minimal (src/model).
 */
/** int64 fields decode to Long objects (protobufjs with its `long` dependency), or numbers; they encode from numbers. */
export type Int64 = number | { toNumber(): number };

export interface OperatorSetIdProto {
  domain?: string;
  version?: Int64;
}
export interface StringStringEntryProto {
  key?: string;
  value?: string;
}
export interface AttributeProto {
  name?: string;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  floats?: number[];
  ints?: Int64[];
  docString?: string;
  type?: number;
}
export interface TensorProto {
  dims?: Int64[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: Int64[];
  name?: string;
  rawData?: Uint8Array;
  docString?: string;
  dataLocation?: number;
}
export interface DimensionProto {
  dimValue?: Int64;
  dimParam?: string;
  denotation?: string;
}
export interface TypeProto {
  tensorType?: { elemType?: number; shape?: { dim?: DimensionProto[] } };
  denotation?: string;
}
export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
  docString?: string;
}
export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  attribute?: AttributeProto[];
  docString?: string;
  domain?: string;
}
export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  docString?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  valueInfo?: ValueInfoProto[];
}
export interface ModelProto {
  irVersion?: Int64;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph?: GraphProto;
  opsetImport?: OperatorSetIdProto[];
  metadataProps?: StringStringEntryProto[];
}

/** AttributeProto.AttributeType values for the attribute kinds the graph editor handles. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

/** TensorProto.DataLocation: EXTERNAL keeps a tensor's bytes in a file beside the model. */
export const DATA_LOCATION_EXTERNAL = 1;

/** Encodes a ModelProto (plain object) to ONNX bytes. */
export function encodeModelProto(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Decodes ONNX bytes; throws protobufjs' error on bytes that are not a protobuf message. */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes) as unknown as ModelProto;
}
