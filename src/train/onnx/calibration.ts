import { type FsddClip, loadClip, officialSplit } from '../../data/index.js';
import { ModelError } from '../../errors.js';
import type { FeatureBackend } from '../../features/backend.js';
import type { FeatureConfig } from '../../features/config.js';
import { mulberry32 } from '../random.js';
import type { CalibrationBatch } from './quantize.js';

/**
 * A seeded, balanced pick of `count` training clips (takes >= 5, never the official test takes):
 * round-robin over digit x speaker so every voice and digit shapes the activation ranges.
 */
export function pickCalibrationClips(clips: readonly FsddClip[], count: number, seed = 1): FsddClip[] {
  const { train } = officialSplit(clips);
  if (train.length === 0) throw new ModelError('no training clips (takes >= 5) to calibrate on');
  return pickBalancedClips(train, count, seed);
}

/** A seeded pick of `count` clips, round-robin over digit x speaker groups. */
export function pickBalancedClips(train: readonly FsddClip[], count: number, seed = 1): FsddClip[] {
  const rnd = mulberry32(seed);
  const groups = new Map<string, FsddClip[]>();
  for (const c of train) {
    const k = `${c.digit}/${c.speaker}`;
    const g = groups.get(k);
    if (g) g.push(c);
    else groups.set(k, [c]);
  }
  const lists = [...groups.keys()].sort().map((k) => {
    const g = [...groups.get(k)!];
    for (let i = g.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [g[i], g[j]] = [g[j], g[i]];
    }
    return g;
  });
  const out: FsddClip[] = [];
  for (let round = 0; out.length < Math.min(count, train.length); round++)
    for (const g of lists) if (round < g.length && out.length < count) out.push(g[round]);
  return out;
}

/**
 * Features of `clips` computed by the DSP core with the model's own FeatureConfig, in batches of
 * [n, numFrames, dims] ready for onnxruntime (calibration or evaluation).
 */
export function clipFeatureBatches(
  clips: readonly FsddClip[],
  config: FeatureConfig,
  backend: FeatureBackend,
  batchSize = 32,
  /** What the model's inference does to a clip before features (see speechCutter). */
  cut: (samples: Float32Array) => Float32Array = (samples) => samples,
): CalibrationBatch[] {
  const extractor = backend.createExtractor(config);
  try {
    const batches: CalibrationBatch[] = [];
    for (let i = 0; i < clips.length; i += batchSize) {
      const part = clips.slice(i, i + batchSize);
      const mats = part.map((c) => extractor.compute(cut(loadClip(c, { sampleRate: config.sampleRate, backend }).samples)));
      const { frames, dims } = mats[0];
      if (mats.some((m) => m.frames !== frames))
        throw new ModelError(`clips gave different frame counts (${mats.map((m) => m.frames)}); the feature config needs a fixed numFrames to batch them`);
      const data = new Float32Array(part.length * frames * dims);
      mats.forEach((m, j) => data.set(m.data, j * frames * dims));
      batches.push({ data, dims: [part.length, frames, dims] });
    }
    return batches;
  } finally {
    extractor.dispose();
  }
}
