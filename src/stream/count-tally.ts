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
 * The words of a speaker counting from zero to nine (`repeats` times, or any whole number of times
 * when undefined), each labelled by its place in the count as the stream's digit and rejected events
 * come. What `recordCounting` (Node) and the kiosk's enrollment screen both keep. No Node imports.
 */
export class CountTally {
  readonly pieces: CountedPiece[] = [];

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

  /** Throws EnrollmentError, saying what was heard, unless the words make whole counts that mostly agree with their places. */
  check(): void {
    const pieces = this.pieces;
    const heardList = pieces.map((p) => (p.heard === null ? '?' : String(p.heard))).join(' ') || 'nothing';
    const expected = this.repeats === undefined ? Math.max(10, Math.ceil(pieces.length / 10) * 10) : this.repeats * 10;
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
  }
}
