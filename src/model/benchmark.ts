import { readFile } from 'node:fs/promises';
import { decodeWav } from '../audio/index.js';
import type { DigitRecognizer } from './recognizer.js';

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  runs: number;
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: values.reduce((s, v) => s + v, 0) / values.length, runs: values.length };
}

export interface LatencyReport {
  /** From decoded PCM: features + model, per call (ms). */
  endToEnd: Percentiles;
  features: Percentiles;
  model: Percentiles;
  /** From WAV bytes: decode + features + model (ms). */
  withDecode: Percentiles;
}

export interface BenchClip {
  bytes: Uint8Array;
  samples: Float32Array;
  sampleRate: number;
}

/** Reads and decodes benchmark clips up front, so file I/O stays out of the timed loops. */
export function loadBenchClips(paths: string[]): Promise<BenchClip[]> {
  return Promise.all(
    paths.map(async (path) => {
      const bytes = new Uint8Array(await readFile(path));
      const { samples, sampleRate } = decodeWav(bytes, { name: path });
      return { bytes, samples, sampleRate };
    }),
  );
}

/**
 * Latency of one-clip recognition, cycling through `clips`, after a warm-up. With `idleMs`, the
 * process sleeps that long before each timed run, as a live stream's recognizer idles between
 * digits: what a digit costs once the CPU's caches have gone cold (back to back, they stay warm).
 */
export async function measureLatency(recognizer: DigitRecognizer, clips: BenchClip[], runs: number, idleMs = 0): Promise<LatencyReport> {
  for (let i = 0; i < Math.min(50, runs); i++) await recognizer.predictSamples(clips[i % clips.length].samples, clips[i % clips.length].sampleRate);
  const idle = () => (idleMs > 0 ? new Promise((resolve) => setTimeout(resolve, idleMs)) : undefined);
  const total: number[] = [], features: number[] = [], model: number[] = [], withDecode: number[] = [];
  for (let i = 0; i < runs; i++) {
    const clip = clips[i % clips.length];
    await idle();
    const start = performance.now();
    const p = await recognizer.predictSamples(clip.samples, clip.sampleRate);
    total.push(performance.now() - start);
    features.push(p.timings.featuresMs);
    model.push(p.timings.modelMs);
  }
  for (let i = 0; i < runs; i++) {
    const clip = clips[i % clips.length];
    await idle();
    const start = performance.now();
    await recognizer.predict(clip.bytes);
    withDecode.push(performance.now() - start);
  }
  return { endToEnd: percentiles(total), features: percentiles(features), model: percentiles(model), withDecode: percentiles(withDecode) };
}

/** Clips per second of batched recognition from WAV bytes (decode + features + model). */
export async function measureThroughput(recognizer: DigitRecognizer, clips: BenchClip[], batchSize: number, minClips = 3000): Promise<{ clipsPerSec: number; clips: number; batchSize: number }> {
  await recognizer.predictBatch(clips.slice(0, batchSize).map((c) => c.bytes));
  let done = 0;
  const start = performance.now();
  while (done < minClips) {
    for (let i = 0; i < clips.length && done < minClips; i += batchSize) {
      const batch = clips.slice(i, i + batchSize);
      await recognizer.predictBatch(batch.map((c) => c.bytes));
      done += batch.length;
    }
  }
  return { clipsPerSec: done / ((performance.now() - start) / 1000), clips: done, batchSize };
}
