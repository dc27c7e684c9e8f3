import protobuf from 'protobufjs';

/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto, IR version 8) that the exporter writes
 * and the quantizer and ensemble tools read back: models, graphs, nodes, attributes of plain
 * values, tensors and value infos. Field numbers are the schema's; fields left out here are
 * skipped when decoding (a model that needs them, e.g. a tensor attribute, is refused by
 * graph.ts with a clear message). Inference never loads this: it reads what it needs with protobufjs/minimal (src/model).
 */
// Each field with explicit presence (proto2's, as ONNX's own schema declares it: a value is
// written whenever it is set, zero included) and repeated numbers packed. protobufjs takes a field
// described in JSON for proto3, which would drop zeros (an attribute's i = 0), without this.
const NUMBERS = new Set(['int32', 'int64', 'float']);
const one = (type: string, id: number) => ({ type, id, edition: 'proto2' });
const list = (type: string, id: number) => ({ type, id, rule: 'repeated', edition: 'proto2', ...(NUMBERS.has(type) ? { options: { packed: true } } : {}) });
const schema = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: one('int64', 1),
            producerName: one('string', 2),
            producerVersion: one('string', 3),
            domain: one('string', 4),
            modelVersion: one('int64', 5),
            docString: one('string', 6),
            graph: one('GraphProto', 7),
            opsetImport: list('OperatorSetIdProto', 8),
            metadataProps: list('StringStringEntryProto', 14),
          },
        },
        OperatorSetIdProto: { fields: { domain: one('string', 1), version: one('int64', 2) } },
        StringStringEntryProto: { fields: { key: one('string', 1), value: one('string', 2) } },
        GraphProto: {
          fields: {
            node: list('NodeProto', 1),
            name: one('string', 2),
            initializer: list('TensorProto', 5),
            docString: one('string', 10),
            input: list('ValueInfoProto', 11),
            output: list('ValueInfoProto', 12),
            valueInfo: list('ValueInfoProto', 13),
          },
        },
        NodeProto: {
          fields: {
            input: list('string', 1),
            output: list('string', 2),
            name: one('string', 3),
            opType: one('string', 4),
            attribute: list('AttributeProto', 5),
            docString: one('string', 6),
            domain: one('string', 7),
          },
        },
        AttributeProto: {
          fields: {
            name: one('string', 1),
            f: one('float', 2),
            i: one('int64', 3),
            s: one('bytes', 4),
            floats: list('float', 7),
            ints: list('int64', 8),
            docString: one('string', 13),
            type: one('int32', 20),
          },
        },
        TensorProto: {
          fields: {
            dims: list('int64', 1),
            dataType: one('int32', 2),
            floatData: list('float', 4),
            int32Data: list('int32', 5),
            int64Data: list('int64', 7),
            name: one('string', 8),
            rawData: one('bytes', 9),
            docString: one('string', 12),
            dataLocation: one('int32', 14),
          },
        },
        ValueInfoProto: {
          fields: { name: one('string', 1), type: one('TypeProto', 2), docString: one('string', 3) },
        },
        TypeProto: {
          fields: { tensorType: one('TensorTypeProto', 1), denotation: one('string', 6) },
        },
        // TypeProto.Tensor in the schema; the message name is not part of the encoding.
        TensorTypeProto: { fields: { elemType: one('int32', 1), shape: one('TensorShapeProto', 2) } },
        TensorShapeProto: { fields: { dim: list('DimensionProto', 1) } },
        // TensorShapeProto.Dimension: dim_value and dim_param are a oneof; set one.
        DimensionProto: {
          fields: { dimValue: one('int64', 1), dimParam: one('string', 2), denotation: one('string', 3) },
        },
      },
    },
  },
};

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

const modelType = protobuf.Root.fromJSON(schema).lookupType('onnx.ModelProto');

/** Encodes a ModelProto (plain object) to ONNX bytes. */
export function encodeModelProto(model: ModelProto): Uint8Array {
  return modelType.encode(model).finish();
}

/** Decodes ONNX bytes; throws protobufjs' error on bytes that are not a protobuf message. */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return modelType.decode(bytes) as unknown as ModelProto;
}
