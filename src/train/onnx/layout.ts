/**
 * tfjs keeps images as NHWC and sequences as [batch, time, channels]; ONNX Conv/Pool want channels
 * at axis 1. Instead of wrapping every conv in two Transposes, each exported value remembers how
 * its ONNX tensor is permuted relative to the tfjs tensor, and a Transpose is inserted only where
 * an op needs a different arrangement (usually once, at the first conv).
 */

/** onnx axis i holds tfjs axis perm[i]; batch (0) never moves. */
export type Perm = number[];

export const identity = (rank: number): Perm => Array.from({ length: rank }, (_, i) => i);
export const isIdentity = (p: Perm): boolean => p.every((v, i) => v === i);
export const samePerm = (a: Perm, b: Perm): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
/** Channels-first arrangement of a channels-last tfjs tensor: [0, last, 1, 2, ...]. */
export const channelsFirst = (rank: number): Perm => [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];

/** Which ONNX axis holds tfjs axis `tfAxis` (negative axes count from the end like tfjs). */
export function onnxAxis(perm: Perm, tfAxis: number): number {
  const a = tfAxis < 0 ? perm.length + tfAxis : tfAxis;
  return perm.indexOf(a);
}

/** Shape of the ONNX tensor given the tfjs shape. */
export const permuteShape = <T>(tfShape: T[], perm: Perm): T[] => perm.map((a) => tfShape[a]);

/**
 * The Transpose `perm` attribute that turns an ONNX tensor laid out as `from` into one laid out as
 * `to`: output axis i must hold the onnx-`from` axis that holds tfjs axis to[i].
 */
export const transposeBetween = (from: Perm, to: Perm): number[] => to.map((a) => from.indexOf(a));

/** Row-major data transpose of a small constant (weights), out axis i = in axis axes[i]. */
export function transposeData(data: Float32Array, shape: number[], axes: number[]): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShape = axes.map((a) => shape[a]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  const strideOut = axes.map((a) => inStrides[a]);
  for (let o = 0; o < out.length; o++) {
    let off = 0;
    for (let i = 0; i < rank; i++) off += idx[i] * strideOut[i];
    out[o] = data[off];
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i] < outShape[i]) break;
      idx[i] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/**
 * For flattening a permuted tensor without a Transpose: element i of the ONNX-flattened vector is
 * element order[i] of the tfjs-flattened one (tfShape without batch). Returns null when the two
 * orders coincide (e.g. only size-1 axes moved).
 */
export function flattenOrder(tfShape: number[], perm: Perm): Int32Array | null {
  const dims = tfShape.slice(1);
  const p = perm.slice(1).map((a) => a - 1);
  const onnxDims = p.map((a) => dims[a]);
  const tfStrides = new Array<number>(dims.length);
  let s = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    tfStrides[i] = s;
    s *= dims[i];
  }
  const order = new Int32Array(s);
  const idx = new Array<number>(dims.length).fill(0);
  let trivial = true;
  for (let o = 0; o < s; o++) {
    let off = 0;
    for (let i = 0; i < p.length; i++) off += idx[i] * tfStrides[p[i]];
    order[o] = off;
    if (off !== o) trivial = false;
    for (let i = p.length - 1; i >= 0; i--) {
      if (++idx[i] < onnxDims[i]) break;
      idx[i] = 0;
    }
  }
  return trivial ? null : order;
}

/** True when going from layout `from` to `to` only moves size-1 axes, so a Reshape does the job. */
export function onlySingletonsMove(tfShape: number[], from: Perm, to: Perm): boolean {
  const nonUnit = (p: Perm) => p.filter((a) => a === 0 || tfShape[a] !== 1);
  const a = nonUnit(from);
  const b = nonUnit(to);
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
