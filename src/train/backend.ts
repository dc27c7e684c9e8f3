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
export function registerMissingWasmGradients(): void {
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

interface TapGeometry {
  outH: number;
  outW: number;
  top: number;
  left: number;
  sH: number;
  sW: number;
  dH: number;
  dW: number;
}

function geometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: Pair,
  dilations: Pair,
  pad: Pad,
  rounding: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): TapGeometry {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad as never, rounding, depthwise);
  const [sH, sW] = pair(strides);
  const [dH, dW] = pair(dilations);
  return { outH: info.outHeight, outW: info.outWidth, top: info.padInfo.top, left: info.padInfo.left, sH, sW, dH, dW };
}

/** x padded so that every tap's strided window lies inside it. */
function padForTaps(x: tf.Tensor4D, kH: number, kW: number, g: TapGeometry): tf.Tensor4D {
  const [, h, w] = x.shape;
  const needH = (kH - 1) * g.dH + (g.outH - 1) * g.sH + 1;
  const needW = (kW - 1) * g.dW + (g.outW - 1) * g.sW + 1;
  const bottom = Math.max(0, needH - (h + g.top));
  const right = Math.max(0, needW - (w + g.left));
  if (g.top === 0 && g.left === 0 && bottom === 0 && right === 0) return x;
  return tf.pad(x, [[0, 0], [g.top, bottom], [g.left, right], [0, 0]]);
}

/** The input samples that filter tap (i, j) multiplies, one per output position: [b, outH, outW, c]. */
function tapWindow(xp: tf.Tensor4D, i: number, j: number, g: TapGeometry): tf.Tensor4D {
  const [b, , , c] = xp.shape;
  const begin = [0, i * g.dH, j * g.dW, 0];
  const end = [b, i * g.dH + (g.outH - 1) * g.sH + 1, j * g.dW + (g.outW - 1) * g.sW + 1, c];
  return tf.stridedSlice(xp, begin, end, [1, g.sH, g.sW, 1]) as tf.Tensor4D;
}

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
    const [kH, kW, cIn, cOut] = filterShape;
    const g = geometry(x.shape, filterShape, strides, dilations, pad, rounding, false);
    const xp = padForTaps(x, kH, kW, g);
    const n = dy.shape[0] * g.outH * g.outW;
    const dy2 = dy.reshape([n, cOut]);
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++) {
        taps.push(tf.matMul(tapWindow(xp, i, j, g).reshape([n, cIn]), dy2, true, false));
      }
    }
    return tf.stack(taps).reshape([kH, kW, cIn, cOut]);
  });
}

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
    const xp = padForTaps(x, kH, kW, g);
    const b = dy.shape[0];
    const dy5 = dy.reshape([b, g.outH, g.outW, c, m]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++) {
        const win = tapWindow(xp, i, j, g).reshape([b, g.outH, g.outW, c, 1]);
        taps.push(tf.sum(tf.mul(win, dy5), [0, 1, 2]));
      }
    }
    return tf.stack(taps).reshape([kH, kW, c, m]);
  });
}

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
    const [b, h, w] = inputShape;
    const g = geometry(inputShape, filter.shape, strides, dilations, pad, rounding, true);
    const dy5 = dy.reshape([b, g.outH, g.outW, c, m]);
    // Output position (oh, ow) through tap (i, j) reads padded input row oh*s + i*d; scatter back.
    const fullH = (kH - 1) * g.dH + (g.outH - 1) * g.sH + 1;
    const fullW = (kW - 1) * g.dW + (g.outW - 1) * g.sW + 1;
    let acc: tf.Tensor4D | null = null;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++) {
        const wTap = filter.slice([i, j, 0, 0], [1, 1, c, m]).reshape([1, 1, 1, c, m]);
        let contrib = tf.sum(tf.mul(dy5, wTap), 4) as tf.Tensor4D; // [b, outH, outW, c]
        if (g.sH > 1 || g.sW > 1) {
          contrib = upsampleWithZeros(contrib, g.sH, g.sW).slice([0, 0, 0, 0], [b, (g.outH - 1) * g.sH + 1, (g.outW - 1) * g.sW + 1, c]);
        }
        const ch = contrib.shape[1];
        const cw = contrib.shape[2];
        const placed: tf.Tensor4D = tf.pad(contrib, [
          [0, 0],
          [i * g.dH, fullH - i * g.dH - ch],
          [j * g.dW, fullW - j * g.dW - cw],
          [0, 0],
        ]);
        acc = acc ? tf.add<tf.Tensor4D>(acc, placed) : placed;
      }
    }
    // Padded coordinates → input coordinates: drop the top/left padding, zero-fill past the end.
    const full = acc as tf.Tensor4D;
    const availH = Math.max(0, Math.min(h, full.shape[1] - g.top));
    const availW = Math.max(0, Math.min(w, full.shape[2] - g.left));
    const cropped = full.slice([0, g.top, g.left, 0], [b, availH, availW, c]);
    if (availH === h && availW === w) return cropped;
    return tf.pad(cropped, [[0, 0], [0, h - availH], [0, w - availW], [0, 0]]);
  });
}

/** [b, h, w, c] → [b, h*sH, w*sW, c] with the values at multiples of the stride, zeros between. */
function upsampleWithZeros(t: tf.Tensor4D, sH: number, sW: number): tf.Tensor4D {
  const [b, h, w, c] = t.shape;
  const six = t.reshape([b, h, 1, w, 1, c]);
  const padded = tf.pad(six, [[0, 0], [0, 0], [0, sH - 1], [0, 0], [0, sW - 1], [0, 0]]);
  return padded.reshape([b, h * sH, w * sW, c]);
}
