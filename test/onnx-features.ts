import { officialSplit, recordingsDir } from '../src/data/index.js';
import { type FeatureConfig, resolveFeatureConfig } from '../src/features/config.js';
import { loadFeatureBackend } from '../src/features/index.js';
import { clipFeatureBatches, pickBalancedClips, pickCalibrationClips } from '../src/train/onnx/calibration.js';
import type { CalibrationBatch } from '../src/train/onnx/quantize.js';
import { FSDD_RECORDINGS as FSDD } from './fsdd.js';
import { DIMS, FRAMES } from './onnx-models.js';

export interface FsddFeatures {
  /** MFCC config with normalization statistics from the calibration clips, like a trained model has. */
  config: FeatureConfig;
  /** 48 training clips in batches of 16. */
  calib: CalibrationBatch[];
  /** 40 clips of the official test split, one batch. */
  test: CalibrationBatch;
}

let cached: Promise<FsddFeatures> | null = null;

/** Real features of a few FSDD clips, computed once per test run by the DSP core. */
export function fsddFeatures(): Promise<FsddFeatures> {
  cached ??= (async () => {
    const found = recordingsDir(FSDD);
    if (!found) throw new Error(`FSDD recordings not found under ${FSDD}; set SPOKEN_DIGITS_FSDD`);
    // Under mocha+tsx the auto fallback can miss (errors.ts loads twice, instanceof fails), so ask
    // for wasm explicitly when auto throws.
    const backend = await loadFeatureBackend().catch(() => loadFeatureBackend({ backend: 'wasm' }));
    const raw = resolveFeatureConfig({ kind: 'mfcc', nMfcc: DIMS, numFrames: FRAMES });
    const calibClips = pickCalibrationClips(found.clips, 48, 5);
    const rawBatches = clipFeatureBatches(calibClips, raw, backend, 48);
    const mean = new Array<number>(DIMS).fill(0);
    const sq = new Array<number>(DIMS).fill(0);
    const d = rawBatches[0].data;
    const rows = d.length / DIMS;
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < DIMS; j++) {
        mean[j] += d[r * DIMS + j] / rows;
        sq[j] += (d[r * DIMS + j] * d[r * DIMS + j]) / rows;
      }
    const std = mean.map((m, j) => Math.sqrt(Math.max(sq[j] - m * m, 1e-6)));
    const config = resolveFeatureConfig({ ...raw, normalization: { mean, std } });
    const testClips = pickBalancedClips(officialSplit(found.clips).test, 40, 9);
    return { config, calib: clipFeatureBatches(calibClips, config, backend, 16), test: clipFeatureBatches(testClips, config, backend, 40)[0] };
  })();
  return cached;
}
