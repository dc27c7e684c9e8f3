import { ModelError } from '../../errors.js';
import { type Attr, type ElemType, type Graph, type GraphNode, type TensorData, NameScope, int, ints } from './graph.js';
import { type Perm, flattenOrder, identity, isIdentity, onlySingletonsMove, permuteShape, samePerm, transposeBetween } from './layout.js';

/**
 * One exported tensor: its ONNX value name, the tfjs shape it stands for (batch = -1, other
 * unknown dims too) and how the ONNX tensor is arranged relative to tfjs.
 */
export interface Val {
  name: string;
  tfShape: number[];
  perm: Perm;
  /**
   * Only for rank-2 values made by flattening a permuted tensor: feature i of the ONNX tensor is
   * feature order[i] of the tfjs one. A following Dense absorbs it by reordering its kernel rows.
   */
  order?: Int32Array;
}

/** Builds the graph node by node and converts value layouts on demand (memoised). */
export class Emitter {
  readonly graph: Graph;
  readonly names: NameScope;
  private layoutCache = new Map<string, Val>();

  constructor(graph: Graph) {
    this.graph = graph;
    this.names = new NameScope();
  }

  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, base = op, nOut = 1): string[] {
    const outputs = Array.from({ length: nOut }, (_, i) => this.names.fresh(nOut === 1 ? base : `${base}_${i}`));
    const n: GraphNode = { name: this.names.fresh(`${base}_node`), op, inputs, outputs, attrs };
    this.graph.nodes.push(n);
    return outputs;
  }

  one(op: string, inputs: string[], attrs: Record<string, Attr> = {}, base = op): string {
    return this.node(op, inputs, attrs, base, 1)[0];
  }

  constant(base: string, type: ElemType, dims: number[], data: TensorData): string {
    const name = this.names.fresh(base);
    this.graph.initializers.set(name, { name, type, dims, data });
    return name;
  }

  floatConst(base: string, dims: number[], data: ArrayLike<number>): string {
    return this.constant(base, 'float', dims, Float32Array.from(data));
  }

  int64Const(base: string, values: number[]): string {
    return this.constant(base, 'int64', [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** The value rearranged to `perm` (no `order`), adding a Reshape/Transpose/Gather only if needed. */
  to(v: Val, perm: Perm): Val {
    if (perm.length !== v.tfShape.length) throw new ModelError(`internal: layout rank ${perm.length} for a rank-${v.tfShape.length} value`);
    if (samePerm(v.perm, perm) && !v.order) return v;
    const key = `${v.name}|${perm.join(',')}`;
    const hit = this.layoutCache.get(key);
    if (hit) return hit;
    let out: Val;
    if (v.order) {
      // Undo a flatten-reordering with one Gather on the feature axis.
      const inverse = new Array<number>(v.order.length);
      v.order.forEach((tfIdx, onnxIdx) => (inverse[tfIdx] = onnxIdx));
      const idx = this.int64Const(`${v.name}_unorder`, inverse);
      out = { name: this.one('Gather', [v.name, idx], { axis: int(1) }, `${v.name}_ordered`), tfShape: v.tfShape, perm };
    } else if (onlySingletonsMove(v.tfShape, v.perm, perm) && v.tfShape.slice(1).every((d) => d > 0)) {
      const shape = [0, ...permuteShape(v.tfShape, perm).slice(1)];
      out = { name: this.one('Reshape', [v.name, this.int64Const(`${v.name}_shape`, shape)], {}, `${v.name}_r`), tfShape: v.tfShape, perm };
    } else {
      const t = this.one('Transpose', [v.name], { perm: ints(transposeBetween(v.perm, perm)) }, `${v.name}_t`);
      out = { name: t, tfShape: v.tfShape, perm };
    }
    this.layoutCache.set(key, out);
    return out;
  }

  /** Whether `v` is available in `perm` without emitting anything new. */
  hasLayout(v: Val, perm: Perm): boolean {
    return (samePerm(v.perm, perm) && !v.order) || this.layoutCache.has(`${v.name}|${perm.join(',')}`);
  }

  /**
   * The arrangement for an element-wise op over `vals` that moves the fewest elements; ties go to
   * the plain tfjs order, which most non-conv ops want next.
   */
  commonLayout(vals: Val[]): Perm {
    const rank = vals[0].tfShape.length;
    const options = [identity(rank), ...vals.filter((v) => !v.order).map((v) => v.perm)];
    let best = options[0];
    let bestCost = Infinity;
    // Cost of a layout = elements that a Transpose would have to move; Reshape-only moves are free.
    const size = (v: Val) => v.tfShape.slice(1).reduce((a, b) => a * Math.max(b, 1), 1);
    for (const p of options) {
      const cost = vals
        .filter((v) => !this.hasLayout(v, p) && !(onlySingletonsMove(v.tfShape, v.perm, p) && !v.order))
        .reduce((a, v) => a + size(v), 0);
      if (cost < bestCost) {
        best = p;
        bestCost = cost;
      }
    }
    return best;
  }

  plain(v: Val): Val {
    return this.to(v, identity(v.tfShape.length));
  }

  /** Same layout, new name (for element-wise results). */
  like(v: Val, name: string, tfShape = v.tfShape): Val {
    return { name, tfShape, perm: v.perm, order: v.order };
  }

  /** Flatten (batch kept) without moving data when possible. */
  flatten(v: Val): Val {
    const n = v.tfShape.slice(1).reduce((a, b) => a * b, 1);
    if (v.tfShape.length === 2) return v;
    const order = isIdentity(v.perm) ? null : flattenOrder(v.tfShape, v.perm);
    const name = this.one('Flatten', [v.name], { axis: int(1) }, 'flatten');
    return { name, tfShape: [-1, n], perm: [0, 1], order: order ?? undefined };
  }
}
