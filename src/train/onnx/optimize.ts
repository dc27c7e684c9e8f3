import { type Graph, type GraphNode, consumers, producers } from './graph.js';

/**
 * Graph clean-ups that the exporter relies on so that what it emits stays simple:
 * BatchNorm (emitted as Mul+Add by channel) is folded into the Conv/Gemm before it, and chains of
 * Reshapes collapse into one.
 */
export function optimizeGraph(g: Graph): void {
  foldAffine(g);
  mergeReshapes(g);
  removeDeadNodes(g);
}

const isGraphOutput = (g: Graph, name: string) => g.outputs.some((o) => o.name === name);

function rename(g: Graph, from: string, to: string): void {
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
}

/**
 * Per-channel constant of a Mul/Add that follows `prod`: returns the vector if it broadcasts only
 * along the op's output-channel axis (axis 1 for Conv, the last axis for Gemm).
 */
function channelVector(g: Graph, n: GraphNode, prod: GraphNode, other: string, channels: number): Float32Array | null {
  const c = g.initializers.get(other);
  if (!c || c.type !== 'float') return null;
  const data = c.data as Float32Array;
  if (data.length === 1) return new Float32Array(channels).fill(data[0]);
  if (data.length !== channels) return null;
  const nonUnit = c.dims.filter((d) => d !== 1);
  if (nonUnit.length !== 1) return null;
  // Position of the channel dim counted from the right must match the op's channel axis.
  const fromRight = c.dims.length - 1 - c.dims.indexOf(channels);
  if (prod.op === 'Gemm') return fromRight === 0 ? data : null;
  // Conv output [N, C, spatial...]: channel axis is 1, i.e. rank-2 from the right.
  const rank = 2 + ((g.initializers.get(prod.inputs[1])?.dims.length ?? 0) - 2);
  return fromRight === rank - 2 ? data : null;
}

function foldAffine(g: Graph): void {
  for (let changed = true; changed; ) {
    changed = false;
    const prod = producers(g);
    const cons = consumers(g);
    for (const n of g.nodes) {
      if (n.op !== 'Mul' && n.op !== 'Add') continue;
      const [a, b] = n.inputs;
      const xName = g.initializers.has(b) ? a : g.initializers.has(a) ? b : null;
      if (!xName) continue;
      const constName = xName === a ? b : a;
      const p = prod.get(xName);
      if (!p || (p.op !== 'Conv' && p.op !== 'Gemm')) continue;
      if ((cons.get(xName)?.length ?? 0) !== 1 || isGraphOutput(g, xName)) continue;
      if (p.op === 'Gemm' && (p.attrs.transA?.v || p.attrs.transB?.v || (p.attrs.alpha && p.attrs.alpha.v !== 1) || (p.attrs.beta && p.attrs.beta.v !== 1))) continue;
      const w = g.initializers.get(p.inputs[1]);
      if (!w || w.type !== 'float') continue;
      // Weights shared with another node cannot be rescaled for this one alone.
      if (g.nodes.some((o) => o !== p && o.inputs.includes(w.name))) continue;
      const channels = p.op === 'Conv' ? w.dims[0] : w.dims[1];
      const v = channelVector(g, n, p, constName, channels);
      if (!v) continue;
      let bias = p.inputs[2] ? g.initializers.get(p.inputs[2]) : undefined;
      if (p.inputs[2] && (!bias || g.nodes.some((o) => o !== p && o.inputs.includes(bias!.name)))) continue;
      if (!bias) {
        const name = `${w.name}_bias`;
        bias = { name, type: 'float', dims: [channels], data: new Float32Array(channels) };
        g.initializers.set(name, bias);
        p.inputs[2] = name;
      }
      const wd = w.data as Float32Array;
      const bd = bias.data as Float32Array;
      if (n.op === 'Mul') {
        if (p.op === 'Conv') {
          const per = wd.length / channels;
          for (let o = 0; o < channels; o++) for (let k = 0; k < per; k++) wd[o * per + k] *= v[o];
        } else {
          for (let i = 0; i < wd.length; i++) wd[i] *= v[i % channels];
        }
        for (let o = 0; o < channels; o++) bd[o] *= v[o];
      } else {
        for (let o = 0; o < channels; o++) bd[o] += v[o];
      }
      // The folded op now produces what the Mul/Add produced.
      p.outputs[0] = n.outputs[0];
      g.nodes = g.nodes.filter((o) => o !== n);
      changed = true;
      break;
    }
  }
}

function mergeReshapes(g: Graph): void {
  const prod = producers(g);
  const cons = consumers(g);
  for (const n of g.nodes) {
    if (n.op !== 'Reshape') continue;
    const p = prod.get(n.inputs[0]);
    if (!p || p.op !== 'Reshape') continue;
    const shape = g.initializers.get(n.inputs[1]);
    // A 0 in the shape copies the input's dim; only the batch (index 0) may rely on that here.
    if (!shape || !(shape.data as BigInt64Array).slice(1).every((d) => d > 0n)) continue;
    n.inputs[0] = p.inputs[0];
    if ((cons.get(p.outputs[0])?.length ?? 0) === 1 && !isGraphOutput(g, p.outputs[0])) p.outputs = [];
  }
  g.nodes = g.nodes.filter((n) => n.outputs.length > 0);
}

/** Drops nodes whose outputs nobody reads, and initializers nobody uses. */
export function removeDeadNodes(g: Graph): void {
  for (let changed = true; changed; ) {
    const used = new Set<string>(g.outputs.map((o) => o.name));
    for (const n of g.nodes) for (const i of n.inputs) used.add(i);
    const before = g.nodes.length;
    g.nodes = g.nodes.filter((n) => n.outputs.some((o) => used.has(o)));
    changed = g.nodes.length !== before;
  }
  const used = new Set<string>();
  for (const n of g.nodes) for (const i of n.inputs) used.add(i);
  for (const k of [...g.initializers.keys()]) if (!used.has(k)) g.initializers.delete(k);
}

export { rename };
