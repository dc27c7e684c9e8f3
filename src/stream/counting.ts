import { heardNoWord } from '../model/decision.js';
import { AudioInputError, EnrollmentError } from '../errors.js';
import { CountTally, type CountedPiece } from './count-tally.js';
import type { EnrollmentClip } from '../model/enroll.js';
import type { DigitRecognizer } from '../model/recognizer.js';
import type { DecoderOptions } from './decoder.js';
import { Listener } from './listener.js';
import type { AudioSource } from './sources.js';

export type { CountedPiece } from './count-tally.js';

export interface CountingOptions extends Pick<DecoderOptions, 'sensitivity'> {
  /** The model that finds the words (a loaded DigitRecognizer; default: the shipped model). */
  recognizer?: DigitRecognizer;
  /**
   * How many times the speaker counts 0-9. A file read as fast as it comes is heard to its end and
   * must hold exactly repeats × 10 words (a word split in two is one too many); any other source (a
   * microphone, a pipe, a file at real time) stops after repeats × 10 words. For a file it may be
   * omitted: the words heard must then be a multiple of 10.
   */
  repeats?: number;
  /** Each word as it is heard. */
  onPiece?: (piece: CountedPiece) => void;
  /** Longest recording kept, seconds (default 600). */
  maxSeconds?: number;
}

/**
 * Labelled enrollment clips from one recording of a speaker counting from zero to nine (once or
 * several times) with a short pause after each digit: the stream Listener cuts the words, and each
 * word is labelled by its place in the count. What `digits enroll --counting` records and cuts; the
 * clips go to `enrollSpeaker`. Throws EnrollmentError when the words do not add up to whole counts
 * or mostly disagree with their places (a word missed or an extra sound), saying what was heard.
 */
export async function recordCounting(source: AudioSource, options: CountingOptions = {}): Promise<{ clips: EnrollmentClip[]; pieces: CountedPiece[] }> {
  const { repeats } = options;
  const tally = new CountTally(repeats);
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
  // A recording is heard to its end, so a word too many (one split in two) is found; live (or from a pipe that may
  // stay open), the count ends with its last word, and what is still heard as the listener stops is not counted.
  const toTheEnd = source.kind === 'file' && !source.realtime;
  const add = (heard: number | null, confidence: number, startMs: number, endMs: number) => {
    if (tally.done) {
      if (toTheEnd) tally.heardAfterCount();
      return;
    }
    const piece = tally.add(heard, confidence, startMs, endMs)!;
    options.onPiece?.(piece);
    if (tally.done && !toTheEnd) void listener.stop();
  };
  listener.on('digit', (e) => add(e.digit, e.confidence, e.startMs, e.endMs));
  // A quiet blip or a click is not a word; a word the model doubts still is one.
  listener.on('rejected', (e) => !heardNoWord(e.reason) && add(null, e.confidence, e.startMs, e.endMs));
  await listener.run(recorded);
  tally.check();

  const audio = new Float32Array(kept);
  let at = 0;
  for (const b of blocks) {
    audio.set(b, at);
    at += b.length;
  }
  const rate = source.sampleRate;
  const pieces = tally.pieces;
  const clips = pieces.map((p) => ({
    digit: p.digit,
    input: { samples: audio.slice(Math.floor((p.startMs * rate) / 1000), Math.ceil((p.endMs * rate) / 1000)), sampleRate: rate },
  }));
  return { clips, pieces };
}
