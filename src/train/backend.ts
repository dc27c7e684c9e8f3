import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError } from '../errors.js';

/**
 * Training backend choice: tfjs-node when it is installed (it is optional and cannot build
 * everywhere), else the WebAssembly backend with the gradient kernels it lacks supplied below,
 * else the pure-JS cpu backend (correct but ~200x slower for convolutions: minutes per epoch
 * become most of an hour).
 */
export type TrainingBackendName = 'tensorflow' | 'wasm' | 'cpu';

let chosen: TrainingBackendName | null = null;

export async function initTrainingBackend(prefer?: TrainingBackendName): Promise<TrainingBackendName> {
  if (chosen && (!prefer || prefer === chosen)) return chosen;
  const order: TrainingBackendName[] = prefer ? [prefer] : ['tensorflow', 'wasm', 'cpu'];
  const failures: string[] = [];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        // A variable specifier keeps bundlers and tsc from requiring the optional package.
        const pkg = '@tensorflow/tfjs-node';
        await import(pkg);
      } else if (name === 'wasm') {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        const require = createRequire(import.meta.url);
        const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        wasm.setWasmPaths(dist + path.sep);
        registerMissingWasmGradients();
        registerBatchNormGradient();
      }
      if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      chosen = name;
      return name;
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  throw new BackendUnavailableError(
    `no tfjs training backend could start (${failures.join('; ')}); install @tensorflow/tfjs-node or check that @tensorflow/tfjs-backend-wasm is installed`,
  );
}

let registered = false;

/**
 * The stock wasm backend has forward kernels only for these; their gradients need them. They are
 * built from ops wasm does have (pad, strided slice, matmul, multiply, sum), one filter tap at a
 * time, so each tap is one well-optimised matmul or multiply instead of a hand-written loop.
 */
function registerMissingWasmGradients(): void {
  if (registered) return;
  registered = true;
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  const add = (kernelName: string, kernelFunc: tf.KernelFunc) => {
    if (!have.has(kernelName)) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  };
  add(tf.Conv2DBackpropFilter, ({ inputs, attrs }) => {
    const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (a.dataFormat && a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
    return conv2dFilterGrad(x, dy, a.filterShape as [number, number, number, number], a.strides, [1, 1], a.pad, a.dimRoundingMode);
  });
  // The stock wasm Conv2DBackpropInput is a plain loop; as one XNNPACK convolution it is ~5x faster.
  tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
      const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
      if (a.dataFormat && a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropInput on wasm supports NHWC only');
      return conv2dInputGrad(dy, filter, a.inputShape as [number, number, number, number], a.strides, a.pad, a.dimRoundingMode);
    },
  });
  add(tf.DepthwiseConv2dNativeBackpropFilter, ({ inputs, attrs }) => {
    const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
    const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    return depthwiseFilterGrad(x, dy, a.filterShape as [number, number, number, number], a.strides, a.dilations, a.pad, a.dimRoundingMode);
  });
  add(tf.DepthwiseConv2dNativeBackpropInput, ({ inputs, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
    const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    return depthwiseInputGrad(dy, filter, a.inputShape as [number, number, number, number], a.strides, a.dilations, a.pad, a.dimRoundingMode);
  });
}

type Pair = number | [number, number];
type Pad = Parameters<typeof tf.conv2d>[3];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

interface Geometry {
  outH: number;
  outW: number;
  top: number;
  left: number;
  sH: number;
  sW: number;
}

function geometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: Pair,
  dilations: Pair,
  pad: Pad,
  rounding: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): Geometry {
  const [dH, dW] = pair(dilations);
  // tfjs itself refuses conv gradients with dilation > 1, so no caller can reach this.
  if (dH !== 1 || dW !== 1) throw new Error('convolution gradients with dilation > 1 are not supported');
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad as never, rounding, depthwise);
  const [sH, sW] = pair(strides);
  return { outH: info.outHeight, outW: info.outWidth, top: info.padInfo.top, left: info.padInfo.left, sH, sW };
}

/** x with the forward pass's padding applied and cut to exactly the rows/columns the taps read. */
function paddedInput(x: tf.Tensor4D, kH: number, kW: number, g: Geometry): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const needH = (g.outH - 1) * g.sH + kH;
  const needW = (g.outW - 1) * g.sW + kW;
  const bottom = Math.max(0, needH - (h + g.top));
  const right = Math.max(0, needW - (w + g.left));
  let xp = x;
  if (g.top || g.left || bottom || right) xp = tf.pad(x, [[0, 0], [g.top, bottom], [g.left, right], [0, 0]]);
  if (xp.shape[1] !== needH || xp.shape[2] !== needW) xp = xp.slice([0, 0, 0, 0], [b, needH, needW, c]);
  return xp;
}

/**
 * dW[i, j, ci, co] = Σ_{b, oh, ow} xpad[b, oh·s + i, ow·s + j, ci] · dy[b, oh, ow, co]
 * is itself a convolution: the input channels play the batch, the batch plays the channels, dy
 * is the filter and the forward stride becomes a dilation. One wasm (XNNPACK) Conv2D does it.
 */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: Pair,
  dilations: Pair,
  pad: Pad,
  rounding?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kH, kW, ci, co] = filterShape;
    const g = geometry(x.shape, filterShape, strides, dilations, pad, rounding, false);
    if (kH === 1 && kW === 1 && g.sH === 1 && g.sW === 1 && g.top === 0 && g.left === 0) {
      // Pointwise: the filter gradient is one GEMM, xᵀ·dy over all positions.
      const n = x.shape[0] * x.shape[1] * x.shape[2];
      return tf.matMul(x.reshape([n, ci]), dy.reshape([n, co]), true, false).reshape([1, 1, ci, co]);
    }
    const xT = paddedInput(x, kH, kW, g).transpose([3, 1, 2, 0]) as tf.Tensor4D; // [ci, H, W, b]
    const dyT = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, b, co]
    const r = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [g.sH, g.sW]); // [ci, kH, kW, co]
    return r.transpose([1, 2, 0, 3]);
  });
}

/** dx = full correlation of the stride-stuffed dy with the spatially flipped, in/out-swapped filter. */
function conv2dInputGrad(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: Pair,
  pad: Pad,
  rounding?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kH, kW, ci, co] = filter.shape;
    const g = geometry(inputShape, filter.shape, strides, 1, pad, rounding, false);
    const flipped = tf.reverse(filter, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D; // [kH, kW, co, ci]
    return fullCorrelationCropped(dy, kH, kW, co, inputShape, g, (t) => tf.conv2d(t, flipped, 1, 'valid'), ci);
  });
}

/**
 * Shared by both input gradients: stuff zeros for the stride, pad by the filter size minus one,
 * convolve (`conv`), then map padded coordinates back to the input frame.
 */
function fullCorrelationCropped(
  dy: tf.Tensor4D,
  kH: number,
  kW: number,
  dyChannels: number,
  inputShape: [number, number, number, number],
  g: Geometry,
  conv: (t: tf.Tensor4D) => tf.Tensor4D,
  outChannels: number,
): tf.Tensor4D {
  const [b, h, w] = inputShape;
  let up: tf.Tensor4D = dy;
  if (g.sH > 1 || g.sW > 1) {
    up = upsampleWithZeros(dy, g.sH, g.sW).slice([0, 0, 0, 0], [b, (g.outH - 1) * g.sH + 1, (g.outW - 1) * g.sW + 1, dyChannels]);
  }
  const padded = kH > 1 || kW > 1 ? tf.pad(up, [[0, 0], [kH - 1, kH - 1], [kW - 1, kW - 1], [0, 0]]) : up;
  const full = conv(padded);
  const [, fullH, fullW] = full.shape;
  const availH = Math.max(0, Math.min(h, fullH - g.top));
  const availW = Math.max(0, Math.min(w, fullW - g.left));
  const cropped = availH === fullH && availW === fullW && g.top === 0 && g.left === 0 ? full : full.slice([0, g.top, g.left, 0], [b, availH, availW, outChannels]);
  if (availH === h && availW === w) return cropped;
  return tf.pad(cropped, [[0, 0], [0, h - availH], [0, w - availW], [0, 0]]);
}

/**
 * The depthwise version of the same identity: (batch, channel) pairs become the channels of one
 * depthwise convolution whose filter is dy; the batch is summed afterwards.
 */
export function depthwiseFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: Pair,
  dilations: Pair,
  pad: Pad,
  rounding?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kH, kW, c, m] = filterShape;
    const g = geometry(x.shape, filterShape, strides, dilations, pad, rounding, true);
    const b = x.shape[0];
    const xp = paddedInput(x, kH, kW, g);
    const xT = xp.transpose([1, 2, 0, 3]).reshape([1, xp.shape[1], xp.shape[2], b * c]) as tf.Tensor4D;
    const dyT = dy.transpose([1, 2, 0, 3]).reshape([g.outH, g.outW, b * c, m]) as tf.Tensor4D;
    const r = tf.depthwiseConv2d(xT, dyT, 1, 'valid', 'NHWC', [g.sH, g.sW]); // [1, kH, kW, b*c*m]
    return tf.sum(r.reshape([kH, kW, b, c, m]), 2).reshape([kH, kW, c, m]);
  });
}

/**
 * dx is the "full" correlation of dy (zero-stuffed by the stride) with the flipped filter, cut
 * back to the input's frame. With a channel multiplier, each output channel is convolved with
 * its own filter slice and the multiplier axis summed.
 */
export function depthwiseInputGrad(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: Pair,
  dilations: Pair,
  pad: Pad,
  rounding?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kH, kW, c, m] = filter.shape;
    const g = geometry(inputShape, filter.shape, strides, dilations, pad, rounding, true);
    const flipped = tf.reverse(filter, [0, 1]).reshape([kH, kW, c * m, 1]) as tf.Tensor4D;
    const conv = (t: tf.Tensor4D): tf.Tensor4D => {
      const perOutput = tf.depthwiseConv2d(t, flipped, 1, 'valid'); // [b, fullH, fullW, c*m]
      if (m === 1) return perOutput;
      const [b, fh, fw] = perOutput.shape;
      return tf.sum(perOutput.reshape([b, fh, fw, c, m]), 4) as tf.Tensor4D;
    };
    return fullCorrelationCropped(dy, kH, kW, c * m, inputShape, g, conv, c);
  });
}

/** [b, h, w, c] → [b, h*sH, w*sW, c] with the values at multiples of the stride, zeros between. */
function upsampleWithZeros(t: tf.Tensor4D, sH: number, sW: number): tf.Tensor4D {
  const [b, h, w, c] = t.shape;
  const six = t.reshape([b, h, 1, w, 1, c]);
  const padded = tf.pad(six, [[0, 0], [0, 0], [0, sH - 1], [0, 0], [0, sW - 1], [0, 0]]);
  return padded.reshape([b, h * sH, w * sW, c]);
}

/**
 * tfjs's own BatchNorm gradient materialises 1/sqrt(var) tiled to the full activation shape with
 * Tile, which the wasm backend runs as a slow generic loop (a third of a DS-CNN step). Same math
 * with broadcasting instead.
 */
function registerBatchNormGradient(): void {
  tf.registerGradient({
    kernelName: tf.FusedBatchNorm,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const g = dy as tf.Tensor;
      const eps = (attrs as unknown as tf.FusedBatchNormAttrs).varianceEpsilon;
      const [x, mean, variance, scale] = saved;
      const scaleValue = scale == null ? tf.scalar(1) : scale;
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (t: tf.Tensor) => (mean.rank === 1 ? tf.sum(t, axes) : t).reshape(mean.shape);
      const inv = tf.rsqrt(tf.add(variance, eps));
      const xMinusMean = tf.sub(x, mean);
      const dyScaled = tf.mul(g, scaleValue);
      return {
        x: () => tf.mul(dyScaled, inv).reshape(x.shape),
        mean: () => reduce(tf.mul(tf.neg(inv), dyScaled)),
        variance: () => reduce(tf.mul(tf.mul(tf.mul(tf.pow(inv, 3), -0.5), xMinusMean), dyScaled)),
        scale: () => reduce(tf.mul(g, tf.mul(xMinusMean, inv))),
        offset: () => reduce(g),
      };
    },
  });
}
