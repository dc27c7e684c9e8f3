import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFeatureBackend } from '../src/features/index.js';
import { NONE_LABEL_INDEX, loadWordAudio, noneExamples, wordExcerpt } from '../src/train/dataset.js';
import { Rng } from '../src/train/random.js';

const RATE = 8000;

describe('train: "not a digit" examples', function () {
  this.timeout(60000);
  let dir: string;
  let words: Float32Array[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sd-none-'));
    const files = ['kitchen', 'window', 'tomorrow'].map((w) => {
      const f = join(dir, `${w}.wav`);
      execFileSync('espeak-ng', ['-v', 'en-us', '-w', f, w]);
      return f;
    });
    words = loadWordAudio(files, RATE, await loadFeatureBackend());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const draw = (e: ReturnType<typeof noneExamples>[number], r: Rng) => (typeof e.audio === 'function' ? e.audio(r) : e.audio);

  it('is up to 60% words, the rest noise at -50..-10 dB and near-silence, all labelled "none"', () => {
    const ex = noneExamples(words, 10, RATE, new Rng(1), { freshWords: true });
    assert.equal(ex.length, 10);
    assert.ok(ex.every((e) => e.label === NONE_LABEL_INDEX));
    const r = new Rng(2);
    // Three words for six word slots: each word once, the other slots noise.
    for (const e of ex.slice(0, 3)) assert.ok(words.includes(draw(e, r)), 'a word slot draws one of the words, whole');
    for (const [k, e] of ex.slice(3).entries()) {
      const a = draw(e, r);
      assert.ok(!words.includes(a));
      const rmsDb = 10 * Math.log10(a.reduce((s, v) => s + v * v, 0) / a.length);
      if (e.raw) assert.ok(rmsDb <= -60 + 1e-6, `near-silence at ${rmsDb} dB`);
      else assert.ok(rmsDb >= -50 - 1e-6 && rmsDb <= -10 + 1e-6, `noise slot ${k} at ${rmsDb} dB`);
    }
    assert.ok(ex.some((e) => e.raw) && ex.slice(3).some((e) => !e.raw), 'both noise and near-silence');
  });

  it('draws a fresh whole word for each word slot every time (training), a fixed one without freshWords (validation)', () => {
    const ex = noneExamples(words, 10, RATE, new Rng(1), { freshWords: true });
    const r = new Rng(4);
    const drawn = new Set<Float32Array>();
    for (let k = 0; k < 50; k++) {
      const a = draw(ex[0], r);
      assert.ok(words.includes(a));
      drawn.add(a);
    }
    assert.equal(drawn.size, words.length, 'every word comes up over 50 draws');
    const fixed = noneExamples(words, 10, RATE, new Rng(1));
    assert.ok(fixed.slice(0, 3).every((e) => e.audio instanceof Float32Array), 'validation words are fixed audio, the same every epoch');
  });

  it('draws a 0.3-1.0 s excerpt of a phrase (a clip over 1.1 s), somewhere different each time, and a word whole', () => {
    const phrase = Float32Array.from({ length: 4 * RATE }, (_, i) => i);
    const r = new Rng(5);
    const starts = new Set<number>();
    for (let k = 0; k < 40; k++) {
      const x = wordExcerpt(phrase, RATE, r);
      assert.ok(x.length >= 0.3 * RATE && x.length <= 1.0 * RATE, `excerpt of ${x.length} samples`);
      // A contiguous stretch of the phrase (its samples are their own positions).
      assert.ok(x[0] >= 0 && x[x.length - 1] === x[0] + x.length - 1 && x[x.length - 1] < phrase.length);
      starts.add(x[0]);
    }
    assert.ok(starts.size > 30, `${starts.size} different starts of 40`);
    const word = new Float32Array(Math.round(1.1 * RATE));
    assert.equal(wordExcerpt(word, RATE, r), word, 'a clip of up to 1.1 s is drawn whole');
    const ex = noneExamples([phrase], 10, RATE, new Rng(1), { freshWords: true });
    assert.ok(draw(ex[0], r).length <= RATE, 'a word slot that draws a phrase gets an excerpt');
  });
});
