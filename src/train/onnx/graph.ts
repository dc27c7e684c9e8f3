import { ModelError } from '../../errors.js';
import * as pb from './proto.js';

/**
 * A small in-memory ONNX graph that the exporter builds, the optimizer rewrites and the quantizer
 * edits. It is deliberately plain data (no protobuf objects) so passes can rewrite it freely;
 * `encodeModel` / `decodeModel` convert to and from ModelProto bytes.
 */
export type TensorData = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
export type ElemType = 'float' | 'int8' | 'uint8' | 'int32' | 'int64';

export interface Initializer {
  name: string;
  type: ElemType;
  dims: number[];
  data: TensorData;
}

export type Attr =
  | { kind: 'int'; v: number }
  | { kind: 'float'; v: number }
  | { kind: 'ints'; v: number[] }
  | { kind: 'floats'; v: number[] }
  | { kind: 'string'; v: string };

export interface GraphNode {
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

export interface ValueInfo {
  name: string;
  type: ElemType;
  /** A string is a symbolic (dynamic) dimension, e.g. "batch"; null one of unknown size (neither value nor name in the file). */
  shape: (number | string | null)[] | null;
}

export interface Graph {
  name: string;
  nodes: GraphNode[];
  initializers: Map<string, Initializer>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface OnnxModel {
  graph: Graph;
  opset: number;
  metadata: Record<string, string>;
  /** What wrote the model (ONNX's producer_name) and its version (producer_version). */
  producer: string;
  producerVersion: string;
}

export const OPSET = 17;

export const int = (v: number): Attr => ({ kind: 'int', v });
export const float = (v: number): Attr => ({ kind: 'float', v });
export const ints = (v: number[]): Attr => ({ kind: 'ints', v });
export const floats = (v: number[]): Attr => ({ kind: 'floats', v });

const ELEM_CODE: Record<ElemType, number> = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7 };
const CODE_ELEM = new Map<number, ElemType>(Object.entries(ELEM_CODE).map(([k, v]) => [v, k as ElemType]));

/** Node and initializer names must be unique per graph; this hands out readable unique ones. */
export class NameScope {
  private used = new Set<string>();
  constructor(existing: Iterable<string> = []) {
    for (const n of existing) this.used.add(n);
  }
  fresh(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 't';
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }
  reserve(name: string): void {
    this.used.add(name);
  }
}

/** Everything a graph already names, so passes that add nodes never collide with it. */
export function graphNames(g: Graph): NameScope {
  const s = new NameScope();
  for (const i of g.inputs) s.reserve(i.name);
  for (const o of g.outputs) s.reserve(o.name);
  for (const k of g.initializers.keys()) s.reserve(k);
  for (const n of g.nodes) {
    s.reserve(n.name);
    for (const o of n.outputs) s.reserve(o);
  }
  return s;
}

/**
 * Renames every value except the graph's inputs and outputs to a short id and drops node names
 * (optional in ONNX). Machine-made graphs such as QDQ carry long descriptive names that each value
 * repeats wherever it is used: about a sixth of a small int8 model file.
 */
export function shortenNames(g: Graph): void {
  const keep = new Set([...g.inputs, ...g.outputs].map((v) => v.name));
  const short = new Map<string, string>();
  let next = 0;
  const rename = (name: string): string => {
    // "" is an omitted optional input and stays one.
    if (name === '' || keep.has(name)) return name;
    let s = short.get(name);
    if (s === undefined) {
      do s = (next++).toString(36);
      while (keep.has(s));
      short.set(name, s);
    }
    return s;
  };
  g.initializers = new Map([...g.initializers.values()].map((t) => [rename(t.name), { ...t, name: rename(t.name) }]));
  for (const n of g.nodes) {
    n.name = '';
    n.inputs = n.inputs.map(rename);
    n.outputs = n.outputs.map(rename);
  }
}

/** Producer node of each value. */
export function producers(g: Graph): Map<string, GraphNode> {
  const m = new Map<string, GraphNode>();
  for (const n of g.nodes) for (const o of n.outputs) m.set(o, n);
  return m;
}

/** Consumer nodes of each value (graph outputs are not nodes; check `g.outputs` separately). */
export function consumers(g: Graph): Map<string, GraphNode[]> {
  const m = new Map<string, GraphNode[]>();
  for (const n of g.nodes)
    for (const i of n.inputs) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  return m;
}

/** Kahn's order; the exporter emits nodes in order already, but passes may append out of order. */
export function sortTopologically(g: Graph): void {
  const prod = producers(g);
  const done = new Set<GraphNode>();
  const out: GraphNode[] = [];
  const visit = (n: GraphNode, depth: number) => {
    if (done.has(n)) return;
    if (depth > 100000) throw new ModelError('graph has a cycle');
    done.add(n);
    for (const i of n.inputs) {
      const p = prod.get(i);
      if (p) visit(p, depth + 1);
    }
    out.push(n);
  };
  for (const n of g.nodes) visit(n, 0);
  g.nodes = out;
}

function tensorToProto(t: Initializer): pb.TensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name: t.name, dataType: ELEM_CODE[t.type], dims: t.dims, rawData: new Uint8Array(bytes) };
}

function attrToProto(name: string, a: Attr): pb.AttributeProto {
  switch (a.kind) {
    case 'int':
      return { name, type: pb.AttributeType.INT, i: a.v };
    case 'float':
      return { name, type: pb.AttributeType.FLOAT, f: a.v };
    case 'ints':
      return { name, type: pb.AttributeType.INTS, ints: a.v };
    case 'floats':
      return { name, type: pb.AttributeType.FLOATS, floats: a.v };
    case 'string':
      return { name, type: pb.AttributeType.STRING, s: new TextEncoder().encode(a.v) };
  }
}

function valueInfoToProto(v: ValueInfo): pb.ValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM_CODE[v.type],
        shape: v.shape ? { dim: v.shape.map((d) => (d === null ? {} : typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } : undefined,
      },
    },
  };
}

/**
 * The IR version a file of this opset declares (onnx/docs/Versioning.md): 8 for the opsets up to 18
 * (17 is what the exporter writes), 9 for 19-20, 10 for 21-22, 11 after; a decoded model written
 * back keeps a version that matches its opset.
 */
function irVersionFor(opset: number): number {
  return opset <= 18 ? 8 : opset <= 20 ? 9 : opset <= 22 ? 10 : 11;
}

export function encodeModel(m: OnnxModel): Uint8Array {
  const g = m.graph;
  return pb.encodeModelProto({
    irVersion: irVersionFor(m.opset),
    opsetImport: [{ domain: '', version: m.opset }],
    producerName: m.producer,
    producerVersion: m.producerVersion,
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, a]) => attrToProto(k, a)),
      })),
      initializer: [...g.initializers.values()].map(tensorToProto),
      input: g.inputs.map(valueInfoToProto),
      output: g.outputs.map(valueInfoToProto),
    },
    metadataProps: Object.entries(m.metadata).map(([key, value]) => ({ key, value })),
  });
}

const toNum = (v: pb.Int64 | null | undefined): number =>
  v == null ? 0 : typeof v === 'number' ? v : v.toNumber();

function tensorFromProto(t: pb.TensorProto): Initializer {
  const type = CODE_ELEM.get(t.dataType ?? 0);
  const name = t.name ?? '';
  if (!type) throw new ModelError(`initializer '${name}' has unsupported data type ${t.dataType}`);
  if (t.dataLocation === pb.DATA_LOCATION_EXTERNAL)
    throw new ModelError(`initializer '${name}' keeps its data in an external file; save the model with its weights inside (one .onnx file)`);
  const dims = (t.dims ?? []).map(toNum);
  const count = dims.reduce((a, b) => a * b, 1);
  let data: TensorData;
  const ctor = { float: Float32Array, int8: Int8Array, uint8: Uint8Array, int32: Int32Array, int64: BigInt64Array }[type];
  if (t.rawData && t.rawData.length > 0) {
    // protobufjs hands out Node Buffers that view a shared, unaligned pool; copy to own memory.
    const raw = new Uint8Array(t.rawData);
    data = new ctor(raw.buffer, raw.byteOffset, raw.byteLength / ctor.BYTES_PER_ELEMENT);
  } else if (type === 'float') data = Float32Array.from(t.floatData ?? []);
  else if (type === 'int64') data = BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(toNum(v))));
  else data = new ctor((t.int32Data ?? []) as unknown as ArrayLike<number> & ArrayLike<bigint>);
  if (data.length !== count) throw new ModelError(`initializer '${name}' holds ${data.length} values but its shape [${dims}] needs ${count}`);
  return { name, type, dims, data };
}

function attrFromProto(a: pb.AttributeProto): Attr | null {
  const T = pb.AttributeType;
  switch (a.type) {
    case T.INT:
      return int(toNum(a.i));
    case T.FLOAT:
      return float(a.f ?? 0);
    case T.INTS:
      return ints((a.ints ?? []).map(toNum));
    case T.FLOATS:
      return floats(a.floats ?? []);
    case T.STRING:
      return { kind: 'string', v: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    default:
      return null;
  }
}

function valueInfoFromProto(v: pb.ValueInfoProto): ValueInfo {
  const tt = v.type?.tensorType;
  const dims = tt?.shape?.dim;
  return {
    name: v.name ?? '',
    type: CODE_ELEM.get(tt?.elemType ?? 1) ?? 'float',
    // A dimension with neither a value nor a name is unknown, not 0 (written back as such).
    // (The decoder's messages default an absent dimValue to 0 through their prototype: only an own one was in the file.)
    shape: dims ? dims.map((d) => (d.dimParam ? d.dimParam : Object.hasOwn(d, 'dimValue') ? toNum(d.dimValue) : null)) : null,
  };
}

/**
 * Parses ONNX bytes into the editable graph. Throws ModelError when the bytes are not an ONNX
 * model (protobuf that does not decode, or decodes to something without a graph).
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  let proto: pb.ModelProto;
  try {
    proto = pb.decodeModelProto(bytes);
  } catch (err) {
    throw new ModelError(`not an ONNX model (protobuf decoding failed: ${(err as Error).message}); pass a .onnx file`, { cause: err });
  }
  const gp = proto.graph;
  if (!gp || !gp.node || gp.node.length === 0 || !proto.opsetImport || proto.opsetImport.length === 0)
    throw new ModelError('not an ONNX model (no graph or no opset); pass a .onnx file written by `digits export`');
  const unsupported: string[] = [];
  const nodes: GraphNode[] = gp.node.map((n, i) => {
    if (n.domain && n.domain !== 'ai.onnx') unsupported.push(`${n.opType} (domain ${n.domain})`);
    const attrs: Record<string, Attr> = {};
    for (const a of n.attribute ?? []) {
      const v = attrFromProto(a);
      if (v) attrs[a.name ?? ''] = v;
      else unsupported.push(`${n.opType} attribute ${a.name}`);
    }
    return { name: n.name || `node_${i}`, op: n.opType ?? '', inputs: n.input ?? [], outputs: n.output ?? [], attrs };
  });
  if (unsupported.length) throw new ModelError(`the model uses features this tool cannot edit: ${unsupported.slice(0, 5).join(', ')}`);
  const inits = new Map<string, Initializer>();
  for (const t of gp.initializer ?? []) inits.set(t.name ?? '', tensorFromProto(t));
  const initNames = new Set(inits.keys());
  const opset = toNum(proto.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version);
  const metadata: Record<string, string> = {};
  for (const p of proto.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  return {
    graph: {
      name: gp.name ?? 'graph',
      nodes,
      initializers: inits,
      // Older exporters list initializers as inputs too; they are not real inputs.
      inputs: (gp.input ?? []).map(valueInfoFromProto).filter((v) => !initNames.has(v.name)),
      outputs: (gp.output ?? []).map(valueInfoFromProto),
    },
    opset,
    metadata,
    producer: proto.producerName ?? '',
    producerVersion: proto.producerVersion ?? '',
  };
}

/** The model with the named inner values as extra graph outputs. */
export function withGraphOutputs(model: Uint8Array, names: readonly string[]): Uint8Array {
  const m = decodeModel(model);
  const outputs = new Set(m.graph.outputs.map((o) => o.name));
  m.graph.outputs.push(...names.filter((name) => !outputs.has(name)).map((name) => ({ name, type: 'float' as const, shape: null })));
  return encodeModel(m);
}
