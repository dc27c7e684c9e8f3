import { DigitRecognizer, type AudioInput } from './recognizer.js';
import { MomentTally, withConvMoments, withNormTargets } from './norm-adapt.js';
import type { BackendChoice } from '../features/index.js';
import { listFsddClips } from '../data/clips.js';
import { officialSplit } from '../data/splits.js';

/**
 * `model` with normalization targets (see norm-adapt.ts) measured on `clips`: the clean training
 * clips, fed as the recognizer feeds any clip (decoded, cut to speech). `data` says which they were
 * (kept in the metadata).
 */
export async function withMeasuredNormTargets(model: Uint8Array, clips: readonly AudioInput[], data: string, options: { backend?: BackendChoice; batchSize?: number } = {}): Promise<Uint8Array> {
  const { model: probe, layers } = withConvMoments(model);
  const names = layers.flatMap((l) => [l.mean, l.square]);
  const recognizer = await DigitRecognizer.load({ model: probe, backend: options.backend });
  try {
    const tally = new MomentTally(layers);
    const batchSize = options.batchSize ?? 64;
    for (let from = 0; from < clips.length; from += batchSize) {
      const batch = clips.slice(from, from + batchSize);
      const rows = await recognizer.graphOutputs(batch, names);
      const joined = Object.fromEntries(
        names.map((n, k) => {
          const width = rows[0][k].length;
          const all = new Float32Array(width * rows.length);
          rows.forEach((r, i) => all.set(r[k], i * width));
          return [n, all];
        }),
      );
      tally.add(joined, batch.length);
    }
    return withNormTargets(model, tally.targets(data));
  } finally {
    await recognizer.dispose();
  }
}

/** Which FSDD clips the shipped models' targets are measured on. */
export const FSDD_TARGET_CLIPS = 'FSDD official train split (takes 5-49, 2,700 clips), clean';

/** `model` with normalization targets measured on the FSDD train split in `fsddDir`. */
export async function withFsddNormTargets(model: Uint8Array, fsddDir: string, options: { backend?: BackendChoice } = {}): Promise<Uint8Array> {
  const train = officialSplit(listFsddClips(fsddDir)).train;
  return withMeasuredNormTargets(model, train.map((c) => c.path), FSDD_TARGET_CLIPS, options);
}
