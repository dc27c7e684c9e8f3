/** One model's figures in `digits compare`. */
export interface ComparedModel {
  model: string;
  type: string;
  precision: string;
  /** The file's size in KiB (1,024 bytes). */
  sizeKB: number;
  accuracy: number;
  falseReject: number;
  p50Ms: number;
  p99Ms: number;
  clipsPerSec: number;
}

export type UseCase = 'speed' | 'accuracy' | 'balanced';

/**
 * speed: the fastest model whose accuracy is within 1 point of the best;
 * accuracy: the most accurate (faster wins a tie);
 * balanced: best accuracy after a penalty of 0.5 point per doubling of p50 latency over the fastest.
 */
export function recommend(models: ComparedModel[], useCase: UseCase): ComparedModel {
  if (models.length === 0) throw new Error('no models to compare');
  const best = Math.max(...models.map((m) => m.accuracy));
  const fastest = Math.min(...models.map((m) => m.p50Ms));
  const byLatency = (a: ComparedModel, b: ComparedModel) => a.p50Ms - b.p50Ms;
  if (useCase === 'speed') return models.filter((m) => m.accuracy >= best - 0.01).sort(byLatency)[0];
  if (useCase === 'accuracy') return [...models].sort((a, b) => b.accuracy - a.accuracy || byLatency(a, b))[0];
  const score = (m: ComparedModel) => m.accuracy - 0.005 * Math.log2(m.p50Ms / fastest);
  return [...models].sort((a, b) => score(b) - score(a) || byLatency(a, b))[0];
}
