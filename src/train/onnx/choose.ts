import { ort } from '../../model/ort.js';
import { ModelError } from '../../errors.js';
import { type CalibrationBatch, DEFAULT_PERCENTILE, type QuantizeOptions, quantizeModel } from './quantize.js';

/**
 * A variant whose 1-thread p50 latency is within this factor of fp32's ties with it (5%), so timing
 * noise does not decide between models of one speed, and a tie goes to the int8 file, 3-4x smaller.
 * `digits quantize --auto`'s help and the README say so.
 */
export const DEFAULT_LATENCY_TOLERANCE = 1.05;

/**
 * Quantization settings tried by default, fp32 first; each is one `digits quantize` can write alone
 * (--ops, --calibration, --stem), so an --auto choice can be made again without --auto.
 */
export const QUANTIZATION_VARIANTS: { name: string; options: QuantizeOptions | null }[] = [
  { name: 'fp32', options: null },
  { name: 'int8 linear minmax', options: { ops: 'linear', calibration: 'minmax' } },
  { name: 'int8 linear p99.99', options: { ops: 'linear', calibration: 'percentile', percentile: 99.99 } },
  { name: 'int8 all minmax', options: { ops: 'all', calibration: 'minmax' } },
  // The first conv on the 1-channel spectrogram: faster in int8 for some stems, slower for others.
  { name: 'int8 linear+stem minmax', options: { ops: 'linear', calibration: 'minmax', singleChannelConv: true } },
];

/**
 * The `digits quantize` flags that write a variant without --auto (its defaults left out), e.g.
 * "--ops all" or "--calibration percentile --percentile 99.99 --stem".
 */
export function variantFlags(options: QuantizeOptions): string {
  const flags: string[] = [];
  const ops = options.ops ?? 'linear';
  if (ops !== 'linear') flags.push('--ops', Array.isArray(ops) ? ops.join(',') : ops);
  if (options.calibration === 'percentile') flags.push('--calibration', 'percentile', '--percentile', String(options.percentile ?? DEFAULT_PERCENTILE));
  if (options.depthwise === false) flags.push('--no-depthwise');
  if (options.singleChannelConv) flags.push('--stem');
  if (options.int4MinWeights !== undefined) flags.push('--int4-min-weights', String(options.int4MinWeights));
  if (options.reduceRange === false) flags.push('--no-reduce-range');
  return flags.join(' ');
}

export interface VariantResult {
  variant: string;
  bytes: number;
  /** Share of evaluation clips classified as their label. */
  accuracy: number;
  /** Share of evaluation clips where the top class equals fp32's. */
  agreement: number;
  /** Single-thread, batch-1 onnxruntime latency in microseconds. */
  p50us: number;
  p90us: number;
}

export interface QuantizationChoice {
  keep: 'int8' | 'fp32';
  /** The chosen int8 model (when keep is int8). */
  int8: Uint8Array | null;
  variant: string | null;
  why: string;
  results: VariantResult[];
}

export interface ChooseOptions {
  /** Evaluation features (held-out clips, not the calibration ones) and the label index of each clip. */
  evaluation: { batches: CalibrationBatch[]; labels: number[] };
  variants?: { name: string; options: QuantizeOptions | null }[];
  /** Options added to every int8 variant (e.g. int4MinWeights). */
  common?: QuantizeOptions;
  /** Timed runs per variant (default 400). */
  runs?: number;
  /** Latency within this factor of fp32 counts as a tie (default DEFAULT_LATENCY_TOLERANCE, 5%). */
  latencyTolerance?: number;
  /** Minimum agreement with fp32 (used when labels are unknown, e.g. -1; default 0.98). */
  minAgreement?: number;
}

async function predictAll(session: ort.InferenceSession, batches: CalibrationBatch[]): Promise<number[]> {
  const out: number[] = [];
  for (const b of batches) {
    const p = (await session.run({ features: new ort.Tensor('float32', b.data, b.dims) })).probabilities.data as Float32Array;
    const n = p.length / b.dims[0];
    for (let r = 0; r < b.dims[0]; r++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (p[r * n + j] > p[r * n + best]) best = j;
      out.push(best);
    }
  }
  return out;
}

/** Batch-1 latency of several sessions, interleaved in rounds so machine noise hits all alike. */
async function latencies(sessions: ort.InferenceSession[], clip: CalibrationBatch, runs: number): Promise<{ p50: number; p90: number }[]> {
  const feeds = { features: new ort.Tensor('float32', clip.data, clip.dims) };
  const times = sessions.map(() => [] as number[]);
  for (const s of sessions) for (let i = 0; i < 30; i++) await s.run(feeds);
  const perRound = 20;
  for (let round = 0; round < Math.ceil(runs / perRound); round++)
    for (let k = 0; k < sessions.length; k++)
      for (let i = 0; i < perRound; i++) {
        const t0 = process.hrtime.bigint();
        await sessions[k].run(feeds);
        times[k].push(Number(process.hrtime.bigint() - t0) / 1000);
      }
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { p50: t[Math.floor(t.length * 0.5)], p90: t[Math.floor(t.length * 0.9)] };
  });
}

/**
 * Quantizes with each variant, measures accuracy and single-thread latency against fp32, and keeps
 * int8 only if some variant ties or beats fp32 on accuracy AND on latency (the fastest such
 * variant wins). Small conv nets are often slower in int8 on ONNX Runtime, so this is measured,
 * not assumed.
 */
export async function chooseQuantization(fp32: Uint8Array, calibration: CalibrationBatch[], options: ChooseOptions): Promise<QuantizationChoice> {
  const { batches, labels } = options.evaluation;
  const n = batches.reduce((a, b) => a + b.dims[0], 0);
  if (n === 0 || labels.length !== n) throw new ModelError(`evaluation has ${n} clips but ${labels.length} labels`);
  const variants = options.variants ?? QUANTIZATION_VARIANTS;
  const tolerance = options.latencyTolerance ?? DEFAULT_LATENCY_TOLERANCE;
  const minAgreement = options.minAgreement ?? 0.98;
  const made: { name: string; bytes: Uint8Array }[] = [{ name: 'fp32', bytes: fp32 }];
  const failures: string[] = [];
  for (const v of variants) {
    if (!v.options) continue;
    try {
      made.push({ name: v.name, bytes: await quantizeModel(fp32, calibration, { ...v.options, ...options.common }) });
    } catch (err) {
      failures.push(`${v.name}: ${(err as Error).message}`);
    }
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const sessions = await Promise.all(made.map((m) => ort.InferenceSession.create(m.bytes, sessionOptions)));
  try {
    const preds: number[][] = [];
    for (const s of sessions) preds.push(await predictAll(s, batches));
    const first = batches[0];
    const per = first.data.length / first.dims[0];
    const lat = await latencies(sessions, { data: first.data.subarray(0, per), dims: [1, ...first.dims.slice(1)] }, options.runs ?? 400);
    const labelled = labels.every((l) => l >= 0);
    const results: VariantResult[] = made.map((m, k) => ({
      variant: m.name,
      bytes: m.bytes.length,
      accuracy: labelled ? preds[k].filter((p, i) => p === labels[i]).length / n : NaN,
      agreement: preds[k].filter((p, i) => p === preds[0][i]).length / n,
      p50us: lat[k].p50,
      p90us: lat[k].p90,
    }));
    const base = results[0];
    const ok = results
      .slice(1)
      .filter((r) => (labelled ? r.accuracy >= base.accuracy : r.agreement >= minAgreement) && r.p50us <= base.p50us * tolerance)
      .sort((a, b) => a.p50us - b.p50us);
    const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : `${(100 * x).toFixed(2)}%`);
    if (ok.length) {
      const best = ok[0];
      return {
        keep: 'int8',
        int8: made.find((m) => m.name === best.variant)!.bytes,
        variant: best.variant,
        why: `${best.variant}: accuracy ${pct(best.accuracy)} vs fp32 ${pct(base.accuracy)}, agreement ${pct(best.agreement)}, p50 ${best.p50us.toFixed(0)} vs ${base.p50us.toFixed(0)} µs`,
        results,
      };
    }
    const fastest = results.slice(1).sort((a, b) => a.p50us - b.p50us)[0];
    return {
      keep: 'fp32',
      int8: null,
      variant: null,
      why: fastest
        ? `no int8 variant ties fp32 on both accuracy and latency (fastest: ${fastest.variant}, p50 ${fastest.p50us.toFixed(0)} vs ${base.p50us.toFixed(0)} µs, accuracy ${pct(fastest.accuracy)} vs ${pct(base.accuracy)})`
        : `no int8 variant could be made: ${failures.join('; ')}`,
      results,
    };
  } finally {
    for (const s of sessions) await s.release();
  }
}
