import assert from 'node:assert/strict';
import { DigitRecognizer } from '../../src/model/recognizer.js';
import { Listener, loadStreamCore, type SegmentClassifier, type SplitOptions } from '../../src/stream/index.js';
import { splitSegment } from '../../src/stream/segmenter.js';
import { concatFloat, DIGIT_WORDS, editDistance, makeDigitString, rng, silence, SPEAKERS, spokenWords } from './fixtures.js';

// Words from the development list (bench/stream-words.ts DEV_WORDS: neither the benchmark's held-out
// words nor the "none" class training words), spoken by espeak-ng.
const VOICES = ['en-us', 'en', 'en-us+f3', 'en+m3'];

async function heard(recognizer: DigitRecognizer, samples: Float32Array, split: SplitOptions = {}) {
  const listener = await Listener.create({ recognizer, split });
  let digits = '';
  let events = 0;
  listener.on('digit', (e) => {
    digits += e.digit;
    events++;
  });
  listener.on('rejected', () => events++);
  for (let i = 0; i < samples.length; i += 1600) listener.push(samples.subarray(i, i + 1600), 8000);
  await listener.end();
  return { digits, events };
}

/** Each word alone (espeak-ng, four voices) between pauses in faint noise: the digits it caused, and all its events. */
async function wordEvents(recognizer: DigitRecognizer, words: string[], split: SplitOptions = {}, voices = VOICES): Promise<{ digits: number; events: number }> {
  const r = rng(31);
  const n = { digits: 0, events: 0 };
  for (const w of words)
    for (const v of voices) {
      const x = concatFloat([silence(0.5), spokenWords(w, v, 150), silence(0.8)]);
      for (let i = 0; i < x.length; i++) x[i] += 0.001 * (r() * 2 - 1);
      const got = await heard(recognizer, x, split);
      n.digits += got.digits.length;
      n.events += got.events;
    }
  return n;
}

const falseDigits = async (...args: Parameters<typeof wordEvents>) => (await wordEvents(...args)).digits;

describe('segmenter: second views and whole-word checks against non-digit words', function () {
  this.timeout(120000);
  let recognizer: DigitRecognizer;
  before(async () => {
    recognizer = await DigitRecognizer.load();
  });

  it('cuts a whole segment as the classifier would (speechTrim), from the contour it has, with the same answers', async () => {
    const core = await loadStreamCore();
    const seen: { samples: Float32Array; cutToSpeech?: boolean }[][] = [];
    // The recognizer, once as it is (the segmenter cuts the whole-segment piece) and once without speechTrim (it cuts it itself).
    const spy = (speechTrim: boolean): SegmentClassifier => ({
      threshold: recognizer.threshold,
      speechTrim: speechTrim ? recognizer.speechTrim : undefined,
      predict: (x) => recognizer.predict(x),
      predictBatch: (xs) => {
        seen.push(xs);
        return recognizer.predictBatch(xs);
      },
    });
    const r = rng(5);
    for (const [digits, pauses] of [['7', [0, 0]], ['38', [30, 60]], ['5', [0, 0]]] as const) {
      const s = makeDigitString(digits, 'lucas', r, { minPauseMs: pauses[0], maxPauseMs: pauses[1], leadMs: 150 });
      seen.length = 0;
      const mine = await splitSegment(s.samples, 8000, core, spy(true), {}, 300);
      const firstMine = seen[0];
      seen.length = 0;
      const theirs = await splitSegment(s.samples, 8000, core, spy(false), {}, 300);
      const firstTheirs = seen[0];
      assert.deepEqual(
        mine.map((p) => [p.start, p.end, Array.from(p.prediction.probabilities ?? [])]),
        theirs.map((p) => [p.start, p.end, Array.from(p.prediction.probabilities ?? [])]),
        digits,
      );
      if (digits.length > 1) continue;
      // The whole segment's first view: cut here (a view of the segment, flagged) against cut by the recognizer.
      assert.equal(mine.length, 1, digits);
      assert.equal(firstMine[0].cutToSpeech, false, digits);
      assert.ok(firstMine[0].samples.length < s.samples.length && firstMine[0].samples.buffer === s.samples.buffer, `${digits}: a view of the cut segment`);
      assert.equal(firstTheirs[0].cutToSpeech, undefined, digits);
      assert.equal(firstTheirs[0].samples.length, s.samples.length, digits);
    }
  });

  it('a digit the first view is sure of costs one model run of one clip; an unsure piece, or every piece when asked, gets its second view', async () => {
    const core = await loadStreamCore();
    const runs: number[] = [];
    const counting: SegmentClassifier = {
      threshold: recognizer.threshold,
      speechTrim: recognizer.speechTrim,
      predict: (x) => recognizer.predict(x),
      predictBatch: (xs) => {
        runs.push(xs.length);
        return recognizer.predictBatch(xs);
      },
    };
    const digit = makeDigitString('7', 'lucas', rng(5), { leadMs: 150 }).samples;
    const [sure] = await splitSegment(digit, 8000, core, counting, {}, 300);
    assert.deepEqual([sure.prediction.digit, runs], [7, [1]]);
    // Asked for everywhere (verifyUnsureBelow above 1): the second view after the first.
    runs.length = 0;
    const [both] = await splitSegment(digit, 8000, core, counting, { verifyUnsureBelow: 2 }, 300);
    assert.deepEqual([both.prediction.digit, runs], [7, [1, 1]]);
    // A word that is no digit: the first view is not sure of a digit, so the second is asked for.
    runs.length = 0;
    const pieces = await splitSegment(concatFloat([silence(0.15), spokenWords('magnet'), silence(0.3)]), 8000, core, counting, {}, 300);
    assert.ok(pieces.every((p) => !p.prediction.isDigit), JSON.stringify(pieces.map((p) => p.prediction.digit)));
    // Every piece unsure: each model run of first views is followed by one of as many second views.
    assert.ok(runs.length >= 2 && runs.length % 2 === 0 && runs.every((n, i) => i % 2 === 1 || runs[i + 1] === n), `runs of ${runs.join(', ')} clips`);
  });

  it('a piece is also classified followed by silence; words that only read as a digit once trimmed are rejected', async () => {
    const words = ['magnet', 'napkin', 'rocket', 'pocket'];
    const without = await falseDigits(recognizer, words, { verifyTailMs: 0 });
    const withViews = await falseDigits(recognizer, words);
    assert.ok(without >= 8, `without the second view these words gave ${without} digits (the check below would prove nothing)`);
    assert.ok(withViews <= 2, `${withViews} false digits from ${words.length * VOICES.length} words`);
  });

  it('a short segment cut at a closure that reads as one non-digit word gives no digits', async () => {
    // Words that espeak-ng's voices say with a closure the splitter cuts at (each fires 3-6 times without the check).
    const words = ['dentist', 'kitten', 'basket', 'cookie'];
    const without = await wordEvents(recognizer, words, { wholeWordNoneMin: 2 });
    const withCheck = await wordEvents(recognizer, words);
    const items = words.length * VOICES.length;
    assert.ok(without.digits >= 8, `without the whole-word check these words gave ${without.digits} digits`);
    assert.ok(withCheck.digits <= 2, `${withCheck.digits} false digits from ${items} words`);
    // A word the check rejects is one rejected event, not one per piece.
    assert.ok(without.events >= items + 8, `without the check ${without.events} events from ${items} words (the pieces)`);
    assert.ok(withCheck.events <= items + 2, `${withCheck.events} events from ${items} words`);
  });

  it('espeak-ng digits (the same synthesizer as the words) still come out as digits', async () => {
    let right = 0;
    for (const v of VOICES)
      for (const [d, w] of DIGIT_WORDS.entries()) {
        const x = concatFloat([silence(0.5), spokenWords(w, v, 150), silence(0.8)]);
        if ((await heard(recognizer, x)).digits === String(d)) right++;
      }
    assert.ok(right >= 32, `${right} of 40 espeak-ng digits recognized`);
  });

  it('a digit that closes like a pause ("se-ven") comes out as one digit, not as its two pieces', async function () {
    // Two espeak-ng voices whose "seven" closes at its "v" 23 dB deep for 60 ms, a sure pause's depth and
    // length: cut there, "se" read as 6 or a doubtful 7 and "ven" as 1 or 6.
    const r = rng(107);
    const sevens = ['en-gb-x-rp', 'en-us+f2'].map((v) => {
      const x = concatFloat([silence(0.6), spokenWords('seven', v, 150), silence(0.8)]);
      for (let i = 0; i < x.length; i++) x[i] += 0.001 * (r() * 2 - 1);
      return x;
    });
    for (const [k, x] of sevens.entries()) {
      // What this espeak-ng build says must be cut there for the check to show anything.
      const cut = await heard(recognizer, x, { wholeDigitMargin: Infinity });
      if (cut.events < 2) this.skip();
      assert.deepEqual(await heard(recognizer, x), { digits: '7', events: 1 }, `voice ${k}`);
    }
  });

  it('digits joined by 30-90 ms gaps are cut at the deep gap between them, however short it is', async () => {
    const r = rng(41);
    let segErrors = 0;
    let segErrorsLongOnly = 0;
    let errors = 0;
    let total = 0;
    for (let k = 0; k < 20; k++) {
      let digits = '';
      for (let i = 0; i < 6; i++) digits += String(Math.floor(r() * 10));
      const s = makeDigitString(digits, SPEAKERS[k % SPEAKERS.length], r, { minPauseMs: 30, maxPauseMs: 90 });
      const got = await heard(recognizer, s.samples);
      segErrors += Math.abs(got.events - digits.length);
      errors += editDistance(digits, got.digits);
      total += digits.length;
      segErrorsLongOnly += Math.abs((await heard(recognizer, s.samples, { sureAnyLengthDb: Infinity })).events - digits.length);
    }
    assert.ok(segErrors <= 3, `${segErrors} digits merged or split in ${total}`);
    // The deep-gap rule must be what gets them apart: without it, clearly more digits merge or split.
    assert.ok(segErrorsLongOnly >= segErrors + 3, `with long pauses only ${segErrorsLongOnly} digits merged or split, with the rule ${segErrors}`);
    assert.ok(errors / total <= 0.1, `digit error rate ${(errors / total).toFixed(3)}`);
  });
});

describe('Listener: a lower bar for digits inside an open string', function () {
  this.timeout(120000);
  it('a digit that missed only the threshold counts while a string is open: fewer low-confidence rejections and fewer digit errors', async () => {
    const recognizer = await DigitRecognizer.load();
    const r = rng(43);
    const base = { errors: 0, lowConfidence: 0 };
    const inString = { errors: 0, lowConfidence: 0 };
    let total = 0;
    for (let k = 0; k < 100; k++) {
      let digits = '';
      for (let i = 0; i < 7; i++) digits += String(Math.floor(r() * 10));
      const s = makeDigitString(digits, SPEAKERS[k % SPEAKERS.length], r);
      total += digits.length;
      // An explicit threshold above the model's calibrated one (0.26 for the default), so that
      // enough true digits miss it for the lower in-string bar (0.8x) to have something to recover.
      for (const [opts, out] of [
        [{ threshold: 0.6, stringThreshold: 0.6 }, base],
        [{ threshold: 0.6 }, inString],
      ] as const) {
        const listener = await Listener.create({ recognizer, ...opts });
        let heard = '';
        listener.on('digit', (e) => (heard += e.digit));
        listener.on('rejected', (e) => {
          if (e.reason === 'low-confidence') out.lowConfidence++;
        });
        listener.push(s.samples, 8000);
        await listener.end();
        out.errors += editDistance(digits, heard);
      }
    }
    assert.ok(base.lowConfidence >= 5, `only ${base.lowConfidence} low-confidence rejections with the plain threshold (the check below would prove nothing)`);
    assert.ok(inString.lowConfidence < base.lowConfidence, `${inString.lowConfidence} vs ${base.lowConfidence} low-confidence rejections`);
    assert.ok(inString.errors < base.errors, `${inString.errors} vs ${base.errors} digit errors in ${total}`);
    await assert.rejects(Listener.create({ recognizer, stringThreshold: 1.5 }), /stringThreshold/);
  });
});
