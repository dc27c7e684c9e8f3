/** The p-quantile of `xs` (the nearest rank at or below; NaN for none): the benches' p50 / p95 / max. */
export function quantile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
}
