import assert from 'node:assert/strict';
import { listFsddClips } from '../src/data/clips.js';
import type { FeatureBackend } from '../src/features/backend.js';
import { loadFeatureBackend } from '../src/features/index.js';

// Under mocha the auto choice can see two copies of the error class (CJS + ESM loads of the
// same file) and miss the native-to-wasm fallback; ask for wasm explicitly when native is absent.
const anyFeatureBackend = () => loadFeatureBackend().catch(() => loadFeatureBackend({ backend: 'wasm' }));
import { speedChange, tempoChange, voiceShift } from '../src/audio/voice-shift.js';
import { Augmenter, colour, gain, makeNoise, mixAtSnr, power, reverb, specAugment, timeShift } from '../src/train/augment.js';
import { loadAudio } from '../src/train/dataset.js';
import { DEFAULT_SPEECH_TRIM, WHOLE_CLIP_SPEECH_TRIM } from '../src/model/metadata.js';
import { speechCutter } from '../src/stream/core.js';
import { Rng } from '../src/train/random.js';
import { FSDD_RECORDINGS as FSDD } from './fsdd.js';

function snrDb(clean: Float32Array, mixed: Float32Array): number {
  const noise = mixed.map((v, i) => v - clean[i]);
  return 10 * Math.log10(power(clean) / power(noise));
}

/** Zero crossings per second: a crude pitch/brightness measure for pure tones. */
function crossingsPerSecond(x: Float32Array, rate: number): number {
  let n = 0;
  for (let i = 1; i < x.length; i++) if ((x[i - 1] < 0) !== (x[i] < 0)) n++;
  return (n / x.length) * rate;
}

describe('train: augmentation', function () {
  this.timeout(60000);
  let backend: FeatureBackend;
  let clips: Float32Array[];

  before(async () => {
    backend = await anyFeatureBackend();
    const all = listFsddClips(FSDD);
    // Two speakers, a few digits: enough variety, quick to load.
    clips = loadAudio(all.filter((c) => (c.speaker === 'jackson' || c.speaker === 'theo') && c.take === 7), 8000, backend);
  });

  it('mixes noise at the SNR asked for, for every noise kind', () => {
    const rng = new Rng(3);
    for (const kind of ['white', 'pink', 'brown', 'babble'] as const) {
      for (const snr of [20, 10, 5, 0]) {
        const x = clips[snr % clips.length];
        const noise = makeNoise(kind, x.length, rng, { clips });
        const y = mixAtSnr(x, noise, snr);
        assert.ok(Math.abs(snrDb(x, y) - snr) < 0.01, `${kind} at ${snr} dB gave ${snrDb(x, y).toFixed(3)} dB`);
      }
    }
  });

  it('keeps the length through gain, colouring, reverb, voice shift and noise', () => {
    const rng = new Rng(5);
    for (const x of clips.slice(0, 6)) {
      assert.equal(gain(x, -6).length, x.length);
      assert.equal(colour(x, 8000, rng).length, x.length);
      assert.equal(reverb(x, 8000, 0.3, rng).length, x.length);
      assert.equal(voiceShift(x, 8000, 1.3, backend).length, x.length);
      assert.equal(voiceShift(x, 8000, 0.9, backend).length, x.length);
      assert.equal(mixAtSnr(x, makeNoise('pink', 100, rng, null), 10).length, x.length);
    }
  });

  it('time shift adds silence before or after and cuts nothing', () => {
    const x = Float32Array.from({ length: 5 }, (_, i) => i + 1);
    assert.deepEqual(Array.from(timeShift(x, 3)), [0, 0, 0, 1, 2, 3, 4, 5]);
    assert.deepEqual(Array.from(timeShift(x, -2)), [1, 2, 3, 4, 5, 0, 0]);
  });

  it('speed change shortens by the factor and raises pitch; voice shift raises pitch at the same length', () => {
    const rate = 8000;
    const tone = Float32Array.from({ length: rate }, (_, i) => Math.sin((2 * Math.PI * 200 * i) / rate));
    const fast = speedChange(tone, rate, 1.25, backend);
    assert.ok(Math.abs(fast.length - rate / 1.25) <= 2, `length ${fast.length}`);
    const shifted = voiceShift(tone, rate, 1.25, backend);
    assert.equal(shifted.length, tone.length);
    const ratio = crossingsPerSecond(shifted.subarray(400, rate - 400), rate) / crossingsPerSecond(tone, rate);
    assert.ok(Math.abs(ratio - 1.25) < 0.05, `pitch ratio ${ratio.toFixed(3)}`);
  });

  it('WSOLA stretches duration without changing pitch', () => {
    const rate = 8000;
    const tone = Float32Array.from({ length: rate }, (_, i) => Math.sin((2 * Math.PI * 300 * i) / rate));
    const long = backend.wsolaStretch(tone, Math.round(rate * 1.3), rate);
    assert.equal(long.length, Math.round(rate * 1.3));
    const ratio = crossingsPerSecond(long.subarray(200, long.length - 200), rate) / crossingsPerSecond(tone, rate);
    assert.ok(Math.abs(ratio - 1) < 0.03, `pitch ratio ${ratio.toFixed(3)}`);
  });

  it('tempo change shortens or lengthens by the factor at the same pitch', () => {
    const rate = 8000;
    const tone = Float32Array.from({ length: rate }, (_, i) => Math.sin((2 * Math.PI * 250 * i) / rate));
    for (const factor of [0.7, 1.4]) {
      const y = tempoChange(tone, rate, factor, backend);
      assert.equal(y.length, Math.round(rate / factor));
      const ratio = crossingsPerSecond(y.subarray(200, y.length - 200), rate) / crossingsPerSecond(tone, rate);
      assert.ok(Math.abs(ratio - 1) < 0.03, `factor ${factor}: pitch ratio ${ratio.toFixed(3)}`);
    }
    assert.equal(tempoChange(tone, rate, 1, backend), tone);
  });

  it('refuses options it would not use: a misspelt key, a probability over 1, a range the wrong way round', () => {
    const make = (o: Record<string, unknown>) => () => new Augmenter({ sampleRate: 8000, ...o }, backend, { clips });
    assert.throws(make({ voise: [0.75, 1.5] }), { code: 'ERR_OPTIONS', message: /unknown option 'voise'/ });
    assert.throws(make({ pNoise: 1.5 }), { code: 'ERR_OPTIONS', message: /pNoise must be a probability in 0\.\.1, got 1\.5/ });
    assert.throws(make({ voice: [1.5, 0.75] }), { code: 'ERR_OPTIONS', message: /voice must be \[low, high\]/ });
    assert.throws(make({ voice: [0, 1.5] }), { code: 'ERR_OPTIONS', message: /both > 0/ });
    assert.throws(make({ noiseKinds: { babble: 0 } }), { code: 'ERR_OPTIONS', message: /at least one above 0/ });
    assert.doesNotThrow(make({ voice: [0.75, 1.5], snrDb: [-3, 20], noiseKinds: { babble: 6, pink: 1 }, pTempo: 0 }));
  });

  it('is deterministic under a seed and varies across seeds', () => {
    const aug = new Augmenter({ sampleRate: 8000, pNoise: 1, pReverb: 1, pColour: 1, pVoice: 1, pTempo: 1 }, backend, { clips });
    const x = clips[1];
    const a = aug.apply(x, new Rng(42));
    const b = aug.apply(x, new Rng(42));
    const c = aug.apply(x, new Rng(43));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(a.every(Number.isFinite));
    assert.ok(a.every((v) => Math.abs(v) <= 1), 'output stays within [-1, 1]');
  });

  it('SpecAugment masks whole frames and whole feature rows, deterministically', () => {
    const frames = 20;
    const dims = 8;
    const run = (seed: number) => {
      const f = new Float32Array(frames * dims).fill(1);
      specAugment(f, frames, dims, new Rng(seed), { timeMasks: 1, maxTimeWidth: 4, freqMasks: 1, maxFreqWidth: 2 });
      return f;
    };
    const f = run(9);
    assert.deepEqual(f, run(9));
    const zeroFrames = Array.from({ length: frames }, (_, t) => f.subarray(t * dims, (t + 1) * dims).every((v) => v === 0)).filter(Boolean).length;
    const zeroDims = Array.from({ length: dims }, (_, d) => Array.from({ length: frames }, (_, t) => f[t * dims + d]).every((v) => v === 0)).filter(Boolean).length;
    const zeros = f.filter((v) => v === 0).length;
    assert.ok(zeroFrames <= 4 && zeroDims <= 2);
    assert.equal(zeros, zeroFrames * dims + zeroDims * frames - zeroFrames * zeroDims);
  });
});

describe('cutting clips to their speech (training, recognizer and segmenter alike)', () => {
  it('cuts leading and trailing silence to ~50 ms, keeps the speech, the same in the native and wasm cores, and leaves silence alone', async () => {
    const rate = 8000;
    const r = new Rng(3);
    const speech = makeNoise('pink', 2400, r, null); // 300 ms
    const x = new Float32Array(3200 + 2400 + 4000);
    x.set(speech, 3200);
    for (let i = 0; i < x.length; i++) x[i] += 1e-5 * r.uniform(-1, 1); // faint floor, > 40 dB below the speech
    const cuts = [];
    for (const prefer of ['native', 'wasm'] as const) {
      const cut = await speechCutter(DEFAULT_SPEECH_TRIM, rate, prefer);
      const t = cut(x);
      assert.ok(Math.abs(t.length - (2400 + 800)) <= 240, `${prefer}: cut to ${t.length} samples`);
      assert.ok(power(t) > 2 * power(x), `${prefer}: the kept part is the loud part`);
      const silent = new Float32Array(4000);
      assert.equal(cut(silent).length, silent.length, `${prefer}: silence stays whole`);
      cuts.push([t.byteOffset, t.length]);
    }
    assert.deepEqual(cuts[0], cuts[1], 'native and wasm cut at the same samples');
    const whole = await speechCutter(null, rate);
    assert.equal(whole(x), x);
  });

  it('leaves a clip in loud babble (nearly) whole instead of cutting into its words', async () => {
    const rate = 8000;
    const r = new Rng(9);
    const backend = await anyFeatureBackend();
    const clips = loadAudio(listFsddClips(FSDD).filter((c) => c.take === 9 && c.speaker === 'george'), rate, backend);
    const speech = clips[3];
    const cut = await speechCutter(WHOLE_CLIP_SPEECH_TRIM, rate);
    const cutLikePiece = await speechCutter(DEFAULT_SPEECH_TRIM, rate);
    let piecesCutInto = 0;
    for (const snr of [10, 5, 0]) {
      const noisy = mixAtSnr(speech, makeNoise('babble', speech.length, r, { clips }), snr);
      assert.ok(cut(noisy).length >= 0.9 * noisy.length, `${snr} dB babble: kept ${cut(noisy).length} of ${noisy.length} samples`);
      if (cutLikePiece(noisy).length < 0.9 * noisy.length) piecesCutInto++;
    }
    assert.ok(piecesCutInto > 0, 'without keepWithinDb the background term cuts into babble (else this test shows nothing)');
  });
});
