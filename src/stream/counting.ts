import { AudioInputError, EnrollmentError } from '../errors.js';
import type { EnrollmentClip } from '../model/enroll.js';
import type { DigitRecognizer } from '../model/recognizer.js';
import type { DecoderOptions } from './decoder.js';
import { Listener } from './listener.js';
import type { AudioSource } from './sources.js';

/** One word heard while the speaker counts: the digit it should be, and what the model heard. */
export interface CountedPiece {
  /** The digit this piece is, by its place in the count (0-9, again from 0 on each repeat). */
  digit: number;
  /** What the model heard (null: no digit), and how sure it was of its best digit. */
  heard: number | null;
  confidence: number;
  startMs: number;
  endMs: number;
}

export interface CountingOptions extends Pick<DecoderOptions, 'sensitivity'> {
  /** The model that finds the words (a loaded DigitRecognizer; default: the shipped model). */
  recognizer?: DigitRecognizer;
  /**
   * How many times the speaker counts 0-9. A live source stops after repeats × 10 words; for a
   * source that ends (a file) it may be omitted: the words heard must then be a multiple of 10.
   */
  repeats?: number;
  /** Each word as it is heard. */
  onPiece?: (piece: CountedPiece) => void;
  /** Longest recording kept, seconds (default 600). */
  maxSeconds?: number;
}

/** Least share of the words the model must hear as the digit their place says; fewer means the count and the words are out of step. */
const LEAST_AGREEMENT = 0.4;

/**
 * Labelled enrollment clips from one recording of a speaker counting from zero to nine (once or
 * several times) with a short pause after each digit: the stream Listener cuts the words, and each
 * word is labelled by its place in the count. What `digits enroll --counting` records and cuts; the
 * clips go to `enrollSpeaker`. Throws EnrollmentError when the words do not add up to whole counts
 * or mostly disagree with their places (a word missed or an extra sound), saying what was heard.
 */
export async function recordCounting(source: AudioSource, options: CountingOptions = {}): Promise<{ clips: EnrollmentClip[]; pieces: CountedPiece[] }> {
  const { repeats } = options;
  if (repeats !== undefined && !(Number.isInteger(repeats) && repeats >= 1 && repeats <= 20)) throw new EnrollmentError(`repeats ${repeats} must be an integer from 1 to 20`);
  if (repeats === undefined && source.realtime) throw new EnrollmentError('a live source needs the number of repeats (it would otherwise never end)');
  const maxSamples = Math.round((options.maxSeconds ?? 600) * source.sampleRate);
  const blocks: Float32Array[] = [];
  let kept = 0;
  const recorded: AudioSource = {
    kind: source.kind,
    sampleRate: source.sampleRate,
    realtime: source.realtime,
    description: source.description,
    close: () => source.close(),
    droppedFrames: () => source.droppedFrames(),
    captureStats: source.captureStats && (() => source.captureStats!()),
    setIdle: source.setIdle && ((idle: boolean) => source.setIdle!(idle)),
    async *[Symbol.asyncIterator]() {
      for await (const block of source) {
        kept += block.length;
        if (kept > maxSamples) throw new AudioInputError(`the counting recording is longer than ${(maxSamples / source.sampleRate).toFixed(0)} s`);
        blocks.push(block);
        yield block;
      }
    },
  };

  const listener = await Listener.create({ recognizer: options.recognizer, sensitivity: options.sensitivity, adaptVoice: false });
  const pieces: CountedPiece[] = [];
  const add = (heard: number | null, confidence: number, startMs: number, endMs: number) => {
    if (repeats !== undefined && pieces.length >= repeats * 10) return;
    const piece = { digit: pieces.length % 10, heard, confidence, startMs, endMs };
    pieces.push(piece);
    options.onPiece?.(piece);
    if (repeats !== undefined && pieces.length === repeats * 10) void listener.stop();
  };
  listener.on('digit', (e) => add(e.digit, e.confidence, e.startMs, e.endMs));
  // A quiet blip is not a word; a word the model doubts still is one.
  listener.on('rejected', (e) => e.reason !== 'silence' && add(null, e.confidence, e.startMs, e.endMs));
  await listener.run(recorded);

  const heardList = pieces.map((p) => (p.heard === null ? '?' : String(p.heard))).join(' ') || 'nothing';
  const expected = repeats === undefined ? Math.max(10, Math.ceil(pieces.length / 10) * 10) : repeats * 10;
  if (pieces.length !== expected)
    throw new EnrollmentError(
      `heard ${pieces.length} words, expected ${expected} (counting zero to nine${expected > 10 ? ` ${expected / 10} times` : ''}); the model heard: ${heardList}. ` +
        'Pause briefly after each digit, and keep other sounds out of the recording',
    );
  const agree = pieces.filter((p) => p.heard === p.digit).length;
  if (agree < LEAST_AGREEMENT * pieces.length)
    throw new EnrollmentError(
      `only ${agree} of ${pieces.length} words were heard as the digit their place in the count says (heard: ${heardList}); a word was probably missed or an extra sound counted. Record the count again`,
    );

  const audio = new Float32Array(kept);
  let at = 0;
  for (const b of blocks) {
    audio.set(b, at);
    at += b.length;
  }
  const rate = source.sampleRate;
  const clips = pieces.map((p) => ({
    digit: p.digit,
    input: { samples: audio.slice(Math.floor((p.startMs * rate) / 1000), Math.ceil((p.endMs * rate) / 1000)), sampleRate: rate },
  }));
  return { clips, pieces };
}
