import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import cliProgress from 'cli-progress';
import { DatasetError, ModelError, OptionsError } from '../errors.js';
import { weightShapeMismatch } from './io.js';
import { featureDimension } from '../features/config.js';
import { specAugment, DEFAULT_SPEC_AUGMENT, type Augmenter, type SpecAugmentOptions } from './augment.js';
import { loadLayersModel, saveLayersModel, writeAtomic } from './io.js';
import { Rng } from './random.js';
import type { Teacher } from './teacher.js';

/**
 * One training example: audio at the model's sample rate (augmented on the fly, then turned into
 * features by the DSP core), or a generator for audio made fresh each time (noise, silence).
 */
export interface Example {
  audio: Float32Array | ((rng: Rng) => Float32Array);
  label: number;
  /** Never augmented (e.g. clean silence, which augmentation would only make less silent). */
  raw?: boolean;
}

/** The DSP core's feature extractor as the trainer sees it: audio in, [frames x dims] out. */
export type Featurizer = (audio: Float32Array) => Float32Array;

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Peak learning rate (after warm-up). */
  learningRate: number;
  minLearningRate: number;
  /** AdamW decoupled weight decay, applied to kernels only (not biases, norms, embeddings' scales). */
  weightDecay: number;
  warmupEpochs: number;
  /** Cosine annealing with warm restarts: first cycle length in epochs and the growth per cycle. */
  restartEpochs: number;
  restartMultiplier: number;
  labelSmoothing: number;
  /** Global-norm gradient clipping; 0 turns it off. */
  clipNorm: number;
  /**
   * Mixup (Zhang et al.): each batch is blended with a shuffled copy of itself, features and
   * targets alike, by λ ~ Beta(mixup, mixup); 0 turns it off.
   */
  mixup: number;
  /**
   * Exponential moving average of the weights (Polyak averaging), decay per optimizer step; 0 turns
   * it off. Validation, early stopping and the returned model use the averaged weights, which
   * vary less from seed to seed than the last step's. A resumed run restarts the average.
   */
  ema: number;
  /**
   * Knowledge distillation: the teacher's probabilities on each training batch (the exact
   * augmented input the student sees) are blended into the targets; null = plain labels.
   */
  teacher: Teacher | null;
  /** Weight of the teacher's probabilities in the targets; the rest is the label-smoothed labels. */
  distillWeight: number;
  /** Micro-batches whose gradients are summed before one optimizer step. */
  accumulate: number;
  /** Early stopping: epochs without a better validation score before stopping; 0 = never. */
  patience: number;
  seed: number;
  augment: boolean;
  specAugment: SpecAugmentOptions | null;
  /** Where to keep the checkpoint (latest epoch + best weights); null = none. */
  checkpointDir: string | null;
  resume: boolean;
  /** Live progress bar on a TTY; one line per epoch otherwise. */
  progress: boolean;
  log: (line: string) => void;
}

export const DEFAULT_TRAIN_OPTIONS: Readonly<TrainOptions> = Object.freeze({
  epochs: 40,
  batchSize: 64,
  learningRate: 3e-3,
  minLearningRate: 1e-5,
  weightDecay: 1e-2,
  warmupEpochs: 2,
  restartEpochs: 10,
  restartMultiplier: 2,
  labelSmoothing: 0.1,
  clipNorm: 5,
  mixup: 0,
  ema: 0,
  teacher: null,
  distillWeight: 0.8,
  accumulate: 1,
  patience: 12,
  seed: 1,
  augment: true,
  specAugment: DEFAULT_SPEC_AUGMENT,
  checkpointDir: null,
  resume: false,
  progress: true,
  log: (line: string) => process.stderr.write(`${line}\n`),
});

export interface EpochRecord {
  epoch: number;
  learningRate: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  seconds: number;
}

export interface TrainResult {
  history: EpochRecord[];
  bestEpoch: number;
  bestValAccuracy: number;
  /** Mean wall time of one pass over the training set (augmentation + features + steps). */
  secondsPerEpoch: number;
  stoppedEarly: boolean;
}

/** Learning rate at a fractional epoch: linear warm-up, then cosine annealing with warm restarts (SGDR). */
export function learningRateAt(epoch: number, o: Pick<TrainOptions, 'learningRate' | 'minLearningRate' | 'warmupEpochs' | 'restartEpochs' | 'restartMultiplier'>): number {
  if (epoch < o.warmupEpochs) return o.learningRate * ((epoch + 1e-3) / o.warmupEpochs);
  let t = epoch - o.warmupEpochs;
  let period = Math.max(1e-9, o.restartEpochs);
  while (t >= period) {
    t -= period;
    period *= Math.max(1, o.restartMultiplier);
  }
  return o.minLearningRate + 0.5 * (o.learningRate - o.minLearningRate) * (1 + Math.cos((Math.PI * t) / period));
}

/**
 * AdamW (Loshchilov & Hutter): Adam moments, and weight decay applied straight to the weights
 * rather than folded into the gradient, so it does not get rescaled by the adaptive step.
 */
export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  step = 0;
  constructor(
    private readonly vars: tf.Variable[],
    private readonly decayMask: boolean[],
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    // tidy frees the zero tensors the variables are made from (a variable keeps its own copy).
    this.m = tf.tidy(() => vars.map((v) => tf.variable(tf.zerosLike(v), false)));
    this.v = tf.tidy(() => vars.map((v) => tf.variable(tf.zerosLike(v), false)));
  }

  apply(grads: tf.Tensor[], lr: number, weightDecay: number): void {
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        const g = grads[i];
        const m = this.m[i].mul(this.beta1).add(g.mul(1 - this.beta1));
        const v = this.v[i].mul(this.beta2).add(g.square().mul(1 - this.beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        let update = m.div(c1).div(v.div(c2).sqrt().add(this.epsilon));
        if (this.decayMask[i] && weightDecay > 0) update = update.add(w.mul(weightDecay));
        w.assign(w.sub(update.mul(lr)));
      });
    });
  }

  state(): { step: number; m: Float32Array[]; v: Float32Array[] } {
    return { step: this.step, m: this.m.map((t) => t.dataSync() as Float32Array), v: this.v.map((t) => t.dataSync() as Float32Array) };
  }

  restore(s: { step: number; m: Float32Array[]; v: Float32Array[] }): void {
    this.step = s.step;
    tf.tidy(() => {
      s.m.forEach((a, i) => this.m[i].assign(tf.tensor(a, this.m[i].shape)));
      s.v.forEach((a, i) => this.v[i].assign(tf.tensor(a, this.v[i].shape)));
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/**
 * Moving average of every model weight (BatchNorm statistics included), with the usual warm-up
 * of the decay, min(decay, (1 + t) / (10 + t)), so short runs are not dominated by the start.
 */
class WeightAverage {
  private readonly averages: tf.Variable[];
  private step = 0;
  constructor(
    private readonly weights: tf.Variable[],
    private readonly decay: number,
  ) {
    this.averages = tf.tidy(() => weights.map((w) => tf.variable(w.clone(), false)));
  }

  update(): void {
    this.step++;
    const d = Math.min(this.decay, (1 + this.step) / (10 + this.step));
    tf.tidy(() => this.averages.forEach((a, i) => a.assign(a.mul(d).add(this.weights[i].mul(1 - d)))));
  }

  /** Runs `fn` with the averaged weights in the model, then puts the training weights back. */
  async withAverages<T>(fn: () => T | Promise<T>): Promise<T> {
    const current = this.weights.map((w) => w.clone());
    try {
      this.weights.forEach((w, i) => w.assign(this.averages[i]));
      return await fn();
    } finally {
      this.weights.forEach((w, i) => w.assign(current[i]));
      tf.dispose(current);
    }
  }

  dispose(): void {
    tf.dispose(this.averages);
  }
}

function smoothedOneHot(labels: tf.Tensor1D, numClasses: number, smoothing: number): tf.Tensor2D {
  return tf.oneHot(labels, numClasses).toFloat().mul(1 - smoothing).add(smoothing / numClasses);
}

/** Cross-entropy of softmax outputs against target distributions (one row per example). */
function crossEntropy(probs: tf.Tensor, target: tf.Tensor): tf.Scalar {
  const logp = tf.log(tf.clipByValue(probs, 1e-7, 1));
  return tf.neg(tf.mean(tf.sum(tf.mul(target, logp), -1))) as tf.Scalar;
}

/** Features for examples in order, computed once (validation/test: no augmentation). */
function featurizeAll(examples: readonly Example[], featurize: Featurizer, rng: Rng): Float32Array[] {
  return examples.map((e) => featurize(typeof e.audio === 'function' ? e.audio(rng) : e.audio));
}

export interface Evaluation {
  accuracy: number;
  loss: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Top probability and predicted label per example, for threshold calibration. */
  predictions: { label: number; predicted: number; confidence: number }[];
  /** Every class probability per example (rows in example order), for ensembling runs afterwards. */
  probabilities: Float32Array[];
}

export function evaluate(model: tf.LayersModel, features: readonly Float32Array[], labels: readonly number[], frames: number, dims: number, numClasses: number, batchSize = 128): Evaluation {
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const predictions: Evaluation['predictions'] = [];
  const probabilities: Float32Array[] = [];
  let lossSum = 0;
  for (let start = 0; start < features.length; start += batchSize) {
    const end = Math.min(features.length, start + batchSize);
    const probs = tf.tidy(() => {
      const x = stackFeatures(features, start, end, frames, dims);
      return (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    });
    for (let i = start; i < end; i++) {
      const row = probs.subarray((i - start) * numClasses, (i - start + 1) * numClasses);
      let best = 0;
      for (let k = 1; k < numClasses; k++) if (row[k] > row[best]) best = k;
      confusion[labels[i]][best]++;
      predictions.push({ label: labels[i], predicted: best, confidence: row[best] });
      probabilities.push(row.slice());
      lossSum -= Math.log(Math.max(1e-7, row[labels[i]]));
    }
  }
  const correct = confusion.reduce((s, row, i) => s + row[i], 0);
  return { accuracy: features.length ? correct / features.length : 0, loss: features.length ? lossSum / features.length : 0, confusion, predictions, probabilities };
}

function stackFeatures(features: readonly Float32Array[], start: number, end: number, frames: number, dims: number): tf.Tensor3D {
  const size = frames * dims;
  const buf = new Float32Array((end - start) * size);
  for (let i = start; i < end; i++) {
    if (features[i].length !== size) throw new DatasetError(`feature matrix ${i} has ${features[i].length} values, expected ${frames}x${dims}`);
    buf.set(features[i], (i - start) * size);
  }
  return tf.tensor3d(buf, [end - start, frames, dims]);
}

interface Checkpoint {
  epoch: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestValAccuracy: number;
  bestValLoss: number;
  rngState: number;
  mathRandomState: number;
  optimizer: { step: number };
}

/**
 * Trains `model` in place. On return the model holds the weights of the best validation epoch
 * (early stopping restores them), and the checkpoint folder (if any) holds the last epoch too.
 */
export async function trainModel(
  model: tf.LayersModel,
  data: { train: readonly Example[]; validation: readonly Example[] },
  featurize: Featurizer,
  shape: { frames: number; dims: number; numClasses: number },
  augmenter: Augmenter | null,
  options: Partial<TrainOptions> = {},
): Promise<TrainResult> {
  const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  if (data.train.length === 0) throw new DatasetError('no training examples');
  const { frames, dims, numClasses } = shape;
  if (o.teacher) {
    const t = o.teacher.metadata;
    if (t.labels.length !== numClasses || featureDimension(t.featureConfig) !== dims || t.featureConfig.numFrames !== frames)
      throw new ModelError(`the teacher ${o.teacher.source} maps ${t.featureConfig.numFrames}x${featureDimension(t.featureConfig)} features to ${t.labels.length} classes; the student maps ${frames}x${dims} to ${numClasses}`);
  }
  const rng = new Rng(o.seed);
  // tfjs draws dropout masks from Math.random when no seed is given (a fixed seed would repeat the
  // same mask every step), so for the run's duration Math.random is a seeded stream too.
  const mathRandom = new Rng(o.seed ^ 0x5bd1e995);
  const originalRandom = Math.random;
  Math.random = () => mathRandom.next();
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const decayMask = model.trainableWeights.map((w) => w.shape.length >= 2 && !/embedding|table|gamma|beta/i.test(w.name));
  const optimizer = new AdamW(vars, decayMask);
  const average = o.ema > 0 ? new WeightAverage(model.weights.map((w) => w.read() as tf.Variable), o.ema) : null;
  const valRng = new Rng(o.seed + 7);
  const valFeatures = featurizeAll(data.validation, featurize, valRng);
  const valLabels = data.validation.map((e) => e.label);

  let history: EpochRecord[] = [];
  let bestEpoch = -1;
  let bestValAccuracy = -1;
  let bestValLoss = Infinity;
  let bestWeights: tf.Tensor[] | null = null;
  let startEpoch = 0;
  const ckpt = o.checkpointDir;
  try {
    // Resuming where no checkpoint was written yet starts afresh: an ensemble's later members after an
    // interruption. (`digits train --resume` refuses a run with nothing at all to resume before any audio loads.)
    if (ckpt && o.resume && fs.existsSync(path.join(ckpt, 'state.json'))) {
      const state = JSON.parse(fs.readFileSync(path.join(ckpt, 'state.json'), 'utf8')) as Checkpoint;
      const last = await loadLayersModel(path.join(ckpt, 'last'));
      try {
        const mismatch = weightShapeMismatch(last, model);
        if (mismatch) throw new OptionsError(`resume: the checkpoint in ${ckpt} holds another model (${mismatch}); resume with the architecture, width and features it was started with, or leave out --resume`);
        model.setWeights(last.getWeights());
      } finally {
        last.dispose();
      }
      const opt = readFloatArrays(path.join(ckpt, 'optimizer.bin'));
      const n = vars.length;
      optimizer.restore({ step: state.optimizer.step, m: opt.slice(0, n), v: opt.slice(n, 2 * n) });
      if (fs.existsSync(path.join(ckpt, 'best', 'model.json'))) {
        const best = await loadLayersModel(path.join(ckpt, 'best'));
        bestWeights = best.getWeights().map((w) => w.clone());
        best.dispose();
      }
      history = state.history;
      bestEpoch = state.bestEpoch;
      bestValAccuracy = state.bestValAccuracy;
      bestValLoss = state.bestValLoss;
      rng.setState(state.rngState);
      mathRandom.setState(state.mathRandomState);
      startEpoch = state.epoch + 1;
      o.log(`resumed from ${ckpt} after epoch ${state.epoch + 1}`);
    }
    // A finished run, resumed, stays finished: its last epoch was the last one asked for, or its patience ran
    // out there (the checkpoint is written before the early stop), and another epoch would grow its history and
    // describe the run by one epoch's time. More --epochs or --patience on the resume does go on.
    const ranAll = startEpoch > 0 && startEpoch >= o.epochs;
    let stoppedEarly = !ranAll && o.patience > 0 && startEpoch > 0 && startEpoch - bestEpoch >= o.patience;
    const finished = ranAll || stoppedEarly;
    if (finished) {
      const epochs = (n: number) => (n === 1 ? '1 epoch' : `${n} epochs`);
      o.log(
        stoppedEarly
          ? `nothing to train: it stopped early, no better validation score for ${epochs(o.patience)} after epoch ${bestEpoch} (a --patience over ${o.patience}, or 0, goes on)`
          : `nothing to train: ${o.epochs === 1 ? 'its 1 epoch' : `all ${o.epochs} epochs`} ran (an --epochs over ${o.epochs} goes on)`,
      );
    }

    const steps = Math.ceil(data.train.length / o.batchSize);
    const size = frames * dims;
    const bar =
      o.progress && process.stderr.isTTY
        ? new cliProgress.SingleBar(
            {
              format: 'epoch {epoch} |{bar}| {value}/{total} batches | loss {loss} acc {acc} | lr {lr}',
              stream: process.stderr,
              hideCursor: true,
              clearOnComplete: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : null;
    for (let epoch = finished ? o.epochs : startEpoch; epoch < o.epochs; epoch++) {
      const t0 = performance.now();
      const epochRng = rng.fork(epoch);
      const order = epochRng.shuffle(data.train.map((_, i) => i));
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let pending: tf.Tensor[] | null = null;
      let pendingCount = 0;
      bar?.start(steps, 0, { epoch: `${epoch + 1}/${o.epochs}`, loss: '-', acc: '-', lr: '-' });
      for (let s = 0; s < steps; s++) {
        const idx = order.slice(s * o.batchSize, (s + 1) * o.batchSize);
        const buf = new Float32Array(idx.length * size);
        const labels = new Int32Array(idx.length);
        idx.forEach((i, j) => {
          const e = data.train[i];
          let audio = typeof e.audio === 'function' ? e.audio(epochRng) : e.audio;
          if (o.augment && augmenter && !e.raw) audio = augmenter.apply(audio, epochRng);
          const f = featurize(audio);
          if (o.specAugment && !e.raw) specAugment(f, frames, dims, epochRng, o.specAugment);
          buf.set(f, j * size);
          labels[j] = e.label;
        });
        const lr = learningRateAt(epoch + s / steps, o);
        // λ >= 0.5, so the batch's own labels stay the dominant ones (and the accuracy's reference).
        const drawn = o.mixup > 0 ? epochRng.beta(o.mixup, o.mixup) : 1;
        const lambda = Math.max(drawn, 1 - drawn);
        const partner = lambda < 1 ? Int32Array.from(epochRng.shuffle(idx.map((_, j) => j))) : null;
        const x = partner ? mixBatch(buf, partner, lambda, size) : buf;
        const soft = o.teacher ? await o.teacher.predict(x, idx.length) : null;
        const { loss, grads, batchCorrect } = tf.tidy(() => {
          const y = tf.tensor1d(labels, 'int32');
          const xs = tf.tensor3d(x, [idx.length, frames, dims]);
          let target = smoothedOneHot(y, numClasses, o.labelSmoothing);
          if (partner) target = target.mul(lambda).add(smoothedOneHot(tf.gather(y, tf.tensor1d(partner, 'int32')), numClasses, o.labelSmoothing).mul(1 - lambda));
          if (soft) target = target.mul(1 - o.distillWeight).add(tf.tensor2d(soft, [idx.length, numClasses]).mul(o.distillWeight));
          let hits: tf.Tensor | null = null;
          const { value, grads } = tf.variableGrads(() => {
            const probs = model.apply(xs, { training: true }) as tf.Tensor;
            // Kept: variableGrads disposes everything its function made except the loss.
            hits = tf.keep(tf.sum(tf.equal(tf.argMax(probs, -1), y).toInt()));
            return crossEntropy(probs, target);
          }, vars);
          return { loss: value, grads: vars.map((v) => grads[v.name]), batchCorrect: hits! as tf.Tensor };
        });
        lossSum += (await loss.data())[0] * idx.length;
        correct += (await batchCorrect.data())[0];
        seen += idx.length;
        tf.dispose([loss, batchCorrect]);
        // Gradient accumulation: sum micro-batch gradients, step every `accumulate` batches.
        if (pending) {
          const summed: tf.Tensor[] = pending.map((p, i) => tf.add(p, grads[i]));
          tf.dispose([...pending, ...grads]);
          pending = summed;
        } else pending = grads;
        pendingCount++;
        if (pendingCount === o.accumulate || s === steps - 1) {
          const acc = pending;
          const count = pendingCount;
          const clipped = tf.tidy(() => {
            const mean = acc.map((g) => g.div(count));
            if (!(o.clipNorm > 0)) return mean;
            const norm = tf.sqrt(tf.addN(mean.map((g) => tf.sum(tf.square(g)))));
            const scale = tf.minimum(1, tf.div(o.clipNorm, tf.maximum(norm, 1e-12)));
            return mean.map((g) => g.mul(scale));
          });
          optimizer.apply(clipped, lr, o.weightDecay);
          average?.update();
          tf.dispose([...acc, ...clipped]);
          pending = null;
          pendingCount = 0;
        }
        bar?.update(s + 1, { loss: (lossSum / seen).toFixed(3), acc: (correct / seen).toFixed(3), lr: lr.toExponential(1) });
      }
      bar?.stop();
      const validate = () => (valFeatures.length ? evaluate(model, valFeatures, valLabels, frames, dims, numClasses) : { accuracy: correct / seen, loss: lossSum / seen });
      const val = average ? await average.withAverages(validate) : validate();
      const record: EpochRecord = {
        epoch: epoch + 1,
        learningRate: learningRateAt(epoch, o),
        trainLoss: lossSum / seen,
        trainAccuracy: correct / seen,
        valLoss: val.loss,
        valAccuracy: val.accuracy,
        seconds: (performance.now() - t0) / 1000,
      };
      history.push(record);
      const better = val.accuracy > bestValAccuracy || (val.accuracy === bestValAccuracy && val.loss < bestValLoss);
      if (better) {
        bestValAccuracy = val.accuracy;
        bestValLoss = val.loss;
        bestEpoch = epoch + 1;
        if (bestWeights) tf.dispose(bestWeights);
        const snapshot = () => model.getWeights().map((w) => w.clone());
        bestWeights = average ? await average.withAverages(snapshot) : snapshot();
      }
      o.log(
        `epoch ${record.epoch}/${o.epochs}  loss ${record.trainLoss.toFixed(4)}  acc ${(100 * record.trainAccuracy).toFixed(2)}%  ` +
          `val_loss ${record.valLoss.toFixed(4)}  val_acc ${(100 * record.valAccuracy).toFixed(2)}%  lr ${record.learningRate.toExponential(2)}  ${record.seconds.toFixed(1)} s${better ? '  *' : ''}`,
      );
      if (ckpt) await saveCheckpoint(ckpt, model, optimizer, bestWeights, better, { epoch, history, bestEpoch, bestValAccuracy, bestValLoss, rngState: rng.getState(), mathRandomState: mathRandom.getState(), optimizer: { step: optimizer.step } });
      if (o.patience > 0 && epoch + 1 - bestEpoch >= o.patience) {
        o.log(`early stop: no better validation score for ${o.patience} epochs (best ${(100 * bestValAccuracy).toFixed(2)}% at epoch ${bestEpoch})`);
        stoppedEarly = true;
        break;
      }
    }
    if (bestWeights) model.setWeights(bestWeights);
    // Epoch time from this process only (a resumed run's earlier epochs ran elsewhere); where it ran none
    // (resuming a finished run), the time of the epochs as they ran, not 0 s.
    const ran = history.filter((h) => h.epoch > startEpoch);
    const timed = ran.length ? ran : history;
    return {
      history,
      bestEpoch,
      bestValAccuracy,
      secondsPerEpoch: timed.length ? timed.reduce((s, h) => s + h.seconds, 0) / timed.length : 0,
      stoppedEarly,
    };
  } finally {
    Math.random = originalRandom;
    if (bestWeights) tf.dispose(bestWeights);
    optimizer.dispose();
    average?.dispose();
  }
}

/** Mixup of a batch of feature matrices: row j becomes λ·row j + (1 − λ)·row partner[j]. */
function mixBatch(buf: Float32Array, partner: Int32Array, lambda: number, size: number): Float32Array {
  const mixed = new Float32Array(buf.length);
  for (let j = 0; j < partner.length; j++) {
    const a = j * size;
    const b = partner[j] * size;
    for (let k = 0; k < size; k++) mixed[a + k] = lambda * buf[a + k] + (1 - lambda) * buf[b + k];
  }
  return mixed;
}

async function saveCheckpoint(dir: string, model: tf.LayersModel, optimizer: AdamW, bestWeights: tf.Tensor[] | null, bestChanged: boolean, state: Checkpoint): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await saveLayersModel(model, path.join(dir, 'last'));
  if (bestWeights && bestChanged) {
    const current = model.getWeights().map((w) => w.clone());
    model.setWeights(bestWeights);
    await saveLayersModel(model, path.join(dir, 'best'));
    model.setWeights(current);
    tf.dispose(current);
  }
  const s = optimizer.state();
  writeFloatArrays(path.join(dir, 'optimizer.bin'), [...s.m, ...s.v]);
  writeAtomic(path.join(dir, 'state.json'), JSON.stringify(state));
}

/** [count][len...][data...] little-endian: the optimizer's moment tensors, in variable order. */
function writeFloatArrays(file: string, arrays: Float32Array[]): void {
  const header = new Uint32Array([arrays.length, ...arrays.map((a) => a.length)]);
  const parts = [Buffer.from(header.buffer), ...arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))];
  writeAtomic(file, Buffer.concat(parts));
}

function readFloatArrays(file: string): Float32Array[] {
  const buf = fs.readFileSync(file);
  const count = buf.readUInt32LE(0);
  const lengths = Array.from({ length: count }, (_, i) => buf.readUInt32LE(4 + 4 * i));
  let offset = 4 + 4 * count;
  return lengths.map((n) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = buf.readFloatLE(offset + 4 * i);
    offset += 4 * n;
    return a;
  });
}
