import { EnrollmentError } from '../errors.js';

/** The digits' English words, 0-9: what the speaker says while counting, and what file names may say (`digits enroll`). */
export const DIGIT_WORDS: readonly string[] = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

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

/** Least share of the words the model must hear as the digit their place says; fewer means the count and the words are out of step. */
const LEAST_AGREEMENT = 0.4;

/**
 * Where the count slips: from which word on (at least 2 words, to the end) the words are heard more
 * often as the digit one place earlier or later than their own, in at least half of them. A word
 * split in two labels every word after it one place later than it is, which the agreement over the
 * whole count can hide (seven of ten right before the split).
 */
function outOfStep(pieces: readonly CountedPiece[]): { from: number; extraWord: boolean } | null {
  let best: { from: number; extraWord: boolean; margin: number } | null = null;
  for (let from = 0; from + 2 <= pieces.length; from++) {
    const tail = pieces.slice(from);
    const own = tail.filter((p) => p.heard === p.digit).length;
    for (const extraWord of [true, false]) {
      // After an extra word each word is labelled one place on (the word for d - 1 labelled d); after a missed one, one place back.
      const slipped = tail.filter((p) => p.heard === (p.digit + (extraWord ? 9 : 1)) % 10).length;
      // Where it slips most clearly: the first word of the slip, not a right one before it.
      if (slipped >= 2 && slipped > own && slipped * 2 >= tail.length && slipped - own > (best?.margin ?? 0)) best = { from, extraWord, margin: slipped - own };
    }
  }
  return best && { from: best.from, extraWord: best.extraWord };
}

/**
 * The words of a speaker counting from zero to nine (`repeats` times, or any whole number of times
 * when undefined), each labelled by its place in the count as the stream's digit and rejected events
 * come. What `recordCounting` (Node) and the kiosk's enrollment screen both keep. No Node imports.
 */
export class CountTally {
  readonly pieces: CountedPiece[] = [];
  /** Words heard after the counts were complete (a recording read to its end): a word split in two or an extra sound. */
  private extra = 0;

  constructor(readonly repeats?: number) {
    if (repeats !== undefined && !(Number.isInteger(repeats) && repeats >= 1 && repeats <= 20)) throw new EnrollmentError(`repeats ${repeats} must be an integer from 1 to 20`);
  }

  /** Whether every word of the counts was heard (never with repeats undefined). */
  get done(): boolean {
    return this.repeats !== undefined && this.pieces.length >= this.repeats * 10;
  }

  /** The digit the next word should be. */
  get next(): number {
    return this.pieces.length % 10;
  }

  /**
   * A stream event: a digit (heard), or a rejected one that is not silence (heard null: a word the
   * model doubts is still a word). Returns the labelled piece, or null once the counts are complete.
   */
  add(heard: number | null, confidence: number, startMs: number, endMs: number): CountedPiece | null {
    if (this.done) return null;
    const piece = { digit: this.next, heard, confidence, startMs, endMs };
    this.pieces.push(piece);
    return piece;
  }

  /** A word heard after the counts were complete, in a recording heard to its end: check() then refuses the count. */
  heardAfterCount(): void {
    this.extra++;
  }

  /** Throws EnrollmentError, saying what was heard, unless the words make whole counts that mostly agree with their places. */
  check(): void {
    const pieces = this.pieces;
    const heardList = pieces.map((p) => (p.heard === null ? '?' : String(p.heard))).join(' ') || 'nothing';
    const words = pieces.length + this.extra;
    const expected = this.repeats === undefined ? Math.max(10, Math.ceil(words / 10) * 10) : this.repeats * 10;
    if (words !== expected)
      throw new EnrollmentError(
        `heard ${words} words, expected ${expected} (counting zero to nine${expected > 10 ? ` ${expected / 10} times` : ''}); the model heard: ${heardList}${this.extra ? ` and ${this.extra} more` : ''}. ` +
          'Pause briefly after each digit, and keep other sounds out of the recording',
      );
    const slip = outOfStep(pieces);
    if (slip !== null)
      throw new EnrollmentError(
        `from word ${slip.from + 1} on, the words were heard as the digit ${slip.extraWord ? 'before' : 'after'} the one their place in the count says (heard: ${heardList}): ` +
          `a word was probably ${slip.extraWord ? 'split in two, or an extra sound counted' : 'missed'}. Record the count again, with a short pause after each digit`,
      );
    const agree = pieces.filter((p) => p.heard === p.digit).length;
    if (agree < LEAST_AGREEMENT * pieces.length)
      throw new EnrollmentError(
        `only ${agree} of ${pieces.length} words were heard as the digit their place in the count says (heard: ${heardList}); a word was probably missed or an extra sound counted. Record the count again`,
      );
  }
}
