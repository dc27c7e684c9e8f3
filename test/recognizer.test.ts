import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigitRecognizer, Ensemble, AudioInputError, ModelError, OptionsError, decodeAudioInput, decodeWav, evaluate, loadEvalSet, float32ToInt16 } from '../src/index.js';
import { FSDD_RECORDINGS } from './fsdd.js';
import { clickClip } from './stream/fixtures.js';
import { forgetLowRateWarnings, LOW_RATE_WARNING } from '../src/model/rate-warning.js';
import { WebRecognizer } from '../src/web/recognizer.js';

const clip = (name: string) => join(FSDD_RECORDINGS, `${name}.wav`);
const TEST_CLIPS = ['0_george_0', '1_jackson_1', '2_lucas_2', '3_nicolas_3', '4_theo_4', '5_yweweler_0', '6_george_1', '7_jackson_2', '8_lucas_3', '9_nicolas_4'];
const work = mkdtempSync(join(tmpdir(), 'sd-recognizer-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('DigitRecognizer (shipped default model)', function () {
  let r: DigitRecognizer;
  before(async () => {
    r = await DigitRecognizer.load();
  });
  after(async () => r.dispose());

  it('recognizes FSDD test clips from file paths', async () => {
    const predictions = await Promise.all(TEST_CLIPS.map((n) => r.predict(clip(n))));
    const correct = predictions.filter((p, i) => p.digit === i).length;
    assert.ok(correct >= 9, `only ${correct}/10 right: ${predictions.map((p) => p.digit).join(',')}`);
    for (const p of predictions) {
      assert.equal(p.probabilities.length, r.labels.length);
      assert.ok(Math.abs(p.probabilities.reduce((s, v) => s + v, 0) - 1) < 1e-4);
      assert.ok(p.timings.totalMs > 0 && p.timings.featuresMs >= 0 && p.timings.modelMs > 0);
    }
  });

  it('gives the same answer for a path, WAV bytes, float PCM and int16 PCM', async () => {
    const path = clip('7_theo_2');
    const bytes = readFileSync(path);
    const { samples, sampleRate } = decodeWav(bytes);
    const outs = await Promise.all([r.predict(path), r.predict(bytes), r.predict({ samples, sampleRate }), r.predict({ samples: float32ToInt16(samples), sampleRate })]);
    for (const o of outs.slice(1)) {
      assert.equal(o.digit, outs[0].digit);
      for (let i = 0; i < o.probabilities.length; i++) assert.ok(Math.abs(o.probabilities[i] - outs[0].probabilities[i]) < 1e-4);
    }
  });

  // fp32: a batch computes exactly what single runs do (measured: 2e-7). int8: float math ahead of a
  // quantizer (the per-clip mean subtraction, the squeeze-excitation pooling) can differ in the last bit
  // between ORT's batched and single kernels, which moves an activation by one quantization step now
  // and then: measured up to 1.2e-2 on a low-confidence clip; rows mixed up would differ by ~1.
  for (const [model, tolerance] of [['models/default.onnx', 1e-5], ['models/default.int8.onnx', 5e-2]] as const) {
    it(`predictBatch runs one batch and matches one-by-one predictions (${model})`, async () => {
      const rec = await DigitRecognizer.load({ model });
      try {
        const paths = TEST_CLIPS.map(clip);
        const batch = await rec.predictBatch(paths);
        const single = await Promise.all(paths.map((p) => rec.predict(p)));
        batch.forEach((b, i) => {
          assert.equal(b.digit, single[i].digit);
          b.probabilities.forEach((v, k) => assert.ok(Math.abs(v - single[i].probabilities[k]) < tolerance, `${paths[i]} label ${k}: ${v} vs ${single[i].probabilities[k]}`));
        });
        assert.deepEqual(await rec.predictBatch([]), []);
      } finally {
        await rec.dispose();
      }
    });
  }

  it('topK lists labels by falling probability', async () => {
    const top = await r.topK(clip('5_lucas_1'), 3);
    assert.equal(top.length, 3);
    assert.ok(top[0].probability >= top[1].probability && top[1].probability >= top[2].probability);
  });

  it('handles 44.1 kHz stereo 24-bit input (resampled by the DSP core)', async () => {
    const src = clip('4_george_2');
    const out = join(work, 'stereo44k.wav');
    execFileSync('sox', ['-R', src, '-r', '44100', '-b', '24', '-c', '2', out]);
    const [a, b] = await Promise.all([r.predict(src), r.predict(out)]);
    assert.equal(b.digit, a.digit);
  });

  it('warns once (SPOKEN_DIGITS_LOW_RATE) of audio at a lower rate than the model\'s, never of the model\'s rate or above', async () => {
    const src = clip('4_george_2');
    const low = join(work, 'low4k.wav');
    const high = join(work, 'high16k.wav');
    execFileSync('sox', ['-R', src, '-r', '4000', low]);
    execFileSync('sox', ['-R', src, '-r', '16000', high]);
    const warnings: Error[] = [];
    // Node's own printer set aside while the test listens (it would print the warning into the test report).
    const printers = process.listeners('warning');
    process.removeAllListeners('warning');
    process.on('warning', (w) => warnings.push(w));
    // An earlier test in the same process (a Listener pushed 4 kHz audio) may have had it already.
    forgetLowRateWarnings();
    try {
      for (const input of [src, low, low, high]) await r.predict(input);
      await r.predictBatch([low]);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.removeAllListeners('warning');
      for (const p of printers) process.on('warning', p);
    }
    const ours = warnings.filter((w) => (w as NodeJS.ErrnoException).code === LOW_RATE_WARNING);
    assert.equal(ours.length, 1, ours.map((w) => w.message).join('\n'));
    assert.match(ours[0].message, /^audio at 4000 Hz holds no sound above 2000 Hz, and the model hears speech up to 4000 Hz .*record at 8000 Hz or more$/);
  });

  it('rejects digital silence instead of guessing a digit', async () => {
    const pick = (d: { isDigit: boolean; digit: number | null; rejectedBy: string | null }) => [d.isDigit, d.digit, d.rejectedBy];
    const p = await r.predict({ samples: new Float32Array(8000), sampleRate: 8000 });
    assert.deepEqual([p.isDigit, p.digit, p.rejectedBy], [false, null, 'silence']);
    // Said so also where the model itself turns it down (the shipped model's "not a digit" class wins on all zeros).
    const faint = new Float32Array(8000).map((_, i) => 1e-4 * Math.sin(i * 0.37));
    assert.equal((await r.predict({ samples: faint, sampleRate: 8000 })).rejectedBy, 'silence');
    // The browser's recognizer (spoken-digits/web) says so for one clip as for a batch.
    const web = await WebRecognizer.load(readFileSync('models/default.int8.onnx'));
    try {
      for (const samples of [new Float32Array(8000), faint]) assert.deepEqual(pick(await web.recognize(samples, 8000)), [false, null, 'silence']);
      assert.deepEqual(pick((await web.recognizeBatch([{ samples: faint, sampleRate: 8000 }]))[0]), [false, null, 'silence']);
    } finally {
      await web.dispose();
    }
  });

  it('rejects a click (under 80 ms of sound) as too short instead of taking it for a digit, alone or in an ensemble; the shortest FSDD digits still count', async () => {
    const p = await r.predict({ samples: clickClip(), sampleRate: 8000 });
    assert.deepEqual([p.isDigit, p.digit, p.rejectedBy], [false, null, 'too-short'], JSON.stringify({ candidate: p.candidate, confidence: p.confidence }));
    // The rule rejects it, not the threshold or the "not a digit" class: the model alone takes it for a digit.
    assert.ok(p.confidence >= r.threshold, `confidence ${p.confidence}`);
    assert.equal(p.labels[p.probabilities.indexOf(Math.max(...p.probabilities))], String(p.candidate));
    // An ensemble whose other member calls it "none" did accept it (a 6 at 0.37-0.41): one member's measure speaks for all.
    const pair = await Ensemble.load(['models/default.int8.onnx', 'models/small.int8.onnx']);
    try {
      const e = await pair.predict({ samples: clickClip(), sampleRate: 8000 });
      assert.deepEqual([e.isDigit, e.rejectedBy], [false, 'too-short']);
      assert.equal((await pair.predict({ samples: new Float32Array(8000), sampleRate: 8000 })).rejectedBy, 'silence');
    } finally {
      await pair.dispose();
    }
    // FSDD's two shortest (110 ms of speech; a faint "s"): digits as before.
    for (const name of ['6_nicolas_4', '6_yweweler_46']) assert.equal((await r.predict(clip(name))).digit, 6, name);
  });

  it('refuses bad input with typed errors', async () => {
    await assert.rejects(r.predict({ samples: new Float32Array([0.1, NaN, 0.2]), sampleRate: 8000 }), AudioInputError);
    await assert.rejects(r.predict({ samples: new Float32Array(0), sampleRate: 8000 }), AudioInputError);
    await assert.rejects(r.predict({ samples: new Float32Array(100), sampleRate: 0 }), AudioInputError);
    await assert.rejects(r.predict({ samples: new Float32Array(8000 * 61), sampleRate: 8000 }), /streaming Listener/);
    await assert.rejects(r.predict(join(work, 'missing.wav')), /missing\.wav/);
    await assert.rejects(r.predict(new TextEncoder().encode('not a wav file at all')), /WAV|RIFF/i);
    // Samples taken as they are (predictSamples, the browser's recognize) are not clamped, but never garbage either:
    // NaN, Inf and floats beyond ±16 (a square wave the model would read as a digit) refused with their index.
    const web = await WebRecognizer.load(readFileSync('models/default.int8.onnx'));
    try {
      for (const [samples, problem] of [[new Float32Array([0.1, NaN, 0.2]), /a non-finite sample \(NaN\) at index 1/], [new Float32Array(8000).fill(0.5).fill(1e30, 7), /far beyond full scale \(1\.0+\d*e\+30; .*\) at index 7/]] as const) {
        for (const attempt of [r.predictSamples(samples, 8000), web.recognize(samples, 8000), web.recognizeBatch([{ samples, sampleRate: 8000 }])]) {
          await assert.rejects(attempt, (e: unknown) => e instanceof AudioInputError && problem.test(e.message));
        }
      }
      // Hot but within ±16: heard, not refused.
      const hot = new Float32Array(8000).map((_, i) => 8 * Math.sin(i / 5));
      assert.equal((await r.predictSamples(hot, 8000)).labels.length, 11);
      assert.equal((await web.recognize(hot, 8000)).probabilities.length, 11);
    } finally {
      await web.dispose();
    }
  });
});

describe('DigitRecognizer.load errors', () => {
  it('a missing model file is a ModelError naming the path', async () => {
    await assert.rejects(DigitRecognizer.load({ model: join(work, 'nope.onnx') }), (e: unknown) => e instanceof ModelError && /nope\.onnx: file not found/.test(e.message));
  });
  it('a file that is not ONNX is a ModelError', async () => {
    await assert.rejects(DigitRecognizer.load({ model: clip('1_theo_1') }), (e: unknown) => e instanceof ModelError && /not an ONNX model/.test(e.message));
  });
  it('an out-of-range threshold is refused', async () => {
    await assert.rejects(DigitRecognizer.load({ threshold: 2 }), OptionsError);
  });
});

describe('Ensemble', () => {
  it('combines members and reports their disagreement', async () => {
    const e = await Ensemble.load([readFileSync(join('models', 'default.onnx')), readFileSync(join('models', 'default.onnx'))]);
    const p = await e.predict(clip('3_jackson_0'));
    assert.equal(p.members.length, 2);
    assert.equal(p.digit, p.members[0].digit);
    assert.ok(p.uncertainty < 1e-6, 'identical members cannot disagree');
    assert.equal(p.clipped, undefined);
    // A clip driven into the rails (x12, clamped at full scale) is said to be clipped, as a member says it.
    const { samples, sampleRate } = await decodeAudioInput(clip('5_nicolas_3'));
    const loud = await e.predict({ samples: samples.map((v) => v * 12), sampleRate });
    assert.ok(loud.clipped !== undefined && loud.clipped === loud.members[0].clipped && loud.clipped > 0.01, String(loud.clipped));
    await e.dispose();
  });
  it('feeds each member the clip as the member alone gets it (cut to its speech)', async () => {
    // Half a second of faint noise before the word and after: the model was trained on clips cut to
    // their speech, and sees a different window if the padding goes in.
    const { samples, sampleRate } = await decodeAudioInput(clip('6_george_2'));
    const padded = new Float32Array(samples.length + sampleRate);
    for (let i = 0; i < padded.length; i++) padded[i] = 1e-3 * Math.sin(i * 0.37);
    padded.set(samples, sampleRate / 2);
    const model = readFileSync(join('models', 'small.onnx'));
    const [e, single] = await Promise.all([Ensemble.load([model]), DigitRecognizer.load({ model })]);
    const [together, alone] = [await e.predict({ samples: padded, sampleRate }), await single.predict({ samples: padded, sampleRate })];
    assert.deepEqual(Array.from(together.members[0].probabilities), Array.from(alone.probabilities));
    await Promise.all([e.dispose(), single.dispose()]);
  });
});

describe('evaluate', () => {
  it('reports accuracy, per-class/per-speaker figures and rejection of non-digit clips from a manifest', async () => {
    const noise = join(work, 'noise.wav');
    execFileSync('sox', ['-R', '-n', '-r', '8000', '-b', '16', '-c', '1', noise, 'synth', '0.8', 'whitenoise', 'vol', '0.3']);
    const manifest = join(work, 'manifest.csv');
    writeFileSync(manifest, ['file,label', ...TEST_CLIPS.map((n, i) => `${clip(n)},${i}`), `${noise},none`, `${join(work, 'silence.wav')},none`].join('\n'));
    writeFileSync(join(work, 'silence.wav'), readFileSync(join('test', 'fixtures', 'wav', 's16.wav')).subarray(0, 44));
    const r = await DigitRecognizer.load();
    const report = await evaluate(r, await loadEvalSet(manifest));
    await r.dispose();
    assert.equal(report.n, 10);
    assert.equal(report.nNone + report.errors.length, 2);
    assert.ok(report.accuracy! >= 0.9);
    assert.equal(Object.keys(report.perClass).length, 10);
    assert.ok(report.perSpeaker.george.n === 2);
    assert.equal(Object.values(report.confusion).reduce((s, row) => s + Object.values(row).reduce((a, b) => a + b, 0), 0), 10 + report.nNone);
    assert.ok(report.falseAccept !== null && report.falseReject! >= 0);
  });

  it('applies the official split to FSDD-named folders and refuses bad manifests', async () => {
    const test = await loadEvalSet(FSDD_RECORDINGS, 'test');
    assert.equal(test.length, 300);
    assert.ok(test.every((t) => /_[0-4]\.wav$/.test(t.path)));
    await assert.rejects(loadEvalSet(FSDD_RECORDINGS, 'dev' as 'test'), (err: Error) => err instanceof OptionsError && /split "dev" must be 'test', 'train' or 'all'/.test(err.message));
    const bad = join(work, 'bad.csv');
    writeFileSync(bad, 'file,label\nx.wav,eleven\n');
    await assert.rejects(loadEvalSet(bad), /label 'eleven'/);
    await assert.rejects(loadEvalSet(join(work, 'no-such-dir')), /no such file or directory/);
    await assert.rejects(loadEvalSet(work), /no \{digit\}_\{speaker\}_\{take\}\.wav files/);
  });
});

describe('DigitRecognizer: models trained on clips cut to their speech', function () {
  // The shipped model with the speech_trim key added: the recognizer must cut clips exactly as the
  // DSP core's speechExtent does (as training and the stream segmenter do) when a model says so.
  let withTrim: DigitRecognizer;
  let plain: DigitRecognizer;
  let padded: Float32Array;
  before(async () => {
    const { decodeModel, encodeModel } = await import('../src/train/onnx/graph.js');
    const { defaultModelPath } = await import('../src/index.js');
    const m = decodeModel(new Uint8Array(readFileSync(defaultModelPath())));
    delete m.metadata['spoken_digits.speech_trim'];
    const plainBytes = encodeModel(m);
    m.metadata['spoken_digits.speech_trim'] = JSON.stringify({ dropDb: 40, marginMs: 50, keepWithinDb: 20 });
    withTrim = await DigitRecognizer.load({ model: encodeModel(m) });
    plain = await DigitRecognizer.load({ model: plainBytes });
    const { samples } = decodeWav(readFileSync(clip('6_nicolas_1')));
    padded = new Float32Array(4000 + samples.length + 2400); // 500 ms before, 300 ms after
    for (let i = 0; i < padded.length; i++) padded[i] = 1e-4 * Math.sin(i * 0.37); // a faint hum, not digital silence
    padded.set(samples, 4000);
  });
  after(async () => Promise.all([withTrim.dispose(), plain.dispose()]));

  it('reads the key and cuts clips with the core before features', async () => {
    assert.deepEqual(withTrim.info.speechTrim, { dropDb: 40, marginMs: 50, keepWithinDb: 20 });
    assert.equal(plain.info.speechTrim, null);
    const { loadStreamCore } = await import('../src/stream/core.js');
    const { cutToSpeech } = await import('../src/stream/speech-cut.js');
    const cut = cutToSpeech(await loadStreamCore(), padded, 8000, { dropDb: 40, marginMs: 50, keepWithinDb: 20 });
    assert.ok(cut.length < padded.length - 4000, `cut to ${cut.length} of ${padded.length} samples`);
    const [a, b] = await Promise.all([withTrim.predict({ samples: padded, sampleRate: 8000 }), plain.predict({ samples: cut, sampleRate: 8000 })]);
    assert.deepEqual(Array.from(a.probabilities), Array.from(b.probabilities));
    const whole = await plain.predict({ samples: padded, sampleRate: 8000 });
    assert.notDeepEqual(Array.from(whole.probabilities), Array.from(a.probabilities), 'the uncut clip reads differently (else this test proves nothing)');
  });

  it('takes PCM said to be cut already (cutToSpeech: false) as it is, and says how it cuts (speechTrim)', async () => {
    assert.deepEqual(withTrim.speechTrim, { dropDb: 40, marginMs: 50, keepWithinDb: 20 });
    assert.equal(plain.speechTrim, null);
    const { loadStreamCore } = await import('../src/stream/core.js');
    const { cutToSpeech } = await import('../src/stream/speech-cut.js');
    const cut = cutToSpeech(await loadStreamCore(), padded, 8000, withTrim.speechTrim!);
    const [asIs, cutHere, uncut] = await withTrim.predictBatch([
      { samples: cut, sampleRate: 8000, cutToSpeech: false },
      { samples: padded, sampleRate: 8000 },
      { samples: padded, sampleRate: 8000, cutToSpeech: false },
    ]);
    assert.deepEqual(Array.from(asIs.probabilities), Array.from(cutHere.probabilities));
    const whole = await plain.predict({ samples: padded, sampleRate: 8000 });
    assert.deepEqual(Array.from(uncut.probabilities), Array.from(whole.probabilities), 'cutToSpeech: false leaves the padding in');
  });

  it('resamples a clip to the model rate before cutting it, as training does', async () => {
    const { loadStreamCore } = await import('../src/stream/core.js');
    const { cutToSpeech } = await import('../src/stream/speech-cut.js');
    const { loadFeatureBackend } = await import('../src/features/index.js');
    const backend = await loadFeatureBackend();
    const core = await loadStreamCore();
    const hi = backend.resample(padded, 8000, 48000);
    const trim = withTrim.speechTrim!;
    const trainingWay = cutToSpeech(core, backend.resample(hi, 48000, 8000), 8000, trim);
    const cutFirst = backend.resample(cutToSpeech(core, hi, 48000, trim), 48000, 8000);
    const [mine, training, other] = await withTrim.predictBatch([
      { samples: hi, sampleRate: 48000 },
      { samples: trainingWay, sampleRate: 8000, cutToSpeech: false },
      { samples: cutFirst, sampleRate: 8000, cutToSpeech: false },
    ]);
    assert.deepEqual(Array.from(mine.probabilities), Array.from(training.probabilities));
    // Cut first, the resampler's edges land on the speech and the model reads it otherwise.
    assert.notDeepEqual(Array.from(other.probabilities), Array.from(training.probabilities), 'the other order reads the same (else this test proves nothing)');
  });

  it('predictSamples (what benchmarks of the model itself use) takes the samples as they are', async () => {
    const [a, b] = await Promise.all([withTrim.predictSamples(padded, 8000), plain.predictSamples(padded, 8000)]);
    assert.deepEqual(Array.from(a.probabilities), Array.from(b.probabilities));
  });

  it('refuses a malformed speech_trim key', async () => {
    const { decodeModel, encodeModel } = await import('../src/train/onnx/graph.js');
    const { defaultModelPath } = await import('../src/index.js');
    const m = decodeModel(new Uint8Array(readFileSync(defaultModelPath())));
    m.metadata['spoken_digits.speech_trim'] = JSON.stringify({ dropDb: -3, marginMs: 50 });
    await assert.rejects(DigitRecognizer.load({ model: encodeModel(m) }), (e: Error) => e instanceof ModelError && /speech_trim/.test(e.message));
  });
});
