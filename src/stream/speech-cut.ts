import type { SpeechTrim } from '../model/metadata.js';

/** The one call of the stream core that cutting needs (native addon or wasm, see core.ts). */
export interface SpeechExtentFinder {
  /**
   * [start, end) of the speech inside `samples` (pre/post-roll trimmed), or null when nothing stands
   * out. keepWithinDb > 0: hops that close to the peak always count as speech (see native/dsp/vad.h).
   */
  speechExtent(samples: Float32Array, sampleRate: number, dropDb: number, marginMs: number, keepWithinDb?: number): [number, number] | null;
}

/**
 * `samples` cut to the speech inside them (a view, not a copy); all of it when nothing stands out.
 * Training, the recognizer, the stream segmenter and the kiosk all cut with this (whole clips with
 * WHOLE_CLIP_SPEECH_TRIM, stream pieces with DEFAULT_SPEECH_TRIM), so a model sees words placed in
 * its window the same way everywhere. No Node imports: the web app bundles it.
 */
export function cutToSpeech(core: SpeechExtentFinder, samples: Float32Array, sampleRate: number, trim: SpeechTrim): Float32Array {
  const extent = core.speechExtent(samples, sampleRate, trim.dropDb, trim.marginMs, trim.keepWithinDb ?? 0);
  return extent ? samples.subarray(extent[0], extent[1]) : samples;
}

/**
 * A whole clip cut as cutToSpeech cuts it, and how long its speech is without the margin (ms; null
 * when nothing stands out, so the clip is kept whole): what a recognizer needs to tell a word from a
 * click (MIN_DIGIT_SPEECH_MS). One extent from the core, the margin added here exactly as the core
 * adds it (sd_speech_extent: lround of the float product, clamped to the clip), not a second pass.
 */
export function cutClipToSpeech(core: SpeechExtentFinder, samples: Float32Array, sampleRate: number, trim: SpeechTrim): { samples: Float32Array; speechMs: number | null } {
  const bare = core.speechExtent(samples, sampleRate, trim.dropDb, 0, trim.keepWithinDb ?? 0);
  if (!bare) return { samples, speechMs: null };
  const f = Math.fround;
  const margin = Math.round(f(f(f(trim.marginMs) * sampleRate) / 1000));
  return { samples: samples.subarray(Math.max(0, bare[0] - margin), Math.min(samples.length, bare[1] + margin)), speechMs: ((bare[1] - bare[0]) / sampleRate) * 1000 };
}
