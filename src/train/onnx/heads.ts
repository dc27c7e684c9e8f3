import { ModelError } from '../../errors.js';
import { type Graph, type GraphNode, type Initializer, graphNames, producers } from './graph.js';
import { removeDeadNodes } from './optimize.js';

/**
 * A classifier head: the Gemm whose logits a Softmax turns into one member's class probabilities
 * (a fused ensemble has one per member). Quantize/Dequantize pairs between them (a QDQ int8 model)
 * are looked through.
 */
export interface ClassifierHead {
  gemm: GraphNode;
  softmax: GraphNode;
  /** The value the Gemm reads: the member's pooled embedding (after its own Q/DQ in an int8 model). */
  embedding: string;
  /** Embedding width and number of classes. */
  dims: number;
  classes: number;
  /** The Gemm's effective weights, [dims][classes] row-major, dequantized if stored as int8. */
  weights: Float32Array;
  bias: Float32Array;
}

/** The float values of a constant: a float initializer, or a DequantizeLinear of initializers. */
function constantValues(g: Graph, producer: Map<string, GraphNode>, value: string, what: string): { data: Float32Array; dims: number[] } {
  const init = g.initializers.get(value);
  if (init) {
    if (init.type !== 'float') throw new ModelError(`${what} is stored as ${init.type}, not float`);
    return { data: init.data as Float32Array, dims: init.dims };
  }
  const dq = producer.get(value);
  const [x, scale, zeroPoint] = (dq?.op === 'DequantizeLinear' ? dq.inputs : []).map((name) => (name ? g.initializers.get(name) : undefined));
  if (!dq || !x || !scale || (dq.inputs[2] && !zeroPoint)) throw new ModelError(`${what} is computed in the graph, not stored as a constant`);
  if (x.type === 'float' || x.type === 'int64') throw new ModelError(`${what}: DequantizeLinear of ${x.type} values`);
  const axisAttr = dq.attrs.axis;
  const axis = (axisAttr?.kind === 'int' ? axisAttr.v : 1) + (axisAttr?.kind === 'int' && axisAttr.v < 0 ? x.dims.length : 0);
  const perAxis = scale.dims.length === 1 && x.dims.length > 0;
  const inner = perAxis ? x.dims.slice(axis + 1).reduce((a, b) => a * b, 1) : 1;
  const channels = perAxis ? x.dims[axis] : 1;
  const scales = scale.data as Float32Array;
  const data = new Float32Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    const c = perAxis ? Math.floor(i / inner) % channels : 0;
    data[i] = (Number(x.data[i]) - (zeroPoint ? Number(zeroPoint.data[c]) : 0)) * scales[c];
  }
  return { data, dims: x.dims };
}

/** The value `start` after any QuantizeLinear -> DequantizeLinear steps back toward its producer. */
function throughQdq(producer: Map<string, GraphNode>, start: string): string {
  let value = start;
  for (;;) {
    const dq = producer.get(value);
    const q = dq?.op === 'DequantizeLinear' ? producer.get(dq.inputs[0]) : undefined;
    if (q?.op !== 'QuantizeLinear') return value;
    value = q.inputs[0];
  }
}

/** Every classifier head of a model graph, in graph order; a ModelError when there is none. */
export function findClassifierHeads(g: Graph, source = 'model'): ClassifierHead[] {
  const heads: ClassifierHead[] = [];
  const producer = producers(g);
  for (const softmax of g.nodes.filter((n) => n.op === 'Softmax')) {
    const gemm = producer.get(throughQdq(producer, softmax.inputs[0]));
    if (gemm?.op !== 'Gemm') continue;
    const attr = (name: string, fallback: number) => (gemm.attrs[name]?.kind === 'int' || gemm.attrs[name]?.kind === 'float' ? (gemm.attrs[name].v as number) : fallback);
    if (attr('transA', 0) !== 0 || attr('alpha', 1) !== 1 || attr('beta', 1) !== 1)
      throw new ModelError(`${source}: the classifier's Gemm uses transA/alpha/beta, which enrollment does not support`);
    const transB = attr('transB', 0) === 1;
    const w = constantValues(g, producer, gemm.inputs[1], `${source}: the classifier's weights`);
    if (!gemm.inputs[2]) throw new ModelError(`${source}: the classifier's Gemm has no bias`);
    const b = constantValues(g, producer, gemm.inputs[2], `${source}: the classifier's bias`);
    if (w.dims.length !== 2) throw new ModelError(`${source}: the classifier's weights are not a matrix`);
    const [dims, classes] = transB ? [w.dims[1], w.dims[0]] : w.dims;
    if (b.data.length !== classes) throw new ModelError(`${source}: the classifier's bias has ${b.data.length} values for ${classes} classes`);
    const weights = new Float32Array(dims * classes);
    for (let i = 0; i < dims; i++) for (let k = 0; k < classes; k++) weights[i * classes + k] = w.data[transB ? k * dims + i : i * classes + k];
    heads.push({ gemm, softmax, embedding: gemm.inputs[0], dims, classes, weights, bias: Float32Array.from(b.data) });
  }
  if (heads.length === 0) throw new ModelError(`${source}: no classifier head (a Gemm feeding a Softmax) found`);
  return heads;
}

/**
 * Gives a head new float weights ([dims][classes]) and bias, and lets its Softmax read the Gemm
 * directly: an int8 model's Q/DQ of the old logits was calibrated for the old weights' range.
 * Constants and nodes nobody reads any more are removed.
 */
export function replaceHeadWeights(g: Graph, head: ClassifierHead, weights: Float32Array, bias: Float32Array): void {
  if (weights.length !== head.dims * head.classes || bias.length !== head.classes) throw new ModelError('new head weights do not match the head shape');
  const { gemm, softmax } = head;
  if (!g.nodes.includes(gemm) || !g.nodes.includes(softmax)) throw new ModelError('the head is not in this graph');
  const names = graphNames(g);
  const add = (base: string, init: Omit<Initializer, 'name'>) => {
    const name = names.fresh(base);
    g.initializers.set(name, { name, ...init });
    return name;
  };
  gemm.inputs[1] = add(`${gemm.outputs[0]}_enrolled_W`, { type: 'float', dims: [head.dims, head.classes], data: weights });
  gemm.inputs[2] = add(`${gemm.outputs[0]}_enrolled_B`, { type: 'float', dims: [head.classes], data: bias });
  delete gemm.attrs.transB;
  softmax.inputs[0] = gemm.outputs[0];
  removeDeadNodes(g);
}
