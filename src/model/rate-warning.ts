/** The code of the process warning for audio recorded at a lower rate than the model's. */
export const LOW_RATE_WARNING = 'SPOKEN_DIGITS_LOW_RATE';
const warned = new Set<string>();

/** Forgets which rates were warned of, so the next one warns again (for tests; not part of the package's API). */
export function forgetLowRateWarnings(): void {
  warned.clear();
}

/**
 * A process warning, once per pair of rates, when audio comes at a lower sample rate than the
 * model's: resampling it up adds no sound above half its rate, and the model, trained on speech up
 * to half its own, hears such audio much worse (FSDD's test clips at 4 kHz: about half right,
 * against 100% at 8 kHz; `digits eval` on clips made with sox). Not an error: it is what there is.
 */
export function warnOnceOfLowRate(rate: number, modelRate: number): void {
  if (!(rate < modelRate)) return;
  const key = `${rate}/${modelRate}`;
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(
    `audio at ${rate} Hz holds no sound above ${rate / 2} Hz, and the model hears speech up to ${modelRate / 2} Hz (it was trained on ${modelRate} Hz recordings): ` +
      `expect more digits misheard or rejected; record at ${modelRate} Hz or more`,
    { code: LOW_RATE_WARNING },
  );
}
