import { type Graph, type GraphNode, consumers, producers } from './graph.js';

/**
 * Graph clean-ups that the exporter relies on so that what it emits stays simple:
 * BatchNorm (emitted as Mul+Add by channel) is folded into the Conv/Gemm before it, and chains of
 * Reshapes collapse into one.
 */
export function optimizeGraph(g: Graph): void {
  foldAffine(g);
  foldAffineForward(g);
  mergeReshapes(g);
  removeDeadNodes(g);
}

const isGraphOutput = (g: Graph, name: string) => g.outputs.some((o) => o.name === name);

/**
 * Per-channel constant of a Mul/Add that follows `prod`: returns the vector if it broadcasts only
 * along the op's output-channel axis (axis 1 for Conv, the last axis for Gemm).
 */
function channelVector(g: Graph, prod: GraphNode, other: string, channels: number): Float32Array | null {
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
      const v = channelVector(g, p, constName, channels);
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

/**
 * A per-channel x*s + t that feeds a Gemm, or a Conv without padding (BatchNorm placed after an
 * activation), is folded into that op's weights and bias: W' = diag(s) W, b' = b + t W.
 * Padded convs are left alone: their zero padding would not be shifted by t.
 */
function foldAffineForward(g: Graph): void {
  for (let changed = true; changed; ) {
    changed = false;
    const prod = producers(g);
    const cons = consumers(g);
    for (const lin of g.nodes) {
      if (lin.op !== 'Gemm' && lin.op !== 'Conv') continue;
      if (lin.op === 'Gemm' && (lin.attrs.transA?.v || lin.attrs.transB?.v || (lin.attrs.alpha && lin.attrs.alpha.v !== 1) || (lin.attrs.beta && lin.attrs.beta.v !== 1))) continue;
      if (lin.op === 'Conv' && ((lin.attrs.pads?.v as number[] | undefined)?.some((p) => p !== 0) || Number(lin.attrs.group?.v ?? 1) !== 1)) continue;
      const n = prod.get(lin.inputs[0]);
      if (!n || (n.op !== 'Mul' && n.op !== 'Add')) continue;
      if ((cons.get(n.outputs[0])?.length ?? 0) !== 1 || isGraphOutput(g, n.outputs[0])) continue;
      const [a, b] = n.inputs;
      const xName = g.initializers.has(b) ? a : g.initializers.has(a) ? b : null;
      if (!xName) continue;
      const c = g.initializers.get(xName === a ? b : a)!;
      const w = g.initializers.get(lin.inputs[1]);
      if (!w || w.type !== 'float' || c.type !== 'float' || g.nodes.some((o) => o !== lin && o.inputs.includes(w.name))) continue;
      const inCh = lin.op === 'Gemm' ? w.dims[0] : w.dims[1];
      const outCh = lin.op === 'Gemm' ? w.dims[1] : w.dims[0];
      const cd = c.data as Float32Array;
      // Per-input-channel: Gemm input [N, in] needs [in]; Conv input [N, C, ...] needs [C, 1, ...].
      const spatial = w.dims.length - 2;
      const okShape = cd.length === 1 || (cd.length === inCh && (lin.op === 'Gemm' ? c.dims[c.dims.length - 1] === inCh : c.dims.length >= spatial + 1 && c.dims[c.dims.length - 1 - spatial] === inCh));
      if (!okShape) continue;
      const vec = (i: number) => (cd.length === 1 ? cd[0] : cd[i]);
      const wd = w.data as Float32Array;
      const per = lin.op === 'Conv' ? wd.length / (outCh * inCh) : 1;
      // Index of W[o][i][k]: Gemm [in, out]; Conv [out, in, k...].
      const at = (o: number, i: number, k: number) => (lin.op === 'Gemm' ? i * outCh + o : (o * inCh + i) * per + k);
      if (n.op === 'Mul') {
        for (let o = 0; o < outCh; o++) for (let i = 0; i < inCh; i++) for (let k = 0; k < per; k++) wd[at(o, i, k)] *= vec(i);
      } else {
        let bias = lin.inputs[2] ? g.initializers.get(lin.inputs[2]) : undefined;
        if (lin.inputs[2] && (!bias || g.nodes.some((o) => o !== lin && o.inputs.includes(bias!.name)))) continue;
        if (!bias) {
          bias = { name: `${w.name}_bias`, type: 'float', dims: [outCh], data: new Float32Array(outCh) };
          g.initializers.set(bias.name, bias);
          lin.inputs[2] = bias.name;
        }
        const bd = bias.data as Float32Array;
        for (let o = 0; o < outCh; o++) {
          let sum = 0;
          for (let i = 0; i < inCh; i++) for (let k = 0; k < per; k++) sum += wd[at(o, i, k)] * vec(i);
          bd[o] += sum;
        }
      }
      lin.inputs[0] = xName;
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

